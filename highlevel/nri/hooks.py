"""NriHooks: the runtime's hook points (runtime/hooks.py) turned into NRI events.

    hooks = NriHooks.open(ctx, socket_path, registration_timeout, request_timeout)
    ctx.hooks = hooks                         Runtime.open does this when [nri] enable = true

Before-events whose error fails the CRI call: RunPodSandbox, CreateContainer
(its adjustments are applied to the OCI spec), StartContainer,
UpdateContainer (its updates of the same container change the resources
about to be applied).  The others are told, and a plugin's error is logged.
Updates a plugin asks for other containers (CreateContainer, UpdateContainer,
StopContainer, Synchronize, UpdateContainers) are applied through the shim
straight away, without another UpdateContainer event.

A pod or container is in a new plugin's Synchronize once its Run/Create
event has gone out, even before the CRI call ends (``announced``), so none
falls between the snapshot and the events.
"""
import json
import logging
import os

from gantry.api import nri_pb2

from .. import errors
from ..runtime.hooks import Hooks
from . import adjust, convert
from .adaptation import Adaptation

log = logging.getLogger("gantry.nri")
E = nri_pb2


class NriHooks(Hooks):
    def __init__(self, ctx, adaptation=None):
        self.ctx = ctx
        self.nri = adaptation
        self.announced = set()            # ids of pods/containers still "creating" that plugins were told of

    @classmethod
    def open(cls, ctx, socket_path, registration_timeout=5.0, request_timeout=2.0):
        hooks = cls(ctx)
        hooks.nri = Adaptation(socket_path, hooks.snapshot, hooks.apply_updates,
                               registration_timeout=registration_timeout, request_timeout=request_timeout)
        hooks.nri.start()
        return hooks

    # -- what a new plugin is synchronized with ------------------------------------------------
    def snapshot(self):
        store = self.ctx.store
        pods = [p for p in store.pods() if p.state != "creating" or p.id in self.announced]
        ctrs = [c for c in store.containers() if c.state != "creating" or c.id in self.announced]
        self.announced &= {p.id for p in pods if p.state == "creating"} | {c.id for c in ctrs if c.state == "creating"}
        return [convert.pod_message(p) for p in pods], [self._ctr_msg(c) for c in ctrs]

    def _ctr_msg(self, ctr, spec=None):
        if spec is None:
            try:
                with open(os.path.join(ctr.bundle, "config.json")) as f:
                    spec = json.load(f)
            except (OSError, ValueError):
                spec = {}
        return convert.container_message(ctr, spec)

    # -- pods -----------------------------------------------------------------------------------
    def run_pod_sandbox(self, pod, config):
        with self.nri.lock:
            self.nri.deliver(E.RUN_POD_SANDBOX, "RunPodSandbox",
                             E.RunPodSandboxRequest(pod=convert.pod_message(pod)), E.RunPodSandboxResponse)
            self.announced.add(pod.id)

    def stop_pod_sandbox(self, pod):
        self.nri.deliver(E.STOP_POD_SANDBOX, "StopPodSandbox",
                         E.StopPodSandboxRequest(pod=convert.pod_message(pod)), E.StopPodSandboxResponse, fail=False)

    def remove_pod_sandbox(self, pod):
        self.announced.discard(pod.id)
        self.nri.deliver(E.REMOVE_POD_SANDBOX, "RemovePodSandbox",
                         E.RemovePodSandboxRequest(pod=convert.pod_message(pod)), E.RemovePodSandboxResponse,
                         fail=False)

    def update_pod_sandbox(self, pod, overhead, resources):
        req = E.UpdatePodSandboxRequest(pod=convert.pod_message(pod),
                                        overhead_linux_resources=convert.resources_message(overhead),
                                        linux_resources=convert.resources_message(resources))
        self.nri.deliver(E.UPDATE_POD_SANDBOX, "UpdatePodSandbox", req, E.UpdatePodSandboxResponse)

    def post_update_pod_sandbox(self, pod):
        self.nri.deliver(E.POST_UPDATE_POD_SANDBOX, "PostUpdatePodSandbox",
                         E.PostUpdatePodSandboxRequest(pod=convert.pod_message(pod)), E.PostUpdatePodSandboxResponse,
                         fail=False)

    # -- containers -------------------------------------------------------------------------------
    def create_container(self, pod, ctr, spec):
        req = E.CreateContainerRequest(pod=convert.pod_message(pod), container=self._ctr_msg(ctr, spec))
        with self.nri.lock:
            answers = self.nri.deliver(E.CREATE_CONTAINER, "CreateContainer", req, E.CreateContainerResponse)
            for plugin, resp in answers:
                if resp.evict:
                    raise errors.Unimplemented("CreateContainer: NRI plugin %r: evictions are not supported by gantryd"
                                               % plugin)
                if resp.HasField("adjust"):
                    spec = adjust.apply_adjustment(spec, resp.adjust, repr(plugin))
                self._must_update(plugin, "CreateContainer", resp.update)
            self.announced.add(ctr.id)
        return spec

    def post_create_container(self, pod, ctr):
        self.announced.discard(ctr.id)
        self._tell(E.POST_CREATE_CONTAINER, "PostCreateContainer", E.PostCreateContainerRequest,
                   E.PostCreateContainerResponse, pod, ctr)

    def start_container(self, pod, ctr):
        self.nri.deliver(E.START_CONTAINER, "StartContainer",
                         E.StartContainerRequest(pod=convert.pod_message(pod), container=self._ctr_msg(ctr)),
                         E.StartContainerResponse)

    def post_start_container(self, pod, ctr):
        self._tell(E.POST_START_CONTAINER, "PostStartContainer", E.PostStartContainerRequest,
                   E.PostStartContainerResponse, pod, ctr)

    def update_container(self, pod, ctr, resources):
        req = E.UpdateContainerRequest(pod=convert.pod_message(pod), container=self._ctr_msg(ctr),
                                       linux_resources=convert.resources_message(resources))
        with self.nri.lock:
            answers = self.nri.deliver(E.UPDATE_CONTAINER, "UpdateContainer", req, E.UpdateContainerResponse)
            resources = dict(resources)
            for plugin, resp in answers:
                if resp.evict:
                    raise errors.Unimplemented("UpdateContainer: NRI plugin %r: evictions are not supported by gantryd"
                                               % plugin)
                own = [u for u in resp.update if u.container_id == ctr.id]
                for u in own:
                    adjust.merge_resources(resources, adjust.oci_resources(u.linux.resources))
                self._must_update(plugin, "UpdateContainer", [u for u in resp.update if u.container_id != ctr.id])
        return resources

    def post_update_container(self, pod, ctr):
        self._tell(E.POST_UPDATE_CONTAINER, "PostUpdateContainer", E.PostUpdateContainerRequest,
                   E.PostUpdateContainerResponse, pod, ctr)

    def stop_container(self, pod, ctr):
        req = E.StopContainerRequest(pod=convert.pod_message(pod), container=self._ctr_msg(ctr))
        with self.nri.lock:
            for plugin, resp in self.nri.deliver(E.STOP_CONTAINER, "StopContainer", req, E.StopContainerResponse,
                                                 fail=False):
                for u in self.apply_updates(list(resp.update)):
                    log.warning("nri update failed", extra={"fields": {"plugin": repr(plugin),
                                                                       "container": u.container_id}})

    def remove_container(self, pod, ctr):
        self.announced.discard(ctr.id)
        self._tell(E.REMOVE_CONTAINER, "RemoveContainer", E.RemoveContainerRequest, E.RemoveContainerResponse,
                   pod, ctr)

    def _tell(self, event, method, req_cls, resp_cls, pod, ctr):
        self.nri.deliver(event, method, req_cls(pod=convert.pod_message(pod), container=self._ctr_msg(ctr)),
                         resp_cls, fail=False)

    def close(self):
        self.nri.close()

    # -- updates of other containers ------------------------------------------------------------
    def _must_update(self, plugin, method, updates):
        failed = [u for u in self.apply_updates(list(updates)) if not u.ignore_failure]
        if failed:
            raise errors.FailedPrecondition("%s: NRI plugin %r: update of container %s failed"
                                            % (method, plugin, failed[0].container_id))

    def apply_updates(self, updates):
        """ContainerUpdates onto running/created containers (through their shims) -> those that failed."""
        failed = []
        for u in updates:
            ctr = self.ctx.store.get_container(u.container_id)
            try:
                if ctr is None or ctr.state not in ("created", "running"):
                    raise errors.NotFound("container %s is not created or running" % u.container_id)
                resources = adjust.oci_resources(u.linux.resources)
                self.ctx.shims.client(ctr.shim_address).update(resources)
                path = os.path.join(ctr.bundle, "config.json")
                with open(path) as f:
                    spec = json.load(f)
                adjust.merge_resources(spec.setdefault("linux", {}).setdefault("resources", {}), resources)
                _write_json(path, spec)
            except (errors.GantryError, OSError, ValueError) as exc:
                log.warning("nri container update failed", extra={"fields": {"container": u.container_id,
                                                                             "error": str(exc)}})
                failed.append(u)
        return failed


def _write_json(path, doc):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)
