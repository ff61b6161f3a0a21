"""A plugin's ContainerAdjustment and resources applied to the OCI spec."""
import pytest
from gantry.api import nri_pb2
from gantry.highlevel import errors
from gantry.highlevel.nri import adjust

E = nri_pb2
BASE = {
    "process": {"args": ["sleep", "1"], "env": ["PATH=/bin", "KEEP=1", "DROP=1"],
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 10, "soft": 10}]},
    "annotations": {"keep": "1", "drop": "1"},
    "mounts": [{"destination": "/data", "type": "bind", "source": "/x", "options": ["rbind"]},
               {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": []}],
    "linux": {"resources": {"memory": {"limit": 100}, "cpu": {"shares": 2}}},
}


def _adj(**kw):
    return E.ContainerAdjustment(**kw)


@pytest.mark.parametrize("adjustment,check", [
    (_adj(env=[E.KeyValue(key="NEW", value="v"), E.KeyValue(key="-DROP"), E.KeyValue(key="KEEP", value="2")]),
     lambda s: s["process"]["env"] == ["PATH=/bin", "NEW=v", "KEEP=2"]),
    (_adj(annotations={"new": "x", "-drop": ""}), lambda s: s["annotations"] == {"keep": "1", "new": "x"}),
    (_adj(mounts=[E.Mount(destination="-/tmp"), E.Mount(destination="/data", type="bind", source="/y",
                                                          options=["ro"])]),
     lambda s: s["mounts"] == [{"destination": "/data", "type": "bind", "source": "/y", "options": ["ro"]}]),
    (_adj(args=["echo", "hi"]), lambda s: s["process"]["args"] == ["echo", "hi"]),
    (_adj(rlimits=[E.POSIXRlimit(type="RLIMIT_NOFILE", hard=99, soft=50)]),
     lambda s: s["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "hard": 99, "soft": 50}]),
    (_adj(hooks=E.Hooks(prestart=[E.Hook(path="/bin/h", args=["h"], timeout=E.OptionalInt(value=3))],
                        poststop=[E.Hook(path="/bin/p")])),
     lambda s: s["hooks"] == {"prestart": [{"path": "/bin/h", "args": ["h"], "timeout": 3}],
                              "poststop": [{"path": "/bin/p"}]}),
    (_adj(linux=E.LinuxContainerAdjustment(resources=E.LinuxResources(
        memory=E.LinuxMemory(limit=E.OptionalInt64(value=500)), cpu=E.LinuxCPU(cpus="1")))),
     lambda s: s["linux"]["resources"] == {"memory": {"limit": 500}, "cpu": {"shares": 2, "cpus": "1"}}),
    (_adj(linux=E.LinuxContainerAdjustment(oom_score_adj=E.OptionalInt(value=-5), cgroups_path="/x/y",
                                           sysctl={"net.core.somaxconn": "1024"})),
     lambda s: (s["process"]["oomScoreAdj"], s["linux"]["cgroupsPath"], s["linux"]["sysctl"]) ==
     (-5, "/x/y", {"net.core.somaxconn": "1024"})),
    (_adj(linux=E.LinuxContainerAdjustment(devices=[E.LinuxDevice(path="/dev/fuse", type="c", major=10, minor=229,
                                                                  file_mode=E.OptionalFileMode(value=0o666))])),
     lambda s: s["linux"]["devices"] == [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                                          "fileMode": 0o666}]
     and s["linux"]["resources"]["devices"] == [{"allow": True, "type": "c", "major": 10, "minor": 229,
                                                 "access": "rwm"}]),
])
def test_applied(adjustment, check):
    spec = adjust.apply_adjustment(BASE, adjustment, "05-test")
    assert check(spec)
    assert BASE["process"]["env"] == ["PATH=/bin", "KEEP=1", "DROP=1"]      # the input is not changed


def test_empty_adjustment_changes_nothing():
    assert adjust.apply_adjustment(BASE, E.ContainerAdjustment(), "p") == BASE


@pytest.mark.parametrize("adjustment,field", [
    (_adj(CDI_devices=[E.CDIDevice(name="vendor.com/gpu=0")]), "CDI_devices"),
    (_adj(linux=E.LinuxContainerAdjustment(namespaces=[E.LinuxNamespace(type="network")])), "linux.namespaces"),
    (_adj(linux=E.LinuxContainerAdjustment(io_priority=E.LinuxIOPriority(priority=1))), "linux.io_priority"),
    (_adj(linux=E.LinuxContainerAdjustment(seccomp_policy=E.LinuxSeccomp(default_action="x"))),
     "linux.seccomp_policy"),
    (_adj(linux=E.LinuxContainerAdjustment(net_devices={"eth1": E.LinuxNetDevice(name="n")})), "linux.net_devices"),
    (_adj(linux=E.LinuxContainerAdjustment(scheduler=E.LinuxScheduler(nice=1))), "linux.scheduler"),
    (_adj(linux=E.LinuxContainerAdjustment(rdt=E.LinuxRdt(remove=True))), "linux.rdt"),
    (_adj(linux=E.LinuxContainerAdjustment(memory_policy=E.LinuxMemoryPolicy(nodes="0"))), "linux.memory_policy"),
])
def test_refused_with_the_field_and_plugin(adjustment, field):
    with pytest.raises(errors.Unimplemented, match=r"plugin 05-x: adjustment\.%s" % field.replace(".", r"\.")):
        adjust.apply_adjustment(BASE, adjustment, "05-x")


def test_oci_resources_has_only_what_is_set():
    res = E.LinuxResources(memory=E.LinuxMemory(limit=E.OptionalInt64(value=0), swappiness=E.OptionalUInt64(value=1)),
                           cpu=E.LinuxCPU(period=E.OptionalUInt64(value=100000), mems="0"),
                           pids=E.LinuxPids(limit=5), unified={"cpu.weight": "10"},
                           devices=[E.LinuxDeviceCgroup(allow=True, type="c", major=E.OptionalInt64(value=1),
                                                        access="r")],
                           hugepage_limits=[E.HugepageLimit(page_size="1GB", limit=3)])
    assert adjust.oci_resources(res) == {
        "memory": {"limit": 0, "swappiness": 1}, "cpu": {"period": 100000, "mems": "0"}, "pids": {"limit": 5},
        "unified": {"cpu.weight": "10"}, "devices": [{"allow": True, "type": "c", "access": "r", "major": 1}],
        "hugepageLimits": [{"pageSize": "1GB", "limit": 3}]}
    assert adjust.oci_resources(E.LinuxResources()) == {}
    with pytest.raises(errors.Unimplemented, match="blockio_class"):
        adjust.oci_resources(E.LinuxResources(blockio_class=E.OptionalString(value="x")))


def test_merge_resources():
    res = {"memory": {"limit": 1, "swap": 2}, "devices": [{"allow": False}]}
    adjust.merge_resources(res, {"memory": {"limit": 5}, "devices": [{"allow": True}], "unified": {"a": "b"}})
    assert res == {"memory": {"limit": 5, "swap": 2}, "devices": [{"allow": False}, {"allow": True}],
                   "unified": {"a": "b"}}
