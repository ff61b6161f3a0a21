"""A plugin's registration, subscription and the runtime service it is served."""
import pytest
from gantry.api import nri_pb2
from gantry.highlevel.nri import plugin as pluginmod
from gantry.highlevel.nri import ttrpc
from gantry.highlevel.nri.conn import CallError


@pytest.mark.parametrize("name,idx,ok", [
    ("probe", "00", True), ("my-plugin.v2", "99", True),
    ("", "00", False), ("a/b", "10", False), ("a b", "10", False),
    ("probe", "1", False), ("probe", "100", False), ("probe", "ab", False), ("probe", "", False),
])
def test_check_registration(name, idx, ok):
    req = nri_pb2.RegisterPluginRequest(plugin_name=name, plugin_idx=idx)
    if ok:
        assert pluginmod.check_registration(req) == (name, idx)
    else:
        with pytest.raises(CallError) as info:
            pluginmod.check_registration(req)
        assert info.value.code == ttrpc.INVALID_ARGUMENT


@pytest.mark.parametrize("events,mask", [
    (0, (1 << 14) - 1),
    (1 << (nri_pb2.RUN_POD_SANDBOX - 1), 1),
    ((1 << 3) | (1 << 9), (1 << 3) | (1 << 9)),
])
def test_subscription(events, mask):
    assert pluginmod.subscription(events) == mask


def test_subscription_refuses_unknown_bits():
    with pytest.raises(ValueError, match="0x8000"):
        pluginmod.subscription(1 << 15)


def test_subscribed_follows_the_event_bits():
    p = pluginmod.Plugin()
    p.events = pluginmod.event_bit(nri_pb2.CREATE_CONTAINER) | pluginmod.event_bit(nri_pb2.REMOVE_POD_SANDBOX)
    assert [e for e in range(1, nri_pb2.LAST) if p.subscribed(e)] == [nri_pb2.REMOVE_POD_SANDBOX,
                                                                      nri_pb2.CREATE_CONTAINER]


def test_serve_register_once():
    p = pluginmod.Plugin()
    req = nri_pb2.RegisterPluginRequest(plugin_name="probe", plugin_idx="07").SerializeToString()
    assert p.serve(pluginmod.RUNTIME_SERVICE, "RegisterPlugin", req) == b""
    assert (p.name, p.idx, repr(p), p.registered.is_set()) == ("probe", "07", "07-probe", True)
    with pytest.raises(CallError, match="registered already"):
        p.serve(pluginmod.RUNTIME_SERVICE, "RegisterPlugin", req)


def test_serve_update_containers_reports_failures():
    seen = []
    p = pluginmod.Plugin(on_update=lambda updates: seen.extend(updates) or updates[1:])
    req = nri_pb2.UpdateContainersRequest(update=[nri_pb2.ContainerUpdate(container_id="a"),
                                                  nri_pb2.ContainerUpdate(container_id="b")])
    resp = nri_pb2.UpdateContainersResponse.FromString(
        p.serve(pluginmod.RUNTIME_SERVICE, "UpdateContainers", req.SerializeToString()))
    assert [u.container_id for u in seen] == ["a", "b"] and [u.container_id for u in resp.failed] == ["b"]
    evict = nri_pb2.UpdateContainersRequest(evict=[nri_pb2.ContainerEviction(container_id="a")])
    with pytest.raises(CallError, match="evictions are not supported"):
        p.serve(pluginmod.RUNTIME_SERVICE, "UpdateContainers", evict.SerializeToString())


@pytest.mark.parametrize("service,method", [
    ("nri.pkg.api.v1alpha1.Plugin", "Configure"),
    (pluginmod.RUNTIME_SERVICE, "Nope"),
])
def test_serve_unknown_is_unimplemented(service, method):
    with pytest.raises(CallError) as info:
        pluginmod.Plugin().serve(service, method, b"")
    assert info.value.code == ttrpc.UNIMPLEMENTED


def test_sync_parts_small_is_one_message():
    parts = pluginmod.sync_parts([nri_pb2.PodSandbox(id="p")], [nri_pb2.Container(id="c")])
    assert len(parts) == 1 and not parts[0].more
    assert ([p.id for p in parts[0].pods], [c.id for c in parts[0].containers]) == (["p"], ["c"])
    assert len(pluginmod.sync_parts([], [])) == 1


def test_sync_parts_large_is_cut_and_keeps_everything_in_order():
    pods = [nri_pb2.PodSandbox(id="p%d" % i, name="x" * 90) for i in range(30)]
    ctrs = [nri_pb2.Container(id="c%d" % i, args=["y" * 90]) for i in range(30)]
    parts = pluginmod.sync_parts(pods, ctrs, limit=1000)
    assert len(parts) > 5 and all(p.more for p in parts[:-1]) and not parts[-1].more
    assert all(p.ByteSize() <= 1000 for p in parts)
    assert [p.id for part in parts for p in part.pods] == ["p%d" % i for i in range(30)]
    assert [c.id for part in parts for c in part.containers] == ["c%d" % i for i in range(30)]
