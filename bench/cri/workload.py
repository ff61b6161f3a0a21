"""bench/cri's client side: what a kubelet asks of a CRI runtime, timed, the same for every peer.

One Python CRI client (gantry.api stubs on the peer's one long-lived channel):
- ``cycle``: a pod + busybox container (``sleep 3600``) through all eight calls, each timed;
- ``start_many``: N pods with one container each, started at once from N threads;
- ``memory``: PSS/RSS of the daemon and of its runtime processes.
"""
import itertools
import os
import threading
import time

from gantry.api import cri_pb2

from . import peers

_seq = itertools.count()
RPC_TIMEOUT = 120


def namespaces(peer):
    """The kubelet's default: one PID namespace per container (shareProcessNamespace off),
    the pod's network (or the host's: hostNetwork) and IPC."""
    return cri_pb2.NamespaceOption(network=cri_pb2.NODE if peer.host_network else cri_pb2.POD,
                                   pid=cri_pb2.CONTAINER, ipc=cri_pb2.POD)


def pod_config(peer, logs_dir):
    """A PodSandboxConfig as a kubelet sends it for a plain pod (cgroupfs parent, log dir)."""
    n = next(_seq)
    uid = "bench-%d-%d" % (os.getpid(), n)
    log_dir = os.path.join(logs_dir, uid)
    os.makedirs(log_dir, exist_ok=True)          # the kubelet makes it before RunPodSandbox
    return cri_pb2.PodSandboxConfig(
        metadata=cri_pb2.PodSandboxMetadata(name="bench%d" % n, namespace="bench", uid=uid, attempt=0),
        hostname="" if peer.host_network else "bench%d" % n,   # the kubelet sets none for hostNetwork
        log_directory=log_dir,
        labels={"bench": "cri"}, linux=cri_pb2.LinuxPodSandboxConfig(
            cgroup_parent=peer.cgroup_parent,
            security_context=cri_pb2.LinuxSandboxSecurityContext(namespace_options=namespaces(peer))))


def container_config(peer, image):
    return cri_pb2.ContainerConfig(
        metadata=cri_pb2.ContainerMetadata(name="sleeper", attempt=0), image=cri_pb2.ImageSpec(image=image),
        command=["sleep", "3600"], log_path="sleeper.log", labels={"bench": "cri"},
        linux=cri_pb2.LinuxContainerConfig(security_context=cri_pb2.LinuxContainerSecurityContext(
            namespace_options=namespaces(peer))))


def _timed(out, step, call):
    t0 = time.perf_counter()
    reply = call()
    out[step] = time.perf_counter() - t0
    return reply


def cycle(peer, image, logs_dir, handler=""):
    """One pod + container, all eight calls; returns {step: seconds, "cpu": CPU seconds the
    daemon and all it started used meanwhile}.  StopContainer's timeout
    is 0 (SIGKILL at once) on both sides: ``sleep`` as pid 1 ignores SIGTERM, so any grace
    period would be spent waiting in full."""
    rt, t = peer.runtime, {}
    config = pod_config(peer, logs_dir)
    cpu0 = peer.cpu.seconds()
    pod = _timed(t, "RunPodSandbox", lambda: rt.RunPodSandbox(
        cri_pb2.RunPodSandboxRequest(config=config, runtime_handler=handler), timeout=RPC_TIMEOUT)).pod_sandbox_id
    cid = _timed(t, "CreateContainer", lambda: rt.CreateContainer(cri_pb2.CreateContainerRequest(
        pod_sandbox_id=pod, config=container_config(peer, image), sandbox_config=config), timeout=RPC_TIMEOUT)).container_id
    _timed(t, "StartContainer", lambda: rt.StartContainer(cri_pb2.StartContainerRequest(container_id=cid),
                                                          timeout=RPC_TIMEOUT))
    r = _timed(t, "ExecSync", lambda: rt.ExecSync(cri_pb2.ExecSyncRequest(container_id=cid, cmd=["true"], timeout=10),
                                                 timeout=RPC_TIMEOUT))
    if r.exit_code != 0:
        raise RuntimeError("%s: ExecSync true exited %d: %r" % (peer.name, r.exit_code, r.stderr))
    _timed(t, "StopContainer", lambda: rt.StopContainer(cri_pb2.StopContainerRequest(container_id=cid, timeout=0),
                                                        timeout=RPC_TIMEOUT))
    _timed(t, "RemoveContainer", lambda: rt.RemoveContainer(cri_pb2.RemoveContainerRequest(container_id=cid),
                                                            timeout=RPC_TIMEOUT))
    _timed(t, "StopPodSandbox", lambda: rt.StopPodSandbox(cri_pb2.StopPodSandboxRequest(pod_sandbox_id=pod),
                                                          timeout=RPC_TIMEOUT))
    _timed(t, "RemovePodSandbox", lambda: rt.RemovePodSandbox(cri_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod),
                                                              timeout=RPC_TIMEOUT))
    t["cpu"] = peer.cpu.seconds() - cpu0
    return t


def start_pod(peer, image, logs_dir, handler=""):
    """RunPodSandbox + CreateContainer + StartContainer; returns (pod id, container id)."""
    rt = peer.runtime
    config = pod_config(peer, logs_dir)
    pod = rt.RunPodSandbox(cri_pb2.RunPodSandboxRequest(config=config, runtime_handler=handler),
                           timeout=RPC_TIMEOUT).pod_sandbox_id
    cid = rt.CreateContainer(cri_pb2.CreateContainerRequest(pod_sandbox_id=pod, config=container_config(peer, image),
                                                            sandbox_config=config), timeout=RPC_TIMEOUT).container_id
    rt.StartContainer(cri_pb2.StartContainerRequest(container_id=cid), timeout=RPC_TIMEOUT)
    return pod, cid


def start_many(peer, image, logs_dir, count, handler=""):
    """``count`` pods started at once from as many threads on the one channel.  Returns
    {"wall": s from the release of all threads to the last StartContainer returning,
    "each": [s per pod], "pods": [pod ids], "cpu": CPU s of the daemon and all it started};
    the pods are left running."""
    each, pods, errors = [0.0] * count, [None] * count, []
    cpu0 = peer.cpu.seconds()
    ready = threading.Barrier(count + 1)

    def one(i):
        ready.wait()
        t0 = time.perf_counter()
        try:
            pods[i] = start_pod(peer, image, logs_dir, handler)[0]
        except Exception as e:   # reported after the join, with the others
            errors.append(e)
        each[i] = time.perf_counter() - t0

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for th in threads:
        th.start()
    ready.wait()
    t0 = time.perf_counter()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    if errors:
        raise RuntimeError("%s: %d of %d concurrent pods failed, first: %s" % (peer.name, len(errors), count, errors[0]))
    states = peer.runtime.ListContainers(cri_pb2.ListContainersRequest(), timeout=RPC_TIMEOUT).containers
    running = sum(1 for c in states if c.state == cri_pb2.CONTAINER_RUNNING and c.pod_sandbox_id in pods)
    if running != count:
        raise RuntimeError("%s: %d of %d containers running after the concurrent start" % (peer.name, running, count))
    return {"wall": wall, "each": each, "pods": pods, "cpu": peer.cpu.seconds() - cpu0}


def remove_pods(peer, pods):
    for pod in pods:
        peer.runtime.StopPodSandbox(cri_pb2.StopPodSandboxRequest(pod_sandbox_id=pod), timeout=RPC_TIMEOUT)
        peer.runtime.RemovePodSandbox(cri_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod), timeout=RPC_TIMEOUT)


def memory_of(peer):
    """((PSS, RSS) of the daemon, {kind: [(PSS, RSS) per process]} of its runtime processes)."""
    return peers.smaps(peer.pid), {k: [peers.smaps(p) for p in pids] for k, pids in peer.runtime_processes().items()}
