"""gantryctl's pure parts: argument parsing, tables, sizes, credentials."""
import pytest
from gantry.api import cri_pb2
from gantry.highlevel import ctl


def test_parse_commands():
    a = ctl.parse_args(["--address", "/tmp/x.sock", "pull", "busybox", "--creds", "u:p"])
    assert (a.address, a.command, a.ref, a.creds) == ("/tmp/x.sock", "pull", "busybox", "u:p")
    assert ctl.parse_args(["rmi", "a", "b"]).refs == ["a", "b"]
    assert ctl.parse_args(["images"]).ref is None
    with pytest.raises(SystemExit):
        ctl.parse_args([])
    with pytest.raises(SystemExit):
        ctl.parse_args(["frobnicate"])


def test_default_address_from_environment(monkeypatch):
    monkeypatch.setenv("GANTRY_ADDRESS", "/tmp/env.sock")
    assert ctl.parse_args(["version"]).address == "/tmp/env.sock"
    monkeypatch.delenv("GANTRY_ADDRESS")
    assert ctl.parse_args(["version"]).address == "/run/gantry/gantryd.sock"


@pytest.mark.parametrize("n, text", [(0, "0B"), (999, "999B"), (1000, "1kB"), (1_463_101, "1.46MB"),
                                     (150_000_000, "150MB"), (2_500_000_000_000, "2.5TB")])
def test_human_size(n, text):
    assert ctl.human_size(n) == text


@pytest.mark.parametrize("tag, split", [
    ("docker.io/library/busybox:1.36", ("docker.io/library/busybox", "1.36")),
    ("127.0.0.1:5000/x/y:v2", ("127.0.0.1:5000/x/y", "v2")),
    ("127.0.0.1:5000/x/y", ("127.0.0.1:5000/x/y", "<none>")),
])
def test_split_tag(tag, split):
    assert ctl.split_tag(tag) == split


def test_image_rows_one_per_tag_and_untagged():
    tagged = cri_pb2.Image(id="sha256:" + "ab" * 32, repo_tags=["r/a:1", "r/a:2"], size=1000)
    untagged = cri_pb2.Image(id="sha256:" + "cd" * 32, repo_digests=["r/b@sha256:" + "ef" * 32], size=5)
    rows = ctl.image_rows([tagged, untagged])
    assert rows == [("IMAGE", "TAG", "IMAGE ID", "SIZE"), ("r/a", "1", "ab" * 6 + "a", "1kB"),
                    ("r/a", "2", "ab" * 6 + "a", "1kB"), ("r/b", "<none>", "cd" * 6 + "c", "5B")]
    lines = ctl.table(rows).splitlines()
    assert lines[0].split() == ["IMAGE", "TAG", "IMAGE", "ID", "SIZE"]
    assert len({line.index("1kB") for line in lines[1:3]}) == 1  # columns line up


@pytest.mark.parametrize("text", ["", "user", ":pass"])
def test_bad_creds(text):
    with pytest.raises(ctl.CtlError, match="USER:PASS"):
        ctl.parse_creds(text)


def test_creds_keep_colons_in_the_password():
    assert ctl.parse_creds("alice:a:b") == ("alice", "a:b")
