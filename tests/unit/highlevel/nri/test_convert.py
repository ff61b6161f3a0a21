"""Store records and OCI specs -> NRI messages."""
from gantry.api import cri_pb2, nri_pb2
from gantry.highlevel.nri import convert
from gantry.highlevel.runtime.store import Container, Pod


def _pod():
    cfg = cri_pb2.PodSandboxConfig(metadata=cri_pb2.PodSandboxMetadata(name="web", namespace="ns1", uid="u-1"),
                                   labels={"app": "web"}, annotations={"a": "1"})
    return Pod(id="p" * 64, name_key="k", state="ready", config=cfg.SerializeToString(), runtime_handler="runc",
               namespaces={"network": "/run/ns/net", "ipc": "/run/ns/ipc"}, cgroup_parent="/kubepods",
               ips=["10.0.0.5"], infra={"pid": 42})


def test_pod_message():
    msg = convert.pod_message(_pod())
    assert (msg.id, msg.name, msg.namespace, msg.uid) == ("p" * 64, "web", "ns1", "u-1")
    assert dict(msg.labels) == {"app": "web"} and dict(msg.annotations) == {"a": "1"}
    assert (msg.runtime_handler, list(msg.ips), msg.pid) == ("runc", ["10.0.0.5"], 42)
    assert msg.linux.cgroup_parent == "/kubepods"
    assert [(n.type, n.path) for n in msg.linux.namespaces] == [("ipc", "/run/ns/ipc"), ("network", "/run/ns/net")]


SPEC = {
    "process": {"args": ["sleep", "9"], "env": ["A=1"], "oomScoreAdj": 100,
                "user": {"uid": 1000, "gid": 100, "additionalGids": [5]},
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}]},
    "annotations": {"io.kubernetes.cri.container-type": "container"},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid"]}],
    "hooks": {"prestart": [{"path": "/bin/hook", "args": ["hook", "x"], "timeout": 5}]},
    "linux": {"namespaces": [{"type": "pid"}, {"type": "network", "path": "/run/ns/net"}],
              "cgroupsPath": "/kubepods/c1", "sysctl": {"net.ipv4.ip_forward": "1"},
              "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438}],
              "resources": {"memory": {"limit": 1 << 28}, "cpu": {"shares": 512, "quota": 50000, "cpus": "0-1"},
                            "pids": {"limit": 100}, "unified": {"memory.high": "max"},
                            "devices": [{"allow": False, "access": "rwm"}],
                            "hugepageLimits": [{"pageSize": "2MB", "limit": 0}]}},
}


def _ctr(state="running"):
    cfg = cri_pb2.ContainerConfig(metadata=cri_pb2.ContainerMetadata(name="app"), labels={"l": "v"})
    return Container(id="c" * 64, pod_id="p" * 64, name_key="k", state=state, config=cfg.SerializeToString(),
                     created_ns=1, started_ns=2, finished_ns=3, exit_code=7, reason="Error", message="m", pid=99)


def test_container_message_from_record_and_spec():
    msg = convert.container_message(_ctr(), SPEC)
    assert (msg.id, msg.pod_sandbox_id, msg.name, msg.state) == ("c" * 64, "p" * 64, "app", nri_pb2.CONTAINER_RUNNING)
    assert dict(msg.labels) == {"l": "v"} and msg.annotations["io.kubernetes.cri.container-type"] == "container"
    assert (list(msg.args), list(msg.env)) == (["sleep", "9"], ["A=1"])
    assert (msg.created_at, msg.started_at, msg.finished_at, msg.exit_code, msg.pid) == (1, 2, 3, 7, 99)
    assert (msg.status_reason, msg.status_message) == ("Error", "m")
    assert [(m.destination, m.type, list(m.options)) for m in msg.mounts] == [("/proc", "proc", ["nosuid"])]
    hook = msg.hooks.prestart[0]
    assert (hook.path, list(hook.args), hook.timeout.value) == ("/bin/hook", ["hook", "x"], 5)
    assert (msg.user.uid, msg.user.gid, list(msg.user.additional_gids)) == (1000, 100, [5])
    assert [(r.type, r.hard, r.soft) for r in msg.rlimits] == [("RLIMIT_NOFILE", 1024, 512)]
    lx = msg.linux
    assert [(n.type, n.path) for n in lx.namespaces] == [("pid", ""), ("network", "/run/ns/net")]
    assert (lx.cgroups_path, dict(lx.sysctl), lx.oom_score_adj.value) == ("/kubepods/c1", {"net.ipv4.ip_forward": "1"},
                                                                          100)
    assert (lx.devices[0].path, lx.devices[0].major, lx.devices[0].file_mode.value) == ("/dev/fuse", 10, 438)
    res = lx.resources
    assert (res.memory.limit.value, res.cpu.shares.value, res.cpu.quota.value, res.cpu.cpus) == (1 << 28, 512, 50000,
                                                                                                  "0-1")
    assert not res.memory.HasField("swap") and not res.cpu.HasField("period")
    assert (res.pids.limit, dict(res.unified)) == (100, {"memory.high": "max"})
    assert (res.devices[0].allow, res.devices[0].access, res.devices[0].HasField("major")) == (False, "rwm", False)
    assert (res.hugepage_limits[0].page_size, res.hugepage_limits[0].limit) == ("2MB", 0)


def test_container_message_without_spec_uses_the_cri_config():
    cfg = cri_pb2.ContainerConfig(metadata=cri_pb2.ContainerMetadata(name="x"), command=["sh"], args=["-c", "true"],
                                  envs=[cri_pb2.KeyValue(key="K", value=b"V")], annotations={"n": "1"})
    ctr = Container(id="c", pod_id="p", name_key="k", state="creating", config=cfg.SerializeToString())
    msg = convert.container_message(ctr)
    assert (list(msg.args), list(msg.env), dict(msg.annotations)) == (["sh", "-c", "true"], ["K=V"], {"n": "1"})
    assert msg.state == nri_pb2.CONTAINER_CREATED and not msg.linux.HasField("resources") and not msg.mounts


def test_states():
    assert [convert.container_message(_ctr(s)).state for s in ("created", "running", "exited", "odd")] == [
        nri_pb2.CONTAINER_CREATED, nri_pb2.CONTAINER_RUNNING, nri_pb2.CONTAINER_STOPPED, nri_pb2.CONTAINER_UNKNOWN]
