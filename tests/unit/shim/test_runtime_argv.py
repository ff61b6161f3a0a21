"""Runtime command lines (shim/runtime.py): runc-compatible, binary and root are parameters."""
import pytest
from gantry.shim.runtime import Runtime, RuntimeFailed

R = Runtime("/usr/bin/crun", root="/run/r", log_path="/s/runtime.log")
G = ["/usr/bin/crun", "--root", "/run/r", "--log", "/s/runtime.log", "--log-format", "json"]


@pytest.mark.parametrize("argv, expected", [
    (R.create_argv("c1", "/b", "/s/init.pid"), G + ["create", "--bundle", "/b", "--pid-file", "/s/init.pid", "c1"]),
    (R.create_argv("c1", "/b", "/s/p", "/s/console.sock"),
     G + ["create", "--bundle", "/b", "--pid-file", "/s/p", "--console-socket", "/s/console.sock", "c1"]),
    (R.start_argv("c1"), G + ["start", "c1"]),
    (R.exec_argv("c1", "/s/e.json", "/s/e.pid"),
     G + ["exec", "--detach", "--process", "/s/e.json", "--pid-file", "/s/e.pid", "c1"]),
    (R.exec_argv("c1", "/s/e.json", "/s/e.pid", "/s/e.sock"),
     G + ["exec", "--detach", "--process", "/s/e.json", "--pid-file", "/s/e.pid", "--console-socket", "/s/e.sock", "c1"]),
    (R.kill_argv("c1", 9), G + ["kill", "c1", "9"]),
    (R.kill_argv("c1", 15, all_processes=True), G + ["kill", "--all", "c1", "15"]),
    (R.delete_argv("c1"), G + ["delete", "c1"]),
    (R.delete_argv("c1", force=True), G + ["delete", "--force", "c1"]),
    (R.pause_argv("c1"), G + ["pause", "c1"]),
    (R.resume_argv("c1"), G + ["resume", "c1"]),
    (R.update_argv("c1", "/s/r.json"), G + ["update", "--resources", "/s/r.json", "c1"]),
    (Runtime("runc").start_argv("x"), ["runc", "start", "x"]),
])
def test_argv(argv, expected):
    assert argv == expected


def test_failure_carries_the_runtime_words(tmp_path):
    log = tmp_path / "runtime.log"
    log.write_text('{"level":"error","msg":"old failure"}\n')
    fake = tmp_path / "fake-runtime"
    fake.write_text('#!/bin/sh\necho \'{"level":"error","msg":"container does not exist"}\' >> %s\nexit 1\n' % log)
    fake.chmod(0o755)
    r = Runtime(str(fake), log_path=str(log))
    with pytest.raises(RuntimeFailed, match="start c9: exit status 1: container does not exist"):
        r.run(r.start_argv("c9"))


def test_missing_runtime(tmp_path):
    r = Runtime(str(tmp_path / "nope"))
    with pytest.raises(RuntimeFailed, match="runtime not found"):
        r.run(r.start_argv("c"))
