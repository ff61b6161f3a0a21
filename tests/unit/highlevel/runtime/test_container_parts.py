"""Pure parts of containers: log paths, stop signals, exec failures, events, CRI conversions."""
import signal
import threading

import pytest
from gantry.api import cri_pb2
from gantry.highlevel import errors
from gantry.highlevel.cri import runtime_convert as rc
from gantry.highlevel.runtime import containers, execsync, specgen
from gantry.highlevel.runtime.events import Events
from gantry.highlevel.runtime.store import Container, Pod


@pytest.mark.parametrize("directory,path,want", [
    ("/var/log/pods/p", "app/0.log", "/var/log/pods/p/app/0.log"),
    ("/var/log/pods/p", "/app/0.log", "/var/log/pods/p/app/0.log"),      # joined like Go's filepath.Join
    ("/var/log/pods/p/", "./a/../b.log", "/var/log/pods/p/b.log"),
    ("/var/log/pods/p", "", ""),
])
def test_log_path_in(directory, path, want):
    assert containers.log_path_in(directory, path) == want


@pytest.mark.parametrize("directory,path", [
    ("/var/log/pods/p", "../q/0.log"), ("/var/log/pods/p", "a/../../../etc/passwd"), ("", "x.log"),
    ("/var/log/pods/p", "."),
])
def test_log_path_escapes_refused(directory, path):
    with pytest.raises(errors.InvalidArgument, match="config.log_path"):
        containers.log_path_in(directory, path)


@pytest.mark.parametrize("name,want", [
    ("", signal.SIGTERM), (None, signal.SIGTERM), ("SIGQUIT", signal.SIGQUIT), ("QUIT", signal.SIGQUIT),
    ("sigint", signal.SIGINT), ("9", 9), ("SIGRTMIN+3", None),
])
def test_stop_signal(name, want):
    if want is None:
        with pytest.raises(errors.InvalidArgument, match="StopSignal"):
            containers.stop_signal_number(name)
    else:
        assert containers.stop_signal_number(name) == want


@pytest.mark.parametrize("message,code", [
    ('exec: "nope": executable file not found in $PATH', 127),
    ("exec /bin/nope: no such file or directory", 127),
    ("exec /etc: permission denied", 126),
    ("container is paused", None),
])
def test_exec_start_failure_codes(message, code):
    assert execsync.start_failure_code(message) == code


def test_events_fan_out_and_slow_subscriber_dropped():
    events = Events(backlog=3)
    fast, slow = events.subscribe(), events.subscribe()
    got = []
    t = threading.Thread(target=lambda: got.extend(x for x in fast))
    t.start()
    for i in range(5):
        events.publish(i)
        while len(fast._queue):
            pass
    events.close()
    t.join(5)
    assert got == [0, 1, 2, 3, 4]
    assert list(slow) == [0, 1, 2]        # fell behind: its stream ended, it relists


def _pod(state="ready", labels=None):
    cfg = cri_pb2.PodSandboxConfig(metadata=cri_pb2.PodSandboxMetadata(name="web", namespace="ns", uid="u"),
                                   labels=labels or {"app": "web"})
    return Pod(id="ab" * 32, name_key="k", state=state, config=cfg.SerializeToString(), ips=["10.1.0.2", "fd00::2"])


def _ctr(state="running", labels=None):
    cfg = cri_pb2.ContainerConfig(metadata=cri_pb2.ContainerMetadata(name="app"), labels=labels or {"tier": "a"})
    cfg.image.image = "busybox"
    return Container(id="cd" * 32, pod_id="ab" * 32, name_key="k", state=state, config=cfg.SerializeToString(),
                     image_id="sha256:" + "e" * 64, image_ref="busybox", exit_code=0, stop_signal=signal.SIGQUIT)


@pytest.mark.parametrize("flt,match", [
    (None, True),
    (cri_pb2.PodSandboxFilter(id="abab"), True),
    (cri_pb2.PodSandboxFilter(id="cd"), False),
    (cri_pb2.PodSandboxFilter(state=cri_pb2.PodSandboxStateValue(state=cri_pb2.SANDBOX_NOTREADY)), False),
    (cri_pb2.PodSandboxFilter(state=cri_pb2.PodSandboxStateValue(state=cri_pb2.SANDBOX_READY)), True),
    (cri_pb2.PodSandboxFilter(label_selector={"app": "web"}), True),
    (cri_pb2.PodSandboxFilter(label_selector={"app": "db"}), False),
])
def test_pod_filter(flt, match):
    assert rc.pod_filter(flt)(_pod()) is match


@pytest.mark.parametrize("flt,match", [
    (cri_pb2.ContainerFilter(pod_sandbox_id="ab"), True),
    (cri_pb2.ContainerFilter(pod_sandbox_id="cd"), False),
    (cri_pb2.ContainerFilter(state=cri_pb2.ContainerStateValue(state=cri_pb2.CONTAINER_RUNNING)), True),
    (cri_pb2.ContainerFilter(state=cri_pb2.ContainerStateValue(state=cri_pb2.CONTAINER_EXITED)), False),
    (cri_pb2.ContainerFilter(label_selector={"tier": "b"}), False),
])
def test_container_filter(flt, match):
    assert rc.container_filter(flt)(_ctr()) is match


def test_status_messages():
    status = rc.pod_status(_pod())
    assert status.network.ip == "10.1.0.2" and status.network.additional_ips[0].ip == "fd00::2"
    assert status.state == cri_pb2.SANDBOX_READY and status.metadata.name == "web"
    cs = rc.container_status(_ctr("exited"), "busybox@sha256:" + "f" * 64,
                             spec={"process": {"user": {"uid": 1000, "gid": 100, "additionalGids": [5]}},
                                   "linux": {"resources": {"memory": {"limit": 1 << 20}}}})
    assert cs.state == cri_pb2.CONTAINER_EXITED and cs.image_ref.startswith("busybox@")
    assert cs.image.image == "sha256:" + "e" * 64 and cs.image.user_specified_image == "busybox"
    assert (cs.user.linux.uid, cs.user.linux.gid, list(cs.user.linux.supplemental_groups)) == (1000, 100, [5])
    assert cs.resources.linux.memory_limit_in_bytes == 1 << 20
    assert cs.stop_signal == cri_pb2.SIGQUIT


def test_resources_round_trip():
    r = cri_pb2.LinuxContainerResources(cpu_shares=512, cpu_quota=50000, cpu_period=100000, cpuset_cpus="0",
                                        memory_limit_in_bytes=1 << 26, memory_swap_limit_in_bytes=1 << 27)
    oci = specgen.linux_resources(r, "update", specgen.SpecDefaults())
    assert oci == {"cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
                   "memory": {"limit": 1 << 26, "swap": 1 << 27}}
    assert rc.resources_from_oci(oci) == r


def test_update_maps_resources_as_create_does():
    """A memory limit without a swap limit caps swap too, on update as on create; negatives are refused."""
    r = cri_pb2.LinuxContainerResources(memory_limit_in_bytes=1 << 26)
    assert specgen.linux_resources(r, "update", specgen.SpecDefaults()) == {
        "memory": {"limit": 1 << 26, "swap": 1 << 26}}
    assert specgen.linux_resources(r, "update", specgen.SpecDefaults(swap_limit=False)) == {
        "memory": {"limit": 1 << 26}}
    with pytest.raises(errors.InvalidArgument, match="update.cpu_shares"):
        specgen.linux_resources(cri_pb2.LinuxContainerResources(cpu_shares=-1), "update", specgen.SpecDefaults())
