"""NRI against a real gantryd: plugins (tests/fixtures/nriplugin.py, our own framing) see events in
order, adjust a container, fail a call, and a late plugin is synchronized with what exists."""
import json
import os
import threading

import grpc
import pytest
from gantry.api import cri_pb2, nri_pb2

from tests.fixtures.nriplugin import NriTestPlugin

from ..gantryd_proc import GantrydProcess
from .conftest import TEST_NETWORK, _remove_all
from .criclient import Cri, container_config, pod_config

pytestmark = [pytest.mark.root]

LIFECYCLE = ["RunPodSandbox", "CreateContainer", "PostCreateContainer", "StartContainer", "PostStartContainer",
             "StopContainer", "RemoveContainer", "StopPodSandbox", "RemovePodSandbox"]


@pytest.fixture
def nri_gantryd(busybox_ref, tmp_path):
    socket_path = os.path.join(str(tmp_path), "nri.sock")
    config = TEST_NETWORK + '\n[nri]\nenable = true\nsocket_path = "%s"\n' % socket_path
    gd = GantrydProcess(str(tmp_path / "gd"), registry_config_dir=busybox_ref[2], config_text=config)
    gd.nri_socket = socket_path
    plugins = []
    gd.plugin = lambda *a, **kw: plugins.append(NriTestPlugin(*a, **kw)) or plugins[-1]
    try:
        gd.start()
        yield gd
    finally:
        for p in plugins:
            p.close()
        try:
            _remove_all(gd)
        finally:
            gd.stop()
            gd.cleanup()


def test_socket_is_private(nri_gantryd):
    assert os.stat(nri_gantryd.nri_socket).st_mode & 0o777 == 0o600


def test_events_in_order_by_plugin_index_with_adjustment(nri_gantryd, busybox_ref):
    cri = Cri(nri_gantryd)
    cri.pull(busybox_ref[0])
    journal = []
    late = nri_gantryd.plugin("watcher", "10", journal=journal).connect(nri_gantryd.nri_socket)
    early = nri_gantryd.plugin("adjuster", "05", events=["RunPodSandbox", "CreateContainer"], journal=journal)

    def adjustment(pod, ctr):
        adj = nri_pb2.ContainerAdjustment(env=[nri_pb2.KeyValue(key="NRI_ADJUSTED", value="by-" + pod.name)])
        adj.annotations["nri.test/adjusted"] = "yes"
        return adj
    early.adjust = adjustment
    early.connect(nri_gantryd.nri_socket)
    assert late.configured.runtime_name == "gantry" and late.configured.request_timeout == 2000

    pcfg = pod_config()
    pod_id = cri.run_pod(pcfg)
    cid = cri.run(pod_id, pcfg, container_config(busybox_ref[0], command=["sleep", "100"]))
    out = cri.exec_sync(cid, ["sh", "-c", "echo $NRI_ADJUSTED"])
    assert out.stdout.decode().strip() == "by-" + pcfg.metadata.name
    with open(os.path.join(nri_gantryd.state, "containers", cid, "config.json")) as f:
        assert json.load(f)["annotations"]["nri.test/adjusted"] == "yes"
    cri.stop(cid)
    cri.remove(cid)
    cri.stop_pod(pod_id)
    cri.remove_pod(pod_id)

    events = late.wait_for(lambda ev: len(ev) >= len(LIFECYCLE))
    assert [e[0] for e in events] == LIFECYCLE
    assert {e[1] for e in events} == {pod_id}
    run = events[0][4]
    assert (run.pod.name, run.pod.namespace, run.pod.uid) == (pcfg.metadata.name, pcfg.metadata.namespace,
                                                              pcfg.metadata.uid)
    created = events[1][4].container
    assert (created.id, created.name) == (cid, events[1][3]) and created.name
    assert "NRI_ADJUSTED=by-" + pcfg.metadata.name not in created.env     # plugins see the spec before theirs
    # the plugin of index 05 is asked before the one of index 10, and only for what it subscribed to
    assert [e[0] for e in early.events] == ["RunPodSandbox", "CreateContainer"]
    assert journal[:4] == [("adjuster", "RunPodSandbox"), ("watcher", "RunPodSandbox"),
                           ("adjuster", "CreateContainer"), ("watcher", "CreateContainer")]


def test_plugin_error_fails_the_call_and_leaves_nothing(nri_gantryd, busybox_ref):
    cri = Cri(nri_gantryd)
    cri.pull(busybox_ref[0])
    plugin = nri_gantryd.plugin("refuser", "00", events=["RunPodSandbox", "CreateContainer"])
    plugin.fail["RunPodSandbox"] = "no pods today"
    plugin.connect(nri_gantryd.nri_socket)
    pcfg = pod_config()
    with pytest.raises(grpc.RpcError) as info:
        cri.run_pod(pcfg)
    assert "no pods today" in info.value.details() and "refuser" in info.value.details()
    assert list(cri.pods()) == []
    pod_id = cri.run_pod(pcfg)                                 # the retry works
    plugin.fail["CreateContainer"] = "no containers either"
    ccfg = container_config(busybox_ref[0], command=["sleep", "100"])
    with pytest.raises(grpc.RpcError) as info:
        cri.create(pod_id, pcfg, ccfg)
    assert "no containers either" in info.value.details()
    assert list(cri.containers()) == []
    cid = cri.create(pod_id, pcfg, ccfg)
    assert cri.status(cid).state == cri_pb2.CONTAINER_CREATED


def test_late_plugin_is_synchronized_and_a_silent_one_is_dropped(nri_gantryd, busybox_ref):
    cri = Cri(nri_gantryd)
    cri.pull(busybox_ref[0])
    pcfg = pod_config()
    pod_id = cri.run_pod(pcfg)
    cid = cri.run(pod_id, pcfg, container_config(busybox_ref[0], command=["sleep", "100"]))
    late = nri_gantryd.plugin("late", "50").connect(nri_gantryd.nri_socket)
    assert late.synced_pods == [pod_id] and late.synced_containers == [cid]
    silent = nri_gantryd.plugin("silent", "01", events=["StopContainer"])
    silent.block["StopContainer"] = threading.Event()         # never set: it does not answer in time
    silent.connect(nri_gantryd.nri_socket)
    cri.stop(cid)                                             # goes on without it (request timeout: 2s)
    assert cri.status(cid).state == cri_pb2.CONTAINER_EXITED
    assert silent.closed.wait(10)
    late.wait_for(lambda ev: any(e[0] == "StopContainer" and e[2] == cid for e in ev))


def test_update_is_announced_before_and_after(nri_gantryd, busybox_ref):
    """UpdateContainerResources: plugins see UpdateContainer with the new limit, then PostUpdateContainer."""
    cri = Cri(nri_gantryd)
    cri.pull(busybox_ref[0])
    pcfg = pod_config()
    pod_id = cri.run_pod(pcfg)
    cid = cri.run(pod_id, pcfg, container_config(busybox_ref[0], command=["sleep", "100"]))
    plugin = nri_gantryd.plugin("updates", "20", events=["UpdateContainer", "PostUpdateContainer"])
    plugin.connect(nri_gantryd.nri_socket)
    cri.rt.UpdateContainerResources(cri_pb2.UpdateContainerResourcesRequest(
        container_id=cid, linux=cri_pb2.LinuxContainerResources(memory_limit_in_bytes=64 << 20)))
    events = plugin.wait_for(lambda ev: len(ev) >= 2)
    assert [(e[0], e[2]) for e in events] == [("UpdateContainer", cid), ("PostUpdateContainer", cid)]
    assert events[0][4].linux_resources.memory.limit.value == 64 << 20


def test_pod_resize_is_announced_and_bad_values_refused(nri_gantryd):
    """UpdatePodSandboxResources (in-place pod resize): plugins see UpdatePodSandbox with the overhead and
    the resources, then PostUpdatePodSandbox; an unknown pod is NOT_FOUND, a negative value INVALID_ARGUMENT."""
    cri = Cri(nri_gantryd)
    pod_id = cri.run_pod(pod_config())
    plugin = nri_gantryd.plugin("resizer", "20", events=["UpdatePodSandbox", "PostUpdatePodSandbox"])
    plugin.connect(nri_gantryd.nri_socket)
    cri.rt.UpdatePodSandboxResources(cri_pb2.UpdatePodSandboxResourcesRequest(
        pod_sandbox_id=pod_id, overhead=cri_pb2.LinuxContainerResources(cpu_shares=10),
        resources=cri_pb2.LinuxContainerResources(memory_limit_in_bytes=128 << 20, cpu_quota=20000)))
    events = plugin.wait_for(lambda ev: len(ev) >= 2)
    assert [(e[0], e[1]) for e in events] == [("UpdatePodSandbox", pod_id), ("PostUpdatePodSandbox", pod_id)]
    req = events[0][4]
    assert req.linux_resources.memory.limit.value == 128 << 20 and req.linux_resources.cpu.quota.value == 20000
    assert req.overhead_linux_resources.cpu.shares.value == 10
    with pytest.raises(grpc.RpcError) as info:
        cri.rt.UpdatePodSandboxResources(cri_pb2.UpdatePodSandboxResourcesRequest(pod_sandbox_id="nosuchpod"))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as info:
        cri.rt.UpdatePodSandboxResources(cri_pb2.UpdatePodSandboxResourcesRequest(
            pod_sandbox_id=pod_id, resources=cri_pb2.LinuxContainerResources(cpu_shares=-2)))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(plugin.events) == 2
