"""gantry-oci's command line without containers: errors, texts consumers match on, spec/features/version."""
import json
import os

import pytest
from gantry.lowlevel import cli, state


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "gantry-oci version %s" % cli.VERSION and lines[1].startswith("spec: 1.")


def test_missing_container_texts(capsys, tmp_path):
    root = str(tmp_path / "root")
    for command in ("state", "start", "kill", "delete", "pause", "resume", "ps", "exec"):
        code, _, err = run(capsys, "--root", root, command, "nope", *(["true"] if command == "exec" else []))
        assert code == 1 and "container nope does not exist" in err, command
    assert run(capsys, "--root", root, "delete", "--force", "nope")[0] == 0


def test_stopped_container_texts(capsys, tmp_path):
    root = str(tmp_path / "root")
    store = state.Store(root)
    store.reserve("dead")
    store.write({"id": "dead", "bundle": "/b", "rootfs": "/b/rootfs", "pid": 999999999, "pid_start": 1,
                 "status": "running", "created": "2026-01-01T00:00:00Z"})
    code, out, _ = run(capsys, "--root", root, "state", "dead")
    assert code == 0 and json.loads(out)["status"] == "stopped" and json.loads(out)["pid"] == 0
    code, _, err = run(capsys, "--root", root, "kill", "dead", "KILL")
    assert code == 1 and "container not running" in err
    code, out, _ = run(capsys, "--root", root, "list", "--format", "json")
    assert [c["id"] for c in json.loads(out)] == ["dead"]
    code, out, _ = run(capsys, "--root", root, "list")
    assert out.splitlines()[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    assert run(capsys, "--root", root, "delete", "dead")[0] == 0
    assert not os.path.exists(os.path.join(root, "dead"))


def test_log_file_json_last_error_line(capsys, tmp_path):
    log = str(tmp_path / "log.json")
    code, _, err = run(capsys, "--root", str(tmp_path), "--log", log, "--log-format=json", "start", "nope")
    assert code == 1
    entry = json.loads(open(log).read().splitlines()[-1])
    assert entry["level"] == "error" and "does not exist" in entry["msg"] and entry["time"].endswith("Z")


@pytest.mark.parametrize("argv,message", [
    (["bogus"], "unknown command"),
    (["--systemd-cgroup", "list"], "--systemd-cgroup is not supported"),
    (["kill", "x", "SIGNOPE"], "unknown signal"),
    (["create"], "requires a container id"),
])
def test_usage_errors(capsys, tmp_path, argv, message):
    code, _, err = run(capsys, "--root", str(tmp_path), *argv)
    assert code == 1 and message in err


def test_signal_names():
    assert cli.parse_signal("KILL") == 9 and cli.parse_signal("SIGTERM") == 15 and cli.parse_signal("9") == 9
    assert cli.parse_signal(None) == 15


def test_spec_and_features(capsys, tmp_path):
    assert run(capsys, "spec", "--bundle", str(tmp_path))[0] == 0
    cfg = json.load(open(str(tmp_path / "config.json")))
    assert cfg["ociVersion"].startswith("1.") and {"type": "mount"} in cfg["linux"]["namespaces"]
    code, _, err = run(capsys, "spec", "--bundle", str(tmp_path))
    assert code == 1 and "File exists" in err
    code, out, _ = run(capsys, "features")
    doc = json.loads(out)
    assert doc["ociVersionMin"] == "1.0.0" and "rbind" in doc["mountOptions"] and "CAP_SYS_ADMIN" in doc["linux"]["capabilities"]


def test_force_delete_of_half_created_container(capsys, tmp_path):
    """A create killed with -9 before it knew the pid leaves status "creating" and pid 0: delete --force
    must clean up without signalling pid 0 (our own process group)."""
    root = str(tmp_path / "root")
    store = state.Store(root)
    store.reserve("half")
    store.write({"id": "half", "bundle": "/b", "rootfs": "/b/rootfs", "pid": 0, "pid_start": None,
                 "status": "creating", "created": "2026-01-01T00:00:00Z"})
    code, out, _ = run(capsys, "--root", root, "state", "half")
    assert json.loads(out)["status"] == "creating"
    assert run(capsys, "--root", root, "delete", "half")[0] == 1
    assert run(capsys, "--root", root, "delete", "--force", "half")[0] == 0
    assert not os.path.exists(os.path.join(root, "half"))


def test_corrupt_state_is_named_and_force_delete_removes_it(capsys, tmp_path):
    """A state.json torn by a machine crash reads as corrupt (never as valid); delete --force clears it."""
    root = str(tmp_path / "root")
    state.Store(root).reserve("torn")
    open(os.path.join(root, "torn", "state.json"), "w").close()
    code, _, err = run(capsys, "--root", root, "state", "torn")
    assert code == 1 and "corrupt state" in err and os.path.join(root, "torn", "state.json") in err
    assert run(capsys, "--root", root, "delete", "torn")[0] == 1
    assert run(capsys, "--root", root, "delete", "--force", "torn")[0] == 0
    assert not os.path.exists(os.path.join(root, "torn"))


@pytest.mark.parametrize("argv", [["help"], ["h"], ["--help"], ["-h"], []])
def test_top_help_lists_every_command_and_global_option(capsys, argv):
    from gantry.lowlevel import cliargs
    code, out, _ = run(capsys, *argv)
    assert code == 0 and out.startswith("NAME:\n   gantry-oci - ")
    sections = [line for line in out.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert sections == ["NAME:", "USAGE:", "COMMANDS:", "GLOBAL OPTIONS:"]
    for command in cliargs.COMMANDS:
        assert "\n   %s " % command in out
    for option in cliargs.GLOBAL:
        assert option in out


@pytest.mark.parametrize("command", sorted(__import__("gantry.lowlevel.cliargs", fromlist=["x"]).COMMANDS))
def test_command_help_both_ways_names_every_option(capsys, command):
    from gantry.lowlevel import cliargs
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and out.startswith("NAME:\n   gantry-oci %s - " % command)
    assert run(capsys, "help", command)[1] == out
    assert run(capsys, command, "-h")[1] == out
    assert "USAGE:\n   gantry-oci %s [command options]" % command in out
    for option, (_, kind) in cliargs.COMMANDS[command].items():
        assert (option + " value" if kind != "flag" else option) in out, option


def test_help_for_an_unknown_topic(capsys):
    code, out, err = run(capsys, "help", "nope")
    assert code == 3 and out == "" and "no help topic for 'nope'" in err


def test_exec_help_flag_after_the_command_belongs_to_the_command(tmp_path, capsys):
    """`exec ID sh --help`: --help is sh's, so this is an exec of a missing container, not help."""
    code, out, err = run(capsys, "--root", str(tmp_path), "exec", "nope", "sh", "--help")
    assert code == 1 and "container nope does not exist" in err


@pytest.mark.parametrize("flag", [["--apparmor", "p"], ["--process-label", "l"], ["--cgroup", "x"]])
def test_exec_options_that_are_not_supported_are_refused(flag):
    from gantry.lowlevel import execute
    with pytest.raises(ValueError, match="exec %s is not supported" % flag[0]):
        execute.build_process({"process": {}}, {flag[0].lstrip("-").replace("-", "_"): flag[1]}, ["true"])
