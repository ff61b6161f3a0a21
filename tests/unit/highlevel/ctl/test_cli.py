"""gantryctl's command line: endpoints, flags, help, and errors as one line (no daemon needed)."""
import subprocess
import sys

import pytest
from gantry.highlevel import ctl
from gantry.highlevel.ctl import cli, client


def test_parse_commands():
    a = cli.parse_args(["--endpoint", "/tmp/x.sock", "pull", "busybox", "--creds", "u:p"])
    assert (a.endpoint, a.command, a.ref, a.creds) == ("/tmp/x.sock", "pull", "busybox", "u:p")
    assert cli.parse_args(["--address", "/tmp/y.sock", "version"]).endpoint == "/tmp/y.sock"
    assert cli.parse_args(["rmi", "a", "b"]).refs == ["a", "b"]
    assert cli.parse_args(["images"]).ref is None
    assert cli.parse_args(["pods", "-o", "yaml"]).output == "yaml"
    a = cli.parse_args(["exec", "-it", "web", "sh", "-c", "ls -l"])
    assert (a.interactive, a.tty, a.container, a.cmd) == (True, True, "web", ["sh", "-c", "ls -l"])
    a = cli.parse_args(["run", "--rm", "-p", "8080:80", "-v", "/a:/b:ro", "-e", "A=1", "busybox", "ls", "-l"])
    assert (a.rm, a.publish, a.volume, a.env, a.image, a.cmd) == (True, ["8080:80"], ["/a:/b:ro"], ["A=1"],
                                                                  "busybox", ["ls", "-l"])
    for bad in ([], ["frobnicate"], ["pods", "-o", "xml"]):
        with pytest.raises(SystemExit):
            cli.parse_args(bad)


def test_every_command_has_a_handler():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert set(sub.choices) == set(cli.HANDLERS)
    import importlib
    for target in cli.HANDLERS.values():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module("gantry.highlevel.ctl." + module), func))


@pytest.mark.parametrize("env, expected", [
    ({}, "/run/gantry/gantryd.sock"),
    ({"GANTRY_ADDRESS": "/tmp/a.sock"}, "/tmp/a.sock"),
    ({"GANTRY_ENDPOINT": "unix:///tmp/e.sock", "GANTRY_ADDRESS": "/tmp/a.sock"}, "unix:///tmp/e.sock"),
])
def test_default_endpoint(env, expected):
    assert client.default_endpoint(env) == expected


def test_endpoint_from_environment(monkeypatch):
    monkeypatch.setenv("GANTRY_ENDPOINT", "/tmp/env.sock")
    assert cli.parse_args(["version"]).endpoint == "/tmp/env.sock"


@pytest.mark.parametrize("endpoint, path", [("/run/x.sock", "/run/x.sock"), ("unix:///run/x.sock", "/run/x.sock"),
                                            ("unix:/run/x.sock", "/run/x.sock")])
def test_socket_path(endpoint, path):
    assert client.socket_path(endpoint) == path


@pytest.mark.parametrize("endpoint, message", [("tcp://1.2.3.4:5", "only unix sockets"),
                                               ("run/x.sock", "must be absolute")])
def test_bad_endpoints(endpoint, message):
    with pytest.raises(client.CtlError, match=message):
        client.socket_path(endpoint)


def run_ctl(*args):
    return subprocess.run([sys.executable, "-m", "gantry.highlevel.ctl", *args], capture_output=True, text=True,
                          timeout=60)


def test_version_flag_needs_no_daemon():
    r = run_ctl("--version")
    assert r.returncode == 0 and r.stdout == "gantryctl version %s\n" % cli.VERSION


@pytest.mark.parametrize("args, message", [
    (["--endpoint", "/nonexistent/gd.sock", "pods"], "gantryctl: connect /nonexistent/gd.sock: no such socket"),
    (["--endpoint", "tcp://127.0.0.1:1", "pods"], "only unix sockets"),
    (["--endpoint", "/nonexistent/gd.sock", "run", "-p", "99999:80", "busybox"], "no such socket"),
])
def test_expected_errors_are_one_line(args, message):
    r = run_ctl(*args)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and message in r.stderr and "Traceback" not in r.stderr


def test_help_has_examples():
    r = run_ctl("--help")
    assert r.returncode == 0 and "examples:" in r.stdout and "GANTRY_ENDPOINT" in r.stdout
    r = run_ctl("run", "--help")
    assert r.returncode == 0 and "gantryctl run --rm" in r.stdout


def test_help_imports_no_grpc():
    code = ("import sys; from gantry.highlevel.ctl import cli; cli.build_parser().format_help(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('grpc', 'google', 'yaml', 'wsproto')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "[]"


def test_completion_script_lists_commands_and_flags():
    r = run_ctl("completion", "bash")
    assert r.returncode == 0 and "complete -F _gantryctl gantryctl" in r.stdout
    assert "port-forward" not in cli.HANDLERS or "port-forward" in r.stdout
    for word in ("runp", "inspectp", "--tail", "--timestamps", "--publish"):
        assert word in r.stdout
    check = subprocess.run(["bash", "-n"], input=r.stdout, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_main_is_the_console_script():
    assert callable(ctl.main)
