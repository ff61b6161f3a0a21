import pytest
from gantry.highlevel import errors
from gantry.highlevel.runtime import store as storemod
from gantry.highlevel.runtime.store import Container, Pod, RuntimeStore


@pytest.fixture
def store(tmp_path):
    s = RuntimeStore(str(tmp_path / "runtime.db"))
    yield s
    s.close()


def pod(i="p1", state="ready", name="web_ns_uid_0"):
    return Pod(id=i * 8, name_key=name, state=state, config=b"\x01\x02", ips=["10.0.0.2"])


@pytest.mark.parametrize("table,old,new,ok", [
    (storemod.POD_STATES, "creating", "ready", True),
    (storemod.POD_STATES, "ready", "notready", True),
    (storemod.POD_STATES, "notready", "ready", False),
    (storemod.CONTAINER_STATES, "created", "running", True),
    (storemod.CONTAINER_STATES, "running", "created", False),
    (storemod.CONTAINER_STATES, "exited", "running", False),
    (storemod.CONTAINER_STATES, "creating", "exited", True),
    (storemod.CONTAINER_STATES, "running", "running", True),
])
def test_transition_table(table, old, new, ok):
    if ok:
        assert storemod.transition(table, "x", "id", old, new) == new
    else:
        with pytest.raises(errors.FailedPrecondition, match="cannot go from %s to %s" % (old, new)):
            storemod.transition(table, "x", "id", old, new)


def test_pod_round_trip_and_unique_name(store):
    store.add_pod(pod())
    got = store.get_pod("p1" * 8)
    assert got.config == b"\x01\x02" and got.ips == ["10.0.0.2"] and got.state == "ready"
    with pytest.raises(errors.AlreadyExists, match="web_ns_uid_0"):
        store.add_pod(pod(i="p2"))
    assert [p.id for p in store.pods()] == ["p1" * 8]


def test_container_needs_ready_pod_and_unique_name(store):
    store.add_pod(pod(state="creating"))
    c = Container(id="c" * 64, pod_id="p1" * 8, name_key="app_0_p", state="creating")
    with pytest.raises(errors.FailedPrecondition, match="not ready"):
        store.add_container(c)
    p = store.get_pod("p1" * 8)
    p.state = "ready"
    store.put_pod(p)
    store.add_container(c)
    with pytest.raises(errors.AlreadyExists, match="app_0_p"):
        store.add_container(Container(id="d" * 64, pod_id="p1" * 8, name_key="app_0_p", state="creating"))
    with pytest.raises(errors.FailedPrecondition, match="still has containers"):
        store.delete_pod("p1" * 8)
    c.state = "running"
    with pytest.raises(errors.FailedPrecondition):
        store.put_container(c)          # creating -> running skips created


def test_resolve_prefix(store):
    store.add_pod(pod(i="ab"))
    store.add_pod(pod(i="ac", name="other"))
    assert store.resolve("pods", "abab") == "ab" * 8
    assert store.resolve("pods", "zz") is None
    with pytest.raises(errors.InvalidArgument, match="ambiguous"):
        store.resolve("pods", "a")


def test_survives_reopen(tmp_path):
    s = RuntimeStore(str(tmp_path / "r.db"))
    s.add_pod(pod())
    s.close()
    s = RuntimeStore(str(tmp_path / "r.db"))
    assert s.get_pod("p1" * 8).name_key == "web_ns_uid_0"
    s.close()
