"""The runtime half of gantryd, put together: store, shims, handlers, network, pods, containers.

    runtime = Runtime.open(cfg, images, image_store)   # recovers what is on disk first
    runtime.pods, runtime.containers, runtime.ctx, runtime.readiness(condition)
    runtime.close()                                     # containers keep running

``readiness`` answers the CRI Status conditions: RuntimeReady when a runtime
handler exists and the shim template answers; NetworkReady from the network
plugin (false, with the reason, when none is configured).
"""
import logging
import os

from . import handlers as handlermod
from .containers import Containers
from .context import RuntimeContext
from .events import Events
from .pods import Pods
from .recovery import recover
from .shims import Shims
from .store import RuntimeStore

log = logging.getLogger("gantry.runtime")


class Runtime:
    def __init__(self, ctx, pods, containers, streaming=None):
        self.ctx = ctx
        self.pods = pods
        self.containers = containers
        self.streaming = streaming

    @classmethod
    def open(cls, cfg, images, image_store):
        for sub in ("pods", "containers", "shims", "runtimes"):
            os.makedirs(os.path.join(cfg.state, sub), mode=0o711, exist_ok=True)
        ctx = RuntimeContext(state=cfg.state, store=RuntimeStore(os.path.join(cfg.root, "runtime.db")),
                             images=images, image_store=image_store, shims=Shims(cfg.state),
                             handlers=handlermod.from_config(cfg), events=Events(),
                             network=open_network(cfg), cgroup_driver=cfg.cgroup_driver,
                             spec_defaults=spec_defaults(cfg))
        pods = Pods(ctx)
        containers = Containers(ctx, pods)
        pods.containers = containers
        recover(ctx, pods, containers)
        runtime = cls(ctx, pods, containers)
        runtime.streaming = open_streaming(cfg, runtime)
        return runtime

    # -- what the streaming server looks up ----------------------------------------------
    def streaming_container(self, ctr_id):
        from ..streaming.backend import ContainerRef

        ctr = self.containers.get(ctr_id, "streaming")
        process = self.containers.spec_of(ctr).get("process", {}) if ctr.state in ("created", "running") else {}
        return ContainerRef(id=ctr.id, shim_address=ctr.shim_address, tty=ctr.tty, stdin=ctr.stdin,
                            stdin_once=ctr.stdin_once, running=ctr.state == "running", process=process)

    def streaming_pod(self, pod_id):
        from ..streaming.backend import PodRef

        pod = self.pods.get(pod_id, "PortForward")
        return PodRef(id=pod.id, netns_path=pod.namespaces.get("network"))

    def readiness(self, condition):
        if condition == "RuntimeReady":
            if not any(self.ctx.handlers.values()):
                return False, "NoRuntimeHandler", "no OCI runtime binary was found"
            return True, "", ""
        return self.ctx.network.status()

    def close(self):
        self.ctx.hooks.close()
        if self.streaming is not None:
            self.streaming.stop()
        self.ctx.shims.close()
        if self.ctx.network is not None:
            self.ctx.network.close()
        self.ctx.store.close()


def spec_defaults(cfg):
    """What this host lets containers have (capabilities, swap, hugetlb, cgroup namespaces)."""
    from . import hostfacts, specgen

    return specgen.SpecDefaults(all_caps=hostfacts.current_capabilities(),
                                swap_limit=hostfacts.swap_limit_supported(),
                                hugetlb=hostfacts.hugetlb_supported(),
                                cgroup_namespace=hostfacts.cgroup_unified(),
                                node_hostname=os.uname().nodename)


def open_streaming(cfg, runtime):
    """The exec/attach/port-forward server (highlevel/streaming/), serving from now on."""
    from ..streaming.backend import ShimBackend
    from ..streaming.server import StreamingServer

    server = StreamingServer(ShimBackend(runtime.streaming_container, runtime.streaming_pod),
                             address=cfg.streaming_address, port=cfg.streaming_port)
    server.start()
    log.info("streaming server listening", extra={"fields": {"url": server.url_base}})
    return server


def open_network(cfg):
    """The pod network of the configuration ([network] mode: bridge, cni or none)."""
    from .. import network

    return network.from_config(cfg, cfg.root, cfg.state)
