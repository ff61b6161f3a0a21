"""state: atomic records, pid start times, status derivation, the one transition table."""
import os
import subprocess

import pytest
from gantry.lowlevel import state as st


@pytest.fixture
def store(tmp_path):
    return st.Store(str(tmp_path / "root"))


def record(cid, pid=0, start=None, status="created"):
    return {"id": cid, "bundle": "/b", "rootfs": "/b/rootfs", "pid": pid, "pid_start": start,
            "status": status, "created": "2026-01-01T00:00:00Z"}


def test_write_is_atomic_and_readable(store):
    store.reserve("c1")
    store.write(record("c1"))
    assert store.read("c1")["bundle"] == "/b"
    assert os.listdir(store.dir("c1")) == ["state.json"]


def test_reserve_twice_is_already_exists(store):
    store.reserve("c1")
    with pytest.raises(st.StateError, match="already exists"):
        store.reserve("c1")


def test_missing_container_does_not_exist(store):
    with pytest.raises(st.StateError, match="container nope does not exist"):
        store.read("nope")


def test_half_written_record_is_reported_not_used(store):
    store.reserve("c1")
    with open(os.path.join(store.dir("c1"), "state.json"), "w") as f:
        f.write('{"id": "c1", "bun')
    with pytest.raises(st.StateError, match="corrupt state"):
        store.read("c1")


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "x" * 1025, "sp ace"])
def test_invalid_ids(store, bad):
    with pytest.raises(st.StateError, match="invalid container id"):
        store.reserve(bad)


def test_pid_start_time_detects_reuse_and_zombies():
    p = subprocess.Popen(["sleep", "5"])
    try:
        start = st.pid_start_time(p.pid)
        assert isinstance(start, int)
        assert st.init_alive({"pid": p.pid, "pid_start": start})
        assert not st.init_alive({"pid": p.pid, "pid_start": start + 1})   # another process on the same pid
    finally:
        p.kill()
    os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)   # dead but not reaped: a zombie
    assert st.pid_start_time(p.pid) is None
    p.wait()
    assert st.pid_start_time(p.pid) is None


def test_status_from_record_and_system(store):
    store.reserve("c1")
    r = record("c1", pid=os.getpid(), start=st.pid_start_time(os.getpid()))
    open(store.fifo("c1"), "w").close()
    assert st.status(r, store) == "created"
    os.unlink(store.fifo("c1"))
    assert st.status(r, store) == "running"
    assert st.status(dict(r, status="paused"), store) == "paused"
    assert st.status(r, store, frozen=lambda: True) == "paused"
    assert st.status(dict(r, pid_start=1), store) == "stopped"
    assert st.status(record("c1", status="creating"), store) == "creating"


TRANSITIONS = [
    ("created", "start", "running"), ("running", "pause", "paused"), ("paused", "resume", "running"),
    ("stopped", "delete", "stopped"), ("running", "delete-force", "stopped"), ("created", "kill", "created"),
]
REFUSALS = [
    ("stopped", "kill", "container not running"), ("stopped", "exec", "container not running"),
    ("running", "start", "cannot start container c"), ("stopped", "start", "has stopped"),
    ("running", "delete", "that is not stopped: running"), ("created", "delete", "that is not stopped: created"),
    ("running", "resume", "is not paused"), ("paused", "pause", "cannot pause"),
]


@pytest.mark.parametrize("status,command,after", TRANSITIONS)
def test_transition(status, command, after):
    assert st.transition(status, command, "c") == after


@pytest.mark.parametrize("status,command,message", REFUSALS)
def test_transition_refused(status, command, message):
    with pytest.raises(st.StateError, match=message):
        st.transition(status, command, "c")


def test_oci_state_document():
    doc = st.oci_state(dict(record("c1", pid=42), annotations={"a": "b"}), "running")
    assert doc == {"ociVersion": st.OCI_VERSION, "id": "c1", "pid": 42, "status": "running", "bundle": "/b",
                   "rootfs": "/b/rootfs", "created": "2026-01-01T00:00:00Z", "annotations": {"a": "b"}, "owner": ""}
    assert st.oci_state(record("c1", pid=42), "stopped")["pid"] == 0


def test_remove_tree_does_not_follow_symlinks(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "f").write_text("x")
    os.symlink(str(outside), str(d / "link"))
    st.remove_tree(str(d))
    assert not d.exists() and (outside / "keep").exists()


# Found by tests/fuzz (fuzz_state): a state.json that parses but is not a record (a list, a pid string)
# was returned, and every command then died on record.get / record["pid"] with a traceback.
@pytest.mark.parametrize("content, problem", [
    ("[]", "not a JSON object"),
    ('{"id": "c1", "bundle": "/b", "pid": "1", "status": "created"}', "pid is '1'"),
    ('{"id": "c1", "bundle": "/b", "pid": 1, "status": "created", "cgroups": []}', "cgroups is"),
    ('{"a":' * 50000, "nesting"),
    ('{"id": "c2", "bundle": "/b", "pid": 1, "status": "created"}', "record of 'c2'"),
])
def test_a_parsed_but_unusable_record_is_corrupt(store, content, problem):
    store.reserve("c1")
    with open(os.path.join(store.dir("c1"), "state.json"), "w") as f:
        f.write(content)
    with pytest.raises(st.StateError, match="corrupt state .*%s" % problem):
        store.read("c1")
