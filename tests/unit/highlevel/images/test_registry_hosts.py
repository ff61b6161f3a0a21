"""hosts.toml parsing and endpoint resolution (pure, plus a temp dir for the layout)."""
import os

import pytest
from gantry.highlevel.errors import InvalidArgument
from gantry.highlevel.images.registry import hosts

E = hosts.Endpoint


def parse(text, domain="docker.io", directory="/etc/gantry/certs.d/docker.io"):
    return hosts.parse_hosts(text, domain, directory)


def test_defaults_without_config():
    assert [e.base_url for e in hosts.endpoints("docker.io")] == ["https://registry-1.docker.io/v2"]
    assert [e.base_url for e in hosts.endpoints("quay.io")] == ["https://quay.io/v2"]
    assert [e.base_url for e in hosts.endpoints("127.0.0.1:5000")] == [
        "https://127.0.0.1:5000/v2", "http://127.0.0.1:5000/v2"]
    assert [e.base_url for e in hosts.endpoints("localhost")] == ["https://localhost/v2", "http://localhost/v2"]


FILES = [
    # (hosts.toml, [(base_url, capabilities, mirror)]); the server takes pushes unless it says otherwise,
    # a mirror only when its capabilities name "push"
    ('server = "https://registry-1.docker.io"',
     [("https://registry-1.docker.io/v2", {"pull", "resolve", "push"}, False)]),
    ('', [("https://registry-1.docker.io/v2", {"pull", "resolve", "push"}, False)]),
    ('''server = "https://registry-1.docker.io"
[host."http://127.0.0.1:5001"]
  capabilities = ["pull"]
[host."https://mirror.example:8443/prefix"]
  capabilities = ["pull", "resolve"]
[host."https://mirror2.example/custom/api"]
  override_path = true
''', [("http://127.0.0.1:5001/v2", {"pull"}, True),
      ("https://mirror.example:8443/prefix/v2", {"pull", "resolve"}, True),
      ("https://mirror2.example/custom/api", {"pull", "resolve"}, True),
      ("https://registry-1.docker.io/v2", {"pull", "resolve", "push"}, False)]),
    ('server = "http://127.0.0.1:5000"\ncapabilities = ["pull", "resolve", "push"]',
     [("http://127.0.0.1:5000/v2", {"pull", "resolve", "push"}, False)]),
    ('server = "http://127.0.0.1:5000"\ncapabilities = ["pull"]\n[host."http://m"]\ncapabilities = ["push"]',
     [("http://m/v2", {"push"}, True), ("http://127.0.0.1:5000/v2", {"pull"}, False)]),
    ('[host."mirror.example"]\n', [("https://mirror.example/v2", {"pull", "resolve"}, True),
                                    ("https://registry-1.docker.io/v2", {"pull", "resolve", "push"}, False)]),
]


@pytest.mark.parametrize("text,expected", FILES)
def test_parse_hosts(text, expected):
    got = [(e.base_url, set(e.capabilities), e.mirror) for e in parse(text)]
    assert got == expected


def test_tls_settings_resolve_relative_to_host_dir():
    text = '''
server = "https://reg.example"
ca = "ca.crt"
skip_verify = false
client = [["client.crt", "client.key"], ["/abs/both.pem"]]
[header]
  x-one = "1"
  x-many = ["a", "b"]
[host."https://m.example"]
  skip_verify = true
  ca = ["/etc/ssl/a.pem", "b.pem"]
  client = "c.pem"
[host."https://n.example"]
  client = ["n.crt", "n.key"]
'''
    m, n, server = parse(text, "reg.example", "/d/reg.example")
    assert m.skip_verify and m.ca == ("/etc/ssl/a.pem", "/d/reg.example/b.pem")
    assert m.client == (("/d/reg.example/c.pem", ""),)
    assert n.client == (("/d/reg.example/n.crt", "/d/reg.example/n.key"),)
    assert server.ca == ("/d/reg.example/ca.crt",) and not server.skip_verify
    assert server.client == (("/d/reg.example/client.crt", "/d/reg.example/client.key"), ("/abs/both.pem", ""))
    assert server.headers == (("x-one", "1"), ("x-many", "a"), ("x-many", "b"))


@pytest.mark.parametrize("text,message", [
    ("server = [", "registry config"),
    ('server = "ftp://x"', "not an http\\(s\\) URL"),
    ('server = 5', "server must be a URL string"),
    ('[host."https://m"]\ncapabilities = "pull"', "capabilities must be a list"),
    ('[host."https://m"]\ncapabilities = ["fly"]', "unknown capabilities"),
    ('[host."https://m"]\nskip_verify = "yes"', "skip_verify must be true or false"),
    ('[host."https://m"]\nclient = ["a", "b", "c"]', "client must be"),
    ('[host."https://m"]\nclient = 3', "client must be"),
    ('[host."https://m"]\nca = 3', "ca must be"),
    ('[host."https://m?x=1"]', "query"),
    ('host = 3', "table of URLs"),
    ('[header]\nx = 3', "header"),
])
def test_parse_hosts_errors(text, message):
    with pytest.raises(InvalidArgument, match=message):
        parse(text)


def test_directory_layout_and_default(tmp_path):
    def write(name, text):
        os.makedirs(tmp_path / name, exist_ok=True)
        (tmp_path / name / "hosts.toml").write_text(text)

    write("127.0.0.1:5000", 'server = "http://127.0.0.1:5000"\n[host."http://127.0.0.1:5001"]\n')
    write("_default", 'server = "https://fallback.example"\n')
    eps = hosts.endpoints("127.0.0.1:5000", str(tmp_path))
    assert [e.base_url for e in eps] == ["http://127.0.0.1:5001/v2", "http://127.0.0.1:5000/v2"]
    assert [e.base_url for e in hosts.endpoints("other.example", str(tmp_path))] == [
        "https://fallback.example/v2"]
    os.remove(tmp_path / "_default" / "hosts.toml")
    assert [e.base_url for e in hosts.endpoints("other.example", str(tmp_path))] == ["https://other.example/v2"]
    assert hosts.host_dir(str(tmp_path), "127.0.0.1:5000") == str(tmp_path / "127.0.0.1:5000")


def test_for_capability():
    eps = parse('[host."https://a"]\ncapabilities = ["pull"]\n[host."https://b"]\n')
    assert [e.host for e in hosts.for_capability(eps, "resolve")] == ["b", "registry-1.docker.io"]
    assert [e.host for e in hosts.for_capability(eps, "pull")] == ["a", "b", "registry-1.docker.io"]


def test_unclosed_ipv6_bracket_is_invalid_argument():
    # found by tests/fuzz (fuzz_hosts): urlsplit's ValueError escaped
    with pytest.raises(InvalidArgument, match="not a URL"):
        hosts.parse_hosts(b'server = "http://[::1"\n', "x", "/d")
    with pytest.raises(InvalidArgument, match="not a URL"):
        hosts.parse_hosts(b'[host."[::1:5000"]\n', "x", "/d")
