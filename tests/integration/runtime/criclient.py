"""A small CRI client for the runtime tests: pods and containers in a few calls, like a kubelet makes them."""
import os
import time
import uuid

from gantry.api import cri_pb2

TIMEOUT = 60


def pod_config(name=None, log_dir=None, hostname="", **kw):
    name = name or "pod-" + uuid.uuid4().hex[:8]
    cfg = cri_pb2.PodSandboxConfig(
        metadata=cri_pb2.PodSandboxMetadata(name=name, namespace="gantry-test", uid=uuid.uuid4().hex, attempt=0),
        hostname=hostname or name, log_directory=log_dir or "", labels={"test": "gantry"}, **kw)
    # a kubelet's default: each container has its own PID namespace (no shareProcessNamespace)
    cfg.linux.security_context.namespace_options.pid = cri_pb2.CONTAINER
    return cfg


def container_config(image, command=None, args=None, name=None, log_path="", **kw):
    cfg = cri_pb2.ContainerConfig(metadata=cri_pb2.ContainerMetadata(name=name or "ctr-" + uuid.uuid4().hex[:8]),
                                  image=cri_pb2.ImageSpec(image=image), command=command or [], args=args or [],
                                  log_path=log_path, **kw)
    cfg.linux.security_context.namespace_options.pid = cri_pb2.CONTAINER
    return cfg


class Cri:
    def __init__(self, gd):
        self.rt = gd.runtime
        self.im = gd.images

    def pull(self, ref):
        return self.im.PullImage(cri_pb2.PullImageRequest(image=cri_pb2.ImageSpec(image=ref)), timeout=120).image_ref

    def run_pod(self, cfg, handler=""):
        return self.rt.RunPodSandbox(cri_pb2.RunPodSandboxRequest(config=cfg, runtime_handler=handler),
                                     timeout=TIMEOUT).pod_sandbox_id

    def create(self, pod_id, pod_cfg, cfg):
        return self.rt.CreateContainer(cri_pb2.CreateContainerRequest(
            pod_sandbox_id=pod_id, config=cfg, sandbox_config=pod_cfg), timeout=TIMEOUT).container_id

    def start(self, cid):
        self.rt.StartContainer(cri_pb2.StartContainerRequest(container_id=cid), timeout=TIMEOUT)

    def run(self, pod_id, pod_cfg, cfg):
        cid = self.create(pod_id, pod_cfg, cfg)
        self.start(cid)
        return cid

    def status(self, cid, verbose=False):
        return self.rt.ContainerStatus(cri_pb2.ContainerStatusRequest(container_id=cid, verbose=verbose),
                                       timeout=TIMEOUT).status

    def pod_status(self, pod_id, verbose=False):
        return self.rt.PodSandboxStatus(cri_pb2.PodSandboxStatusRequest(pod_sandbox_id=pod_id, verbose=verbose),
                                        timeout=TIMEOUT)

    def wait_state(self, cid, state, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            st = self.status(cid)
            if st.state == state:
                return st
            if time.monotonic() > deadline:
                raise AssertionError("container %s is %s, not %s" % (cid, st.state, state))
            time.sleep(0.05)

    def exec_sync(self, cid, cmd, timeout=10):
        return self.rt.ExecSync(cri_pb2.ExecSyncRequest(container_id=cid, cmd=cmd, timeout=timeout),
                                timeout=timeout + 30)

    def stop(self, cid, timeout=0):
        self.rt.StopContainer(cri_pb2.StopContainerRequest(container_id=cid, timeout=timeout), timeout=TIMEOUT)

    def remove(self, cid):
        self.rt.RemoveContainer(cri_pb2.RemoveContainerRequest(container_id=cid), timeout=TIMEOUT)

    def stop_pod(self, pod_id):
        self.rt.StopPodSandbox(cri_pb2.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=TIMEOUT)

    def remove_pod(self, pod_id):
        self.rt.RemovePodSandbox(cri_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=TIMEOUT)

    def pods(self, **flt):
        req = cri_pb2.ListPodSandboxRequest(filter=cri_pb2.PodSandboxFilter(**flt)) if flt else \
            cri_pb2.ListPodSandboxRequest()
        return self.rt.ListPodSandbox(req, timeout=TIMEOUT).items

    def containers(self, **flt):
        req = cri_pb2.ListContainersRequest(filter=cri_pb2.ContainerFilter(**flt)) if flt else \
            cri_pb2.ListContainersRequest()
        return self.rt.ListContainers(req, timeout=TIMEOUT).containers


def read_log(path):
    """The content of a CRI log's full lines, per stream: {"stdout": [...], "stderr": [...]}."""
    out = {"stdout": [], "stderr": []}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 3)
            if len(parts) == 4:
                out[parts[1]].append(parts[3])
    return out
