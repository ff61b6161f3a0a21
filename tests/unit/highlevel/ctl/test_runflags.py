"""run's docker-style flags as CRI fields (pure), and the configs they build."""

import pytest
from gantry.api import cri_pb2
from gantry.highlevel.ctl import archive, channels, cli, configs, resolve, runflags
from gantry.highlevel.ctl.client import CtlError


@pytest.mark.parametrize("text, parsed", [
    ("8080:80", {"host_ip": "", "host_port": 8080, "container_port": 80, "protocol": "tcp"}),
    ("80", {"host_ip": "", "host_port": 0, "container_port": 80, "protocol": "tcp"}),
    ("127.0.0.1:53:53/udp", {"host_ip": "127.0.0.1", "host_port": 53, "container_port": 53, "protocol": "udp"}),
    ("[::1]:8443:443/TCP", {"host_ip": "::1", "host_port": 8443, "container_port": 443, "protocol": "tcp"}),
    ("9000:9000/sctp", {"host_ip": "", "host_port": 9000, "container_port": 9000, "protocol": "sctp"}),
])
def test_publish(text, parsed):
    assert runflags.parse_publish(text) == parsed


@pytest.mark.parametrize("text, message", [("8080:80/icmp", "protocol"), ("99999:80", "not a port"),
                                           ("a:b", "not a port"), ("1:2:3:4", "expected"), ("[::1:80:80", "IPv6"),
                                           ("0:80", "not a port")])
def test_publish_refuses(text, message):
    with pytest.raises(CtlError, match=message):
        runflags.parse_publish(text)


@pytest.mark.parametrize("text, parsed", [
    ("/srv:/data", {"host_path": "/srv", "container_path": "/data", "readonly": False}),
    ("/srv:/data:ro", {"host_path": "/srv", "container_path": "/data", "readonly": True}),
    ("/srv/../etc:/data:rw", {"host_path": "/etc", "container_path": "/data", "readonly": False}),
])
def test_volume(text, parsed):
    assert runflags.parse_volume(text) == parsed


def test_volume_relative_source_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runflags.parse_volume("sub:/x")["host_path"] == str(tmp_path / "sub")


@pytest.mark.parametrize("text, message", [("/srv", "SRC:DST"), ("/srv:data", "must be absolute"),
                                           ("/a:/b:rx", "SRC:DST"), (":/b", "SRC:DST")])
def test_volume_refuses(text, message):
    with pytest.raises(CtlError, match=message):
        runflags.parse_volume(text)


@pytest.mark.parametrize("text, parsed", [("A=1", ("A", "1")), ("A=", ("A", "")), ("A=b=c", ("A", "b=c")),
                                          ("HOME", ("HOME", "/root"))])
def test_env(text, parsed):
    assert runflags.parse_env(text, {"HOME": "/root"}) == parsed


@pytest.mark.parametrize("text", ["=1", "UNSET", "A B=1"])
def test_env_refuses(text):
    with pytest.raises(CtlError):
        runflags.parse_env(text, {})


@pytest.mark.parametrize("text, n", [("512m", 512 << 20), ("1g", 1 << 30), ("1.5G", 3 << 29), ("4096", 4096),
                                     ("64MiB", 64 << 20), ("10k", 10240)])
def test_memory(text, n):
    assert runflags.parse_memory(text) == n


@pytest.mark.parametrize("text", ["lots", "0", "-1m", "1x"])
def test_memory_refuses(text):
    with pytest.raises(CtlError, match="--memory"):
        runflags.parse_memory(text)


def test_cpus():
    assert runflags.parse_cpus(0.5) == (50_000, 100_000)
    assert runflags.parse_cpus(2) == (200_000, 100_000)
    with pytest.raises(CtlError):
        runflags.parse_cpus(0)


@pytest.mark.parametrize("text, parsed", [("1000", {"run_as_user": 1000}), ("0:0", {"run_as_user": 0, "run_as_group": 0}),
                                          ("nobody", {"run_as_username": "nobody"})])
def test_user(text, parsed):
    assert runflags.parse_user(text) == parsed


def test_user_refuses_group_names():
    with pytest.raises(CtlError, match="numeric"):
        runflags.parse_user("1000:staff")


def run_args(*argv):
    return cli.parse_args(["run", *argv])


def test_container_config_from_run_flags(tmp_path):
    args = run_args("-it", "-e", "A=1", "-v", "%s:/data:ro" % tmp_path, "-u", "1000:2000", "-w", "/tmp",
                    "-m", "64m", "--cpus", "0.25", "busybox", "sh", "-c", "echo hi")
    cfg = configs.container_config(args, "web")
    assert (cfg.metadata.name, cfg.image.image, list(cfg.args), list(cfg.command)) == ("web", "busybox",
                                                                                       ["sh", "-c", "echo hi"], [])
    assert (cfg.tty, cfg.stdin, cfg.stdin_once, cfg.working_dir, cfg.log_path) == (True, True, True, "/tmp", "web/0.log")
    assert [(e.key, e.value) for e in cfg.envs] == [("A", b"1")]
    assert [(m.host_path, m.container_path, m.readonly) for m in cfg.mounts] == [(str(tmp_path), "/data", True)]
    sc = cfg.linux.security_context
    assert (sc.run_as_user.value, sc.run_as_group.value) == (1000, 2000)
    res = cfg.linux.resources
    assert (res.memory_limit_in_bytes, res.cpu_quota, res.cpu_period) == (64 << 20, 25_000, 100_000)


def test_container_config_entrypoint_and_missing_volume(tmp_path):
    cfg = configs.container_config(run_args("--entrypoint", "/bin/ls", "busybox", "-l"), "c")
    assert (list(cfg.command), list(cfg.args)) == (["/bin/ls"], ["-l"])
    with pytest.raises(CtlError, match="does not exist"):
        configs.container_config(run_args("-v", "%s/nope:/x" % tmp_path, "busybox"), "c")


def test_pod_config_from_flags():
    cfg = configs.pod_config("web", "ns", log_dir="/var/log/gantry/pods", labels=["app=web"],
                             publish=["8080:80", "53/udp"], uid="u1")
    assert (cfg.metadata.name, cfg.metadata.namespace, cfg.metadata.uid, cfg.hostname) == ("web", "ns", "u1", "web")
    assert cfg.log_directory == "/var/log/gantry/pods/ns_web_u1"
    assert dict(cfg.labels) == {"app": "web", "io.gantry.ctl": "true"}
    assert [(p.protocol, p.host_port, p.container_port) for p in cfg.port_mappings] == [
        (cri_pb2.TCP, 8080, 80), (cri_pb2.UDP, 53, 53)]


@pytest.mark.parametrize("text", [
    '{"metadata": {"name": "p", "namespace": "n", "uid": "u"}, "log_directory": "/tmp/l", "port_mappings": '
    '[{"container_port": 80, "host_port": 8080}]}',
    "metadata:\n  name: p\n  namespace: n\n  uid: u\nlogDirectory: /tmp/l\nportMappings:\n"
    "- containerPort: 80\n  hostPort: 8080\n",
])
def test_pod_config_files_json_or_yaml(tmp_path, text):
    path = tmp_path / "pod.cfg"
    path.write_text(text)
    cfg = configs.load_message(str(path), cri_pb2.PodSandboxConfig)
    assert (cfg.metadata.name, cfg.log_directory, cfg.port_mappings[0].host_port) == ("p", "/tmp/l", 8080)


@pytest.mark.parametrize("text, message", [("[1, 2]", "mapping"), ("metadata: {nme: x}", "nme"), ("a: [", "parse")])
def test_bad_config_files(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(CtlError, match=message):
        configs.load_message(str(path), cri_pb2.PodSandboxConfig)
    with pytest.raises(CtlError, match="No such file"):
        configs.load_message(str(tmp_path / "none.yaml"), cri_pb2.PodSandboxConfig)


RECORDS = [("a" * 64, "web"), ("ab" + "0" * 62, "db"), ("c" * 64, "ccc")]


@pytest.mark.parametrize("ref, chosen", [("a" * 64, "a" * 64), ("aa", "a" * 64), ("db", "ab" + "0" * 62),
                                         ("c", "c" * 64), ("ccc", "c" * 64)])
def test_resolve(ref, chosen):
    assert resolve.choose("container", ref, RECORDS) == chosen


@pytest.mark.parametrize("ref, message", [("a", "ambiguous"), ("zzz", "no such container")])
def test_resolve_refuses(ref, message):
    with pytest.raises(CtlError, match=message):
        resolve.choose("container", ref, RECORDS)


@pytest.mark.parametrize("path, name", [("/tmp/busybox.tar", "busybox"), ("./layout/", "layout"),
                                        ("/x/My App.oci.tar", "my-app"), ("/x/...tar", "imported")])
def test_default_base_name(path, name):
    assert archive.default_base_name(path) == name


# found by tests/fuzz (fuzz_remotecommand): non-object details/causes raised AttributeError, deep nesting
# RecursionError; a JSON number or bool was taken as an exit code (corpus/remotecommand/regress-*)
@pytest.mark.parametrize("payload, want", [
    (b'{"status": "Failure", "reason": "NonZeroExitCode", "details": {"causes": [1, '
     b'{"reason": "ExitCode", "message": "3"}]}}', (3, "")),
    (b'{"reason": "NonZeroExitCode", "message": "m", "details": ["x"]}', (None, "m")),
    (b'{"reason": "NonZeroExitCode", "message": "m", "details": {"causes": [{"reason": "ExitCode", "message": 3}]}}',
     (None, "m")),
    (b'{"reason": "NonZeroExitCode", "message": "m", "details": {"causes": [{"reason": "ExitCode", "message": "7"}]}}',
     (7, "m")),
    (b'{"status": "Failure", "message": 5}', (None, '{"status": "Failure", "message": 5}')),
    (b"[" * 100000, (None, "[" * 100000)),
])
def test_exit_status_of_hostile_status(payload, want):
    assert channels.exit_status(payload) == want


def test_channels():
    assert channels.encode(channels.STDIN, b"ls\n") == b"\x00ls\n"
    assert channels.decode(b"\x01out") == (1, b"out")
    with pytest.raises(channels.ProtocolError):
        channels.decode(b"")
    assert channels.resize(80, 24) == b'\x04{"Width": 80, "Height": 24}'
    assert channels.close_stdin("v5.channel.k8s.io") == b"\xff\x00"
    assert channels.close_stdin("v4.channel.k8s.io") is None


@pytest.mark.parametrize("payload, result", [
    (b'{"metadata": {}, "status": "Success"}', (0, "")),
    (b'{"status": "Failure", "reason": "NonZeroExitCode", "message": "command terminated with non-zero exit code",'
     b' "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}', (3, "command terminated with non-zero exit code")),
    (b'{"status": "Failure", "message": "container not found"}', (None, "container not found")),
    (b"plain text", (None, "plain text")),
])
def test_exit_status(payload, result):
    assert channels.exit_status(payload) == result


@pytest.mark.parametrize("text, mapping", [("8080:80", (8080, 80)), ("80", (80, 80)), (":443", (0, 443)),
                                           ("0:22", (0, 22))])
def test_port_forward_mapping(text, mapping):
    from gantry.highlevel.ctl import portforward

    assert portforward.parse_mapping(text) == mapping


@pytest.mark.parametrize("text", ["http", "8080:", "1:2:3", "70000:80", "80:0"])
def test_port_forward_mapping_refuses(text):
    from gantry.highlevel.ctl import portforward

    with pytest.raises(CtlError, match="port-forward"):
        portforward.parse_mapping(text)


def test_port_forward_channel_prefix():
    from gantry.highlevel.ctl import portforward

    assert portforward.port_prefix(b"\x50\x00") == 80
    assert portforward.port_prefix(b"GET") is None
