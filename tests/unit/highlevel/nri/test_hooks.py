"""NriHooks: what a new plugin is synchronized with, and how events and answers map onto the runtime."""
import threading
from types import SimpleNamespace

import pytest
from gantry.api import cri_pb2, nri_pb2
from gantry.highlevel import errors
from gantry.highlevel.nri.hooks import NriHooks
from gantry.highlevel.runtime.store import Container, Pod

E = nri_pb2


class FakeStore:
    def __init__(self):
        self.pod_rows, self.ctr_rows = [], []

    def pods(self):
        return list(self.pod_rows)

    def containers(self):
        return list(self.ctr_rows)

    def get_container(self, cid):
        return next((c for c in self.ctr_rows if c.id == cid), None)


class FakeAdaptation:
    """Answers each delivery with what the test queued for that method."""

    def __init__(self):
        self.lock = threading.RLock()
        self.sent, self.answers = [], {}

    def deliver(self, event, method, request, response_cls, fail=True):
        self.sent.append((method, request, fail))
        return [(FakePlugin(), r) for r in self.answers.get(method, [])]


class FakePlugin:
    def __repr__(self):
        return "05-fake"


def _pod(pid, state):
    cfg = cri_pb2.PodSandboxConfig(metadata=cri_pb2.PodSandboxMetadata(name="n-" + pid))
    return Pod(id=pid, name_key=pid, state=state, config=cfg.SerializeToString())


def _ctr(cid, state, tmp_path):
    cfg = cri_pb2.ContainerConfig(metadata=cri_pb2.ContainerMetadata(name="c-" + cid))
    return Container(id=cid, pod_id="p1", name_key=cid, state=state, config=cfg.SerializeToString(),
                     bundle=str(tmp_path / cid))


@pytest.fixture
def hooks():
    h = NriHooks(SimpleNamespace(store=FakeStore()), FakeAdaptation())
    return h


def test_snapshot_holds_what_plugins_were_told_of(hooks, tmp_path):
    store = hooks.ctx.store
    store.pod_rows = [_pod("p1", "ready"), _pod("p2", "creating"), _pod("p3", "creating")]
    store.ctr_rows = [_ctr("c1", "running", tmp_path), _ctr("c2", "creating", tmp_path),
                      _ctr("c3", "creating", tmp_path)]
    hooks.run_pod_sandbox(store.pod_rows[1], None)              # p2's event went out; p3's not yet
    spec = hooks.create_container(store.pod_rows[0], store.ctr_rows[1], {"process": {"args": ["x"]}})
    assert spec == {"process": {"args": ["x"]}}
    pods, ctrs = hooks.snapshot()
    assert [p.id for p in pods] == ["p1", "p2"] and [c.id for c in ctrs] == ["c1", "c2"]
    assert [p.name for p in pods] == ["n-p1", "n-p2"] and [c.name for c in ctrs] == ["c-c1", "c-c2"]
    hooks.post_create_container(store.pod_rows[0], store.ctr_rows[1])
    store.pod_rows[1].state = "ready"
    store.pod_rows.pop(2)
    hooks.snapshot()
    assert hooks.announced == set()                               # nothing left once they are listed


def test_create_applies_each_adjustment_in_order(hooks, tmp_path):
    ctr = _ctr("c1", "creating", tmp_path)
    first = E.CreateContainerResponse(adjust=E.ContainerAdjustment(env=[E.KeyValue(key="A", value="1")]))
    second = E.CreateContainerResponse(adjust=E.ContainerAdjustment(env=[E.KeyValue(key="A", value="2")]))
    hooks.nri.answers["CreateContainer"] = [first, second]
    spec = hooks.create_container(_pod("p1", "ready"), ctr, {"process": {"env": ["PATH=/bin"]}})
    assert spec["process"]["env"] == ["PATH=/bin", "A=2"]
    method, req, fail = hooks.nri.sent[-1]
    assert (method, req.container.id, req.container.name, req.pod.id, fail) == ("CreateContainer", "c1", "c-c1",
                                                                                "p1", True)
    hooks.nri.answers["CreateContainer"] = [E.CreateContainerResponse(evict=[E.ContainerEviction(container_id="x")])]
    with pytest.raises(errors.Unimplemented, match="plugin 05-fake: evictions"):
        hooks.create_container(_pod("p1", "ready"), ctr, {})


def test_update_merges_a_plugins_update_of_the_same_container(hooks, tmp_path):
    ctr = _ctr("c1", "running", tmp_path)
    upd = E.ContainerUpdate(container_id="c1", linux=E.LinuxContainerUpdate(resources=E.LinuxResources(
        cpu=E.LinuxCPU(shares=E.OptionalUInt64(value=7)))))
    hooks.nri.answers["UpdateContainer"] = [E.UpdateContainerResponse(update=[upd])]
    out = hooks.update_container(_pod("p1", "ready"), ctr, {"memory": {"limit": 10}})
    assert out == {"memory": {"limit": 10}, "cpu": {"shares": 7}}
    assert hooks.nri.sent[-1][1].linux_resources.memory.limit.value == 10


def test_update_of_another_container_that_fails_fails_the_call(hooks, tmp_path):
    upd = E.ContainerUpdate(container_id="gone", linux=E.LinuxContainerUpdate(resources=E.LinuxResources()))
    hooks.nri.answers["UpdateContainer"] = [E.UpdateContainerResponse(update=[upd])]
    with pytest.raises(errors.FailedPrecondition, match="plugin 05-fake: update of container gone failed"):
        hooks.update_container(_pod("p1", "ready"), _ctr("c1", "running", tmp_path), {})
    upd.ignore_failure = True
    hooks.nri.answers["UpdateContainer"] = [E.UpdateContainerResponse(update=[upd])]
    assert hooks.update_container(_pod("p1", "ready"), _ctr("c1", "running", tmp_path), {}) == {}


def test_which_events_may_fail_the_call(hooks, tmp_path):
    pod, ctr = _pod("p1", "ready"), _ctr("c1", "running", tmp_path)
    hooks.run_pod_sandbox(pod, None)
    hooks.start_container(pod, ctr)
    hooks.post_start_container(pod, ctr)
    hooks.post_update_container(pod, ctr)
    hooks.stop_container(pod, ctr)
    hooks.remove_container(pod, ctr)
    hooks.stop_pod_sandbox(pod)
    hooks.remove_pod_sandbox(pod)
    assert [(m, f) for m, _, f in hooks.nri.sent] == [
        ("RunPodSandbox", True), ("StartContainer", True), ("PostStartContainer", False),
        ("PostUpdateContainer", False), ("StopContainer", False),
        ("RemoveContainer", False), ("StopPodSandbox", False), ("RemovePodSandbox", False)]
