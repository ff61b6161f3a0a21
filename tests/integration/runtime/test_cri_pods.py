"""gantryd's RuntimeService end to end: pods and containers over CRI, probed from the inside.

Each test starts a real gantryd (tests/integration/gantryd_proc.py) on a private root and
state, pulls a busybox image from a real registry on 127.0.0.1 and drives pods and
containers with a Python CRI client the way a kubelet does.
"""
import os
import subprocess
import time

import grpc
import pytest
from gantry.api import cri_pb2

from .criclient import container_config, pod_config, read_log

pytestmark = [pytest.mark.root]

PROBE = r"""
echo "hostname=$(hostname)"
echo "pid=$$"
echo "id=$(id -u):$(id -g)"
echo "env=$FROM_IMAGE/$FROM_CRI"
echo "hosts=$(grep -c localhost /etc/hosts)"
echo "lo=$(cat /sys/class/net/lo/operstate)"
echo "shm=$(awk '$2 == "/dev/shm" {print $3}' /proc/mounts)"
echo "to stderr" >&2
"""


def _code(call):
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


def test_pod_and_container_lifecycle(cri, busybox_ref, tmp_path):
    logs = str(tmp_path / "logs")
    pcfg = pod_config(log_dir=logs, hostname="probe-host")
    pod = cri.run_pod(pcfg)
    assert cri.pod_status(pod).status.state == cri_pb2.SANDBOX_READY
    cfg = container_config(busybox_ref[0], command=["sh", "-c", PROBE], log_path="probe/0.log",
                           envs=[cri_pb2.KeyValue(key="FROM_CRI", value=b"cri")])
    cid = cri.create(pod, pcfg, cfg)
    st = cri.status(cid)
    assert st.state == cri_pb2.CONTAINER_CREATED and st.image_id == busybox_ref[1]
    assert st.log_path == os.path.join(logs, "probe/0.log")
    cri.start(cid)
    st = cri.wait_state(cid, cri_pb2.CONTAINER_EXITED)
    assert (st.exit_code, st.reason) == (0, "Completed")
    assert st.started_at and st.finished_at >= st.started_at
    log = read_log(st.log_path)
    assert "hostname=probe-host" in log["stdout"] and "pid=1" in log["stdout"]
    assert "id=0:0" in log["stdout"] and "env=yes/cri" in log["stdout"]
    assert "lo=unknown" in log["stdout"] or "lo=up" in log["stdout"]
    assert "shm=tmpfs" in log["stdout"] and log["stderr"] == ["to stderr"]
    assert [c.id for c in cri.containers(pod_sandbox_id=pod)] == [cid]
    cri.remove(cid)
    cri.remove(cid)                          # idempotent
    assert cri.containers() == []
    cri.stop_pod(pod)
    assert cri.pod_status(pod).status.state == cri_pb2.SANDBOX_NOTREADY
    cri.stop_pod(pod)
    cri.remove_pod(pod)
    cri.remove_pod(pod)
    assert cri.pods() == []
    cri.stop_pod("0" * 64)                   # unknown: no error, as kubelet expects
    cri.stop(("0" * 64))


def test_exec_sync_and_stop(cri, busybox_ref):
    pcfg = pod_config()
    pod = cri.run_pod(pcfg)
    cid = cri.run(pod, pcfg, container_config(busybox_ref[0], command=["sh", "-c", "trap '' TERM; sleep 1000"]))
    cri.wait_state(cid, cri_pb2.CONTAINER_RUNNING)
    r = cri.exec_sync(cid, ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (r.stdout, r.stderr, r.exit_code) == (b"out\n", b"err\n", 3)
    r = cri.exec_sync(cid, ["/no/such/binary"])
    assert r.exit_code in (126, 127)
    started = time.monotonic()
    code, details = _code(lambda: cri.exec_sync(cid, ["sleep", "60"], timeout=1))
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED and time.monotonic() - started < 15
    inside = cri.exec_sync(cid, ["ps", "-o", "args"]).stdout          # seen from inside: killed
    assert b"sleep 1000" in inside and b"sleep 60" not in inside
    started = time.monotonic()
    cri.stop(cid, timeout=2)                 # TERM is ignored: killed after the timeout
    elapsed = time.monotonic() - started
    st = cri.status(cid)
    assert st.state == cri_pb2.CONTAINER_EXITED and st.exit_code == 137 and 1.5 < elapsed < 15
    cri.stop(cid, timeout=2)                 # already stopped: fine
    cri.remove_pod(pod)
    assert cri.containers() == [] and cri.pods() == []


def test_bad_requests_change_nothing(cri, busybox_ref, tmp_path):
    pcfg = pod_config(log_dir=str(tmp_path / "logs"))
    code, details = _code(lambda: cri.run_pod(pcfg, handler="kata"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "kata" in details
    pod = cri.run_pod(pcfg)
    code, details = _code(lambda: cri.run_pod(pcfg))
    assert code == grpc.StatusCode.ALREADY_EXISTS
    code, details = _code(lambda: cri.create(pod, pcfg, container_config("no/such:image", command=["true"])))
    assert code == grpc.StatusCode.NOT_FOUND and "no/such:image" in details
    code, details = _code(lambda: cri.create(pod, pcfg, container_config(
        busybox_ref[0], command=["true"], log_path="../../escape.log")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "log_path" in details
    code, details = _code(lambda: cri.create(pod, pcfg, container_config(
        busybox_ref[0], command=["true"],
        mounts=[cri_pb2.Mount(container_path="/data", host_path=str(tmp_path / "missing"))])))
    assert code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND) and "missing" in details
    code, details = _code(lambda: cri.create("f" * 64, pcfg, container_config(busybox_ref[0])))
    assert code == grpc.StatusCode.NOT_FOUND
    cfg = container_config(busybox_ref[0], command=["true"], name="same")
    cri.create(pod, pcfg, cfg)
    code, details = _code(lambda: cri.create(pod, pcfg, cfg))
    assert code == grpc.StatusCode.ALREADY_EXISTS and "same" in details
    assert len(cri.containers()) == 1 and len(cri.pods()) == 1
    code, _ = _code(lambda: cri.rt.PodSandboxStatus(cri_pb2.PodSandboxStatusRequest(pod_sandbox_id="f" * 64)))
    assert code == grpc.StatusCode.NOT_FOUND
    cri.remove_pod(pod)


def test_pod_shares_one_pid_namespace(cri, busybox_ref):
    opts = cri_pb2.NamespaceOption(pid=cri_pb2.POD)
    pcfg = pod_config()
    pcfg.linux.security_context.namespace_options.CopyFrom(opts)
    pod = cri.run_pod(pcfg)
    cfg = container_config(busybox_ref[0], command=["sleep", "1000"])
    cfg.linux.security_context.namespace_options.CopyFrom(opts)
    cid = cri.run(pod, pcfg, cfg)
    cri.wait_state(cid, cri_pb2.CONTAINER_RUNNING)
    out = cri.exec_sync(cid, ["cat", "/proc/1/cmdline"]).stdout
    assert out.rstrip(b"\0") == b"/pause"
    cri.remove_pod(pod)


def test_restart_harms_nothing(gantryd, cri, busybox_ref, tmp_path):
    pcfg = pod_config(log_dir=str(tmp_path / "logs"))
    pod = cri.run_pod(pcfg)
    ticker = cri.run(pod, pcfg, container_config(
        busybox_ref[0], command=["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.05; done"],
        log_path="ticker.log"))
    short = cri.run(pod, pcfg, container_config(busybox_ref[0], command=["sh", "-c", "sleep 2; exit 7"]))
    cri.wait_state(ticker, cri_pb2.CONTAINER_RUNNING)
    gantryd.kill()                           # kill -9: no goodbye
    time.sleep(3)                            # `short` exits while gantryd is away
    gantryd.start()
    from .criclient import Cri

    cri = Cri(gantryd)
    st = cri.status(short)
    assert st.state == cri_pb2.CONTAINER_EXITED and st.exit_code == 7
    assert cri.status(ticker).state == cri_pb2.CONTAINER_RUNNING
    lines = read_log(cri.status(ticker).log_path)["stdout"]
    numbers = [int(line.split()[1]) for line in lines]
    assert numbers == list(range(len(numbers))) and len(numbers) > 40      # nothing lost while down
    assert cri.exec_sync(ticker, ["echo", "hi"]).stdout == b"hi\n"
    gantryd.stop()                           # SIGTERM: the containers keep running
    gantryd.start()
    cri = Cri(gantryd)
    assert cri.status(ticker).state == cri_pb2.CONTAINER_RUNNING
    cri.stop(ticker, timeout=1)
    assert cri.status(ticker).state == cri_pb2.CONTAINER_EXITED
    cri.remove_pod(pod)


def test_exec_after_a_restart_runs_in_the_shims_warm_process(gantryd, cri, busybox_ref):
    """The shim's pre-started gantry-oci (shim/warmexec.py) is the shim's, not gantryd's: it
    survives gantryd's kill -9 and runs the first exec after the restart."""
    from tests.integration.shim.conftest import wait_for, warm_children

    pcfg = pod_config()
    pod = cri.run_pod(pcfg)
    cid = cri.run(pod, pcfg, container_config(busybox_ref[0], command=["sleep", "1000"]))
    cri.wait_state(cid, cri_pb2.CONTAINER_RUNNING)
    assert cri.exec_sync(cid, ["echo", "before"]).stdout == b"before\n"
    with open(os.path.join(gantryd.state, "shims", cid[:16], "shim.pid")) as f:
        shim_pid = int(f.read())
    warm = wait_for(lambda: warm_children(shim_pid), what="the shim's warm process")[0]
    gantryd.kill()
    gantryd.start()
    from .criclient import Cri

    cri = Cri(gantryd)
    assert warm in warm_children(shim_pid)
    r = cri.exec_sync(cid, ["sh", "-c", "echo after; exit 3"])
    assert (r.stdout, r.exit_code) == (b"after\n", 3)
    assert warm not in warm_children(shim_pid)   # it ran that exec (and a new one waits)
    following = wait_for(lambda: warm_children(shim_pid), what="the next warm process")[0]
    cri.remove_pod(pod)
    assert not os.path.exists("/proc/%d" % following), "a warm process outlived its container"


def _leftovers(gd):
    mounts = open("/proc/self/mountinfo").read()
    state = gd.state
    return {
        "mounts": [line for line in mounts.splitlines() if state in line],
        # shims are forks of the template and carry its command line: only the template may be left
        "shims": len(subprocess.run(["pgrep", "-f", "gantry-shim.*%s" % state], capture_output=True,
                                    text=True).stdout.split()) - 1,
        "pods": os.listdir(os.path.join(state, "pods")), "containers": os.listdir(os.path.join(state, "containers")),
        "shim_dirs": os.listdir(os.path.join(state, "shims")),
    }


def _fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def _rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_cycles_leave_nothing(gantryd, cri, busybox_ref):
    def cycle():
        pcfg = pod_config()
        pod = cri.run_pod(pcfg)
        cid = cri.run(pod, pcfg, container_config(busybox_ref[0], command=["sleep", "100"]))
        cri.stop(cid)
        cri.remove(cid)
        cri.stop_pod(pod)
        cri.remove_pod(pod)

    for _ in range(3):
        cycle()                              # warm: the shim template, gRPC threads, caches
    fds, rss = _fds(gantryd.proc.pid), _rss_kib(gantryd.proc.pid)
    cycles = int(os.environ.get("GANTRY_CYCLES", "100"))
    for _ in range(cycles):
        cycle()
    left = _leftovers(gantryd)
    grown = _rss_kib(gantryd.proc.pid) - rss
    print("%d cycles: gantryd fds %d -> %d, RSS %+d KiB; left %s" % (cycles, fds, _fds(gantryd.proc.pid), grown, left))
    assert left == {"mounts": [], "shims": 0, "pods": [], "containers": [], "shim_dirs": []}
    assert _fds(gantryd.proc.pid) <= fds + 2     # no descriptor leaks per cycle
    assert grown < 4096 + 8 * cycles             # no memory kept per cycle (allocator noise aside)


def test_image_volumes(cri, busybox_ref):
    pcfg = pod_config()
    pod = cri.run_pod(pcfg)
    image = cri_pb2.ImageSpec(image=busybox_ref[0])
    cfg = container_config(busybox_ref[0], command=["sleep", "1000"], mounts=[
        cri_pb2.Mount(container_path="/vol", readonly=True, image=image),
        cri_pb2.Mount(container_path="/etcvol", readonly=True, image=image, image_sub_path="etc")])
    cid = cri.run(pod, pcfg, cfg)
    cri.wait_state(cid, cri_pb2.CONTAINER_RUNNING)
    assert cri.exec_sync(cid, ["/vol/bin/ls", "/vol/bin/sh"]).exit_code == 0
    assert cri.exec_sync(cid, ["touch", "/vol/x"]).exit_code != 0
    assert cri.exec_sync(cid, ["cat", "/etcvol/passwd"]).stdout.startswith(b"root:")
    mounts = {m.container_path: m for m in cri.status(cid).mounts}
    assert mounts["/vol"].image.image_ref == busybox_ref[1]
    code, details = _code(lambda: cri.create(pod, pcfg, container_config(busybox_ref[0], mounts=[
        cri_pb2.Mount(container_path="/vol", readonly=False, image=image)])))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "read-only" in details
    code, details = _code(lambda: cri.create(pod, pcfg, container_config(busybox_ref[0], mounts=[
        cri_pb2.Mount(container_path="/vol", readonly=True, image=image, image_sub_path="no/such")])))
    assert code == grpc.StatusCode.NOT_FOUND and "no/such" in details
    cri.remove_pod(pod)
    mounts = open("/proc/self/mountinfo").read()
    assert "imagevols" not in mounts


def test_events_update_and_stats(gantryd, cri, busybox_ref):
    import threading

    stream = cri.rt.GetContainerEvents(cri_pb2.GetEventsRequest())
    seen = []

    def read():
        try:
            for e in stream:
                seen.append((e.container_id, e.container_event_type))
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.CANCELLED

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.3)                          # subscribed before anything happens
    pcfg = pod_config()
    pod = cri.run_pod(pcfg)
    cid = cri.run(pod, pcfg, container_config(busybox_ref[0], command=["sleep", "1000"]))
    cri.wait_state(cid, cri_pb2.CONTAINER_RUNNING)
    cri.rt.UpdateContainerResources(cri_pb2.UpdateContainerResourcesRequest(
        container_id=cid, linux=cri_pb2.LinuxContainerResources(memory_limit_in_bytes=96 << 20, cpu_shares=256)))
    assert cri.status(cid).resources.linux.memory_limit_in_bytes == 96 << 20
    limit = cri.exec_sync(cid, ["sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || "
                                            "cat /sys/fs/cgroup/memory.max"]).stdout
    assert int(limit) == 96 << 20
    stats = cri.rt.ContainerStats(cri_pb2.ContainerStatsRequest(container_id=cid)).stats
    assert stats.attributes.id == cid and stats.memory.working_set_bytes.value > 0
    assert stats.cpu.usage_core_nano_seconds.value > 0
    listed = cri.rt.ListPodSandboxStats(cri_pb2.ListPodSandboxStatsRequest()).stats
    assert [s.attributes.id for s in listed] == [pod]
    cri.stop(cid)
    cri.remove(cid)
    cri.remove_pod(pod)
    time.sleep(0.3)
    stream.cancel()
    reader.join(5)
    E = cri_pb2
    assert (cid, E.CONTAINER_CREATED_EVENT) in seen and (cid, E.CONTAINER_STARTED_EVENT) in seen
    assert (cid, E.CONTAINER_STOPPED_EVENT) in seen and (cid, E.CONTAINER_DELETED_EVENT) in seen
    assert (pod, E.CONTAINER_CREATED_EVENT) in seen and (pod, E.CONTAINER_DELETED_EVENT) in seen
    order = [t for i, t in seen if i == cid]
    assert order == sorted(order)


def test_pods_reach_each_other_and_host_ports(cri, busybox_ref):
    server_cfg = pod_config(hostname="server")
    server_cfg.port_mappings.add(protocol=cri_pb2.TCP, container_port=8080, host_port=18080, host_ip="127.0.0.1")
    server = cri.run_pod(server_cfg)
    ip = cri.pod_status(server).status.network.ip
    assert ip.startswith("10.87.250.")
    web = cri.run(server, server_cfg, container_config(busybox_ref[0], command=["httpd", "-f", "-p", "8080", "-h", "/etc"]))
    cri.wait_state(web, cri_pb2.CONTAINER_RUNNING)
    client_cfg = pod_config()
    client = cri.run_pod(client_cfg)
    assert cri.pod_status(client).status.network.ip not in ("", ip)
    cid = cri.run(client, client_cfg, container_config(busybox_ref[0], command=["sleep", "1000"]))
    cri.wait_state(cid, cri_pb2.CONTAINER_RUNNING)
    got = b""
    for _ in range(50):                      # httpd may take a moment to listen
        r = cri.exec_sync(cid, ["wget", "-q", "-O", "-", "http://%s:8080/hostname" % ip])
        got = r.stdout
        if r.exit_code == 0:
            break
        time.sleep(0.1)
    assert got == b"server\n"                # pod to pod, and the server pod's /etc/hostname
    import urllib.request

    with urllib.request.urlopen("http://127.0.0.1:18080/hostname", timeout=10) as resp:
        assert resp.read() == b"server\n"    # host port on 127.0.0.1 (hairpin)
    cri.remove_pod(client)
    cri.remove_pod(server)
    with pytest.raises(OSError):
        urllib.request.urlopen("http://127.0.0.1:18080/hostname", timeout=2)
