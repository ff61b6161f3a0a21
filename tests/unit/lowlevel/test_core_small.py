"""Small pure pieces of gantry-oci: the generated cffi module, JSON, channel, argument parsing, hooks, users."""
import json
import os

import pytest
from gantry.lowlevel import cliargs, hooks, jsonio, launcher
from gantry.lowlevel.process import channel, users
from gantry.lowlevel.syscalls import SyscallError, ffibuild


def test_generated_ffi_module_is_fresh():
    with open(ffibuild.OUTPUT) as f:
        committed = f.read()
    assert committed == ffibuild.generated_source(), "run: python -m gantry.lowlevel.syscalls.ffibuild"


def test_syscall_error_text():
    e = SyscallError(1, "mount proc to /proc")
    assert str(e) == "mount proc to /proc: EPERM (Operation not permitted)"
    assert isinstance(e, OSError) and e.errno == 1


@pytest.mark.parametrize("doc", [{}, {"a": [1, 2.5, None, True, False]}, {"s": "é\"\n\u2028"}, [], "x", -3])
def test_jsonio_matches_json(doc):
    assert jsonio.dumps(doc) == json.dumps(doc, separators=(",", ":"))
    assert jsonio.loads(json.dumps(doc, indent=2)) == doc


@pytest.mark.parametrize("doc", [{}, [], {"a": {"b": [1, {"c": None}], "d": []}, "e": "x"}, [[1, 2], {}]])
def test_jsonio_pretty_matches_json_indent(doc):
    assert jsonio.dumps_pretty(doc) == json.dumps(doc, indent=2)


@pytest.mark.parametrize("bad", ["", "{", "{} x", "[1,]", "nul"])
def test_jsonio_rejects(bad):
    with pytest.raises(ValueError):
        jsonio.loads(bad)


def test_channel_round_trip_and_eof():
    parent, child = channel.pair()
    child.send("hello", userns=True)
    child.send("pid", pid=42)
    assert parent.recv() == {"t": "hello", "userns": True}
    assert parent.expect("pid")["pid"] == 42
    child.close()
    assert parent.recv() is None
    parent.close()
    with pytest.raises(channel.ChannelClosed):
        parent.send("go")


def test_channel_abort_is_an_error():
    parent, child = channel.pair()
    parent.send("abort", msg="cgroup: EACCES")
    with pytest.raises(channel.ChannelClosed, match="cgroup: EACCES"):
        child.expect("go")


PARSE = [
    (["--root", "/r", "state", "c1"], ({"root": "/r"}, "state", {}, ["c1"])),
    (["--root=/r", "--log-format=json", "create", "--bundle=/b", "--pid-file", "/p", "c1"],
     ({"root": "/r", "log_format": "json"}, "create", {"bundle": "/b", "pid_file": "/p"}, ["c1"])),
    (["run", "-d", "-b", "/b", "c1"], ({}, "run", {"detach": True, "bundle": "/b"}, ["c1"])),
    (["delete", "c1", "--force"], ({}, "delete", {"force": True}, ["c1"])),
    (["kill", "--all", "c1", "KILL"], ({}, "kill", {"all": True}, ["c1", "KILL"])),
    (["exec", "-e", "A=1", "--env", "B=2", "-t", "c1", "sh", "-c", "ls -l"],
     ({}, "exec", {"env": ["A=1", "B=2"], "tty": True}, ["c1", "sh", "-c", "ls -l"])),
    (["ps", "c1", "-ef"], ({}, "ps", {}, ["c1", "-ef"])),
    (["--debug", "list", "-q"], ({"debug": True}, "list", {"quiet": True}, [])),
    (["exec", "c1", "--", "ls"], ({}, "exec", {}, ["c1", "ls"])),
    (["--version"], ({"version": True}, None, {}, [])),
]


@pytest.mark.parametrize("argv,expected", PARSE, ids=[" ".join(a) for a, _ in PARSE])
def test_cliargs(argv, expected):
    assert cliargs.parse(argv) == expected


@pytest.mark.parametrize("argv,message", [
    (["bogus"], "unknown command"), (["create", "--nope", "c"], "flag provided but not defined: --nope"),
    (["create", "--bundle"], "flag needs an argument"), (["--root"], "flag needs an argument"),
])
def test_cliargs_errors(argv, message):
    with pytest.raises(cliargs.UsageError, match=message):
        cliargs.parse(argv)


def test_hooks_get_state_on_stdin_args_env(tmp_path):
    out = tmp_path / "out"
    hook = {"path": "/bin/sh", "args": ["sh", "-c", 'cat > %s; echo " $0 $FOO" >> %s' % (out, out), "arg0"],
            "env": ["FOO=bar"]}
    hooks.run({"hooks": {"prestart": [hook]}}, ["prestart"], '{"id":"c1"}')
    assert out.read_text() == '{"id":"c1"} arg0 bar\n'


def test_hook_failure_and_timeout():
    fail = {"hooks": {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]}}
    with pytest.raises(hooks.HookError, match="prestart hook /bin/sh: exit status 3"):
        hooks.run(fail, ["prestart"], "{}")
    warnings = []
    hooks.run(fail, ["prestart"], "{}", warn=warnings.append)
    assert warnings == ["prestart hook /bin/sh: exit status 3"]
    slow = {"hooks": {"poststop": [{"path": "/bin/sleep", "args": ["sleep", "10"], "timeout": 1}]}}
    with pytest.raises(hooks.HookError, match="timed out after 1s"):
        hooks.run(slow, ["poststop"], "{}")


def test_users(tmp_path):
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n")
    assert users.home_of(1000, str(passwd)) == "/home/bob"
    assert users.home_of(5, str(passwd)) == "/"
    assert users.parse_user("1000:50") == {"uid": 1000, "gid": 50}
    with pytest.raises(ValueError):
        users.parse_user("bob")


def test_launcher_script_runs_isolated(tmp_path):
    text = launcher.script_text("/usr/bin/python3")
    assert text.startswith("#!/usr/bin/python3 -IS\n")
    assert "gantry.lowlevel.cli" in text
    dest = launcher.install(str(tmp_path / "gantry-oci"))
    assert os.access(dest, os.X_OK)
