"""The template over a real socket (no root): a Spawn with missing fields is refused by the
forked process, a good one yields a shim that answers Connect, and a second Spawn for the
same state dir answers the running shim."""
import os
import time

import pytest
from gantry.highlevel import errors, shimclient


@pytest.fixture
def template(tmp_path):
    sock = str(tmp_path / "t.sock")
    proc = shimclient.start_template(sock)
    yield shimclient.TemplateClient(sock, timeout=20)
    proc.kill()
    proc.wait()


def test_spawn_connect_twice_and_shutdown(template, tmp_path):
    state = str(tmp_path / "st")
    r = template.spawn("c1", str(tmp_path), "/bin/false", state)
    assert not r.already_running and oct(os.stat(r.address).st_mode & 0o777) == "0o600"
    c = shimclient.ShimClient(r.address)
    hello = c.connect()
    assert (hello.shim_pid, hello.task_pid, hello.id) == (r.pid, 0, "c1")
    again = template.spawn("c1", str(tmp_path), "/bin/false", state)
    assert again.already_running and (again.address, again.pid) == (r.address, r.pid)
    with pytest.raises(errors.Internal, match="create c1: exit status 1"):
        c.create()  # /bin/false is no runtime
    c.shutdown()
    deadline = time.monotonic() + 5
    while os.path.exists(state) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not os.path.exists(state)  # the shim removed its state dir and exited


def test_spawn_without_fields_is_refused(template, tmp_path):
    with pytest.raises(errors.InvalidArgument, match="required"):
        template.spawn("", str(tmp_path), "runc", str(tmp_path / "st"))


def run_template_script(tmp_path, body):
    """Run a template in a child interpreter after body (Python) ran there; returns the Popen."""
    import subprocess
    import sys
    sock = str(tmp_path / "tt.sock")
    script = "import sys, threading, time\nfrom gantry.shim import template\n%s\ntemplate.serve(%r)\n" % (body, sock)
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE), sock


def test_a_template_with_threads_refuses_to_start(tmp_path):
    proc, _ = run_template_script(tmp_path, "threading.Thread(target=time.sleep, args=(10,), daemon=True).start()")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0 and b"must start single-threaded" in err


def test_a_template_that_gained_a_thread_refuses_to_fork(tmp_path):
    # the thread count is faked after start-up (a real extra thread would also stop serve() from starting)
    proc, sock = run_template_script(tmp_path, "calls = iter([1] + [2] * 100)\ntemplate.thread_count = lambda: next(calls)")
    try:
        assert proc.stdout.readline().strip() == sock.encode()
        with pytest.raises(errors.FailedPrecondition, match="runs 2 threads"):
            shimclient.TemplateClient(sock, timeout=20).spawn("c1", str(tmp_path), "runc", str(tmp_path / "st"))
        assert not os.path.exists(str(tmp_path / "st"))  # nothing was forked
    finally:
        proc.kill()
        proc.communicate()
