"""Pod cycles through gantryd leak nothing, in both network modes (GANTRY_POD_CYCLES, default 25).

Each cycle is what a kubelet does for a short-lived pod: RunPodSandbox with a host port,
PodSandboxStatus (the pod has its address), StopPodSandbox, RemovePodSandbox.  Before and after,
the counts of what pods hold must be the same: addresses (IPAM rows or host-local files), cache
entries (CNI cache files or the bridge's pod records), bridge ports (veths), host-port rules,
pod dirs with their netns files, nsfs and /dev/shm mounts, and gantryd's own fds and threads.
(By hand on this machine: 1,000 cycles in each mode, the same counts, see the branch's report.)
"""
import os

import pytest
from gantry.api import cri_pb2
from gantry.highlevel.network.links import bridge_ports

from .criclient import Cri, pod_config

pytestmark = [pytest.mark.root, pytest.mark.slow]
CYCLES = int(os.environ.get("GANTRY_POD_CYCLES", "25"))


def held(gd, mode):
    state = gd.state
    mine = [line for line in open("/proc/self/mountinfo") if line.split()[4].startswith(state + "/")]
    nsfs = sum(1 for line in mine if " nsfs " in line)
    shm = sum(1 for line in mine if " tmpfs " in line and line.split()[4].endswith("/shm"))
    return {"addresses": len(mode.reserved_ips(gd)), "cache": len(mode.cache_files(gd)),
            "bridge ports": len(bridge_ports(mode.bridge)), "rules": len(mode.rules()),
            "pod dirs": len(os.listdir(os.path.join(state, "pods"))), "nsfs mounts": nsfs, "shm mounts": shm,
            "gantryd fds": len(os.listdir("/proc/%d/fd" % gd.proc.pid)),
            "gantryd threads": len(os.listdir("/proc/%d/task" % gd.proc.pid))}


def one_cycle(cri, host_port):
    cfg = pod_config()
    cfg.port_mappings.add(protocol=cri_pb2.TCP, container_port=80, host_port=host_port)
    pod = cri.run_pod(cfg)
    assert cri.pod_status(pod).status.network.ip
    cri.stop_pod(pod)
    cri.remove_pod(pod)


def test_pod_cycles_leak_nothing(net_gantryd):
    gantryd, mode = net_gantryd
    cri = Cri(gantryd)
    for _ in range(3):                    # the bridge, base chains and most pool threads exist from here on
        one_cycle(cri, 32090)
    before = held(gantryd, mode)
    for _ in range(CYCLES):
        one_cycle(cri, 32090)
    after = held(gantryd, mode)
    # a pool (gRPC's, the shims') may still start a worker or two late; a leak grows with every cycle
    threads = after.pop("gantryd threads") - before.pop("gantryd threads")
    assert threads <= 2, "gantryd has %d more threads after %d pod cycles" % (threads, CYCLES)
    assert before == after
    assert after["addresses"] == after["cache"] == after["bridge ports"] == after["rules"] == after["pod dirs"] == 0
