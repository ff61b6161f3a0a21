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
