"""RuntimeService: Version, Status, and a clear UNIMPLEMENTED for the methods gantryd does not offer."""
import inspect
import json

import pytest
from gantry.api import cri_pb2
from gantry.highlevel.cri.runtime_service import RuntimeService
from gantry.highlevel.errors import Unimplemented

METHODS = cri_pb2.DESCRIPTOR.services_by_name["RuntimeService"].methods
UNIMPLEMENTED = {"CheckpointContainer"}


def test_version():
    v = RuntimeService("1.0").Version(cri_pb2.VersionRequest(version="v1"), None)
    assert (v.runtime_name, v.runtime_version, v.runtime_api_version) == ("gantry", "1.0", "v1")


def test_status_not_ready_says_why():
    resp = RuntimeService("1.0", config_info={"root": "/r"}).Status(cri_pb2.StatusRequest(verbose=True), None)
    conds = {c.type: c for c in resp.status.conditions}
    assert set(conds) == {"RuntimeReady", "NetworkReady"}
    assert all(not c.status and c.reason and c.message for c in conds.values())
    assert json.loads(resp.info["config"]) == {"root": "/r"}
    assert [h.name for h in resp.runtime_handlers] == [""]


def test_status_ready_from_the_readiness_callable():
    svc = RuntimeService("1.0", readiness=lambda name: (True, "", ""))
    resp = svc.Status(cri_pb2.StatusRequest(), None)
    assert all(c.status and not c.reason for c in resp.status.conditions)
    assert dict(resp.info) == {}


@pytest.mark.parametrize("driver, value", [("cgroupfs", cri_pb2.CGROUPFS), ("systemd", cri_pb2.SYSTEMD)])
def test_runtime_config_reports_the_cgroup_driver(driver, value):
    resp = RuntimeService("1.0", cgroup_driver=driver).RuntimeConfig(cri_pb2.RuntimeConfigRequest(), None)
    assert resp.linux.cgroup_driver == value
    assert resp.HasField("linux")


@pytest.mark.parametrize("method", [m for m in METHODS if m.name in UNIMPLEMENTED], ids=lambda m: m.name)
def test_unoffered_methods_are_a_clear_unimplemented(method):
    svc = RuntimeService("1.0")
    handler = getattr(svc, method.name)
    request = getattr(cri_pb2, method.input_type.name)()
    assert inspect.isgeneratorfunction(handler) == method.server_streaming
    with pytest.raises(Unimplemented, match="RuntimeService/%s: not implemented" % method.name):
        result = handler(request, None)
        if method.server_streaming:
            list(result)


def test_metric_descriptors_need_no_runtime():
    resp = RuntimeService("1.0").ListMetricDescriptors(cri_pb2.ListMetricDescriptorsRequest(), None)
    names = {d.name for d in resp.descriptors}
    assert {"container_cpu_usage_seconds_total", "container_network_receive_bytes_total"} <= names
    assert all(d.help and d.label_keys for d in resp.descriptors)


def test_all_35_methods_are_covered():
    assert len(METHODS) == 35
    assert all(getattr(RuntimeService, m.name).__qualname__ != "RuntimeServiceServicer." + m.name for m in METHODS)


@pytest.mark.parametrize("name", ["Exec", "Attach", "PortForward"])
def test_streaming_without_a_server_is_unimplemented(name):
    svc = RuntimeService("1.0")
    request = getattr(cri_pb2, name + "Request")()
    with pytest.raises(Unimplemented, match="RuntimeService/%s: no streaming server" % name):
        getattr(svc, name)(request, None)
