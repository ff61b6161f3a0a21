"""CRI RuntimeService of gantryd: gRPC requests -> pods/containers domain calls -> responses.

No logic of its own: each method checks the request's shape, calls the
domain (highlevel/runtime/), and converts records with runtime_convert.py.
Domain errors become status codes in the one interceptor (server.py).

Not implemented (each answers UNIMPLEMENTED naming itself, generated below
from the service descriptor): CheckpointContainer (gantry-oci has no
checkpoint/restore); Exec, Attach and PortForward until a streaming server is
configured.

``Status`` reports the truth: RuntimeReady when the shim template and the
runtime handlers are usable, NetworkReady from the network plugin.
"""
import json
import time

from gantry.api import cri_pb2, cri_pb2_grpc

from ..errors import InvalidArgument, Unimplemented
from ..runtime import execsync, metrics, podmetrics, stats
from . import convert
from . import runtime_convert as rc

CGROUP_DRIVERS = {"cgroupfs": cri_pb2.CGROUPFS, "systemd": cri_pb2.SYSTEMD}
RUNTIME_READY = "RuntimeReady"
NETWORK_READY = "NetworkReady"
STREAM_CHUNK = 100
METRICS_CHUNK = 10     # pods per StreamPodSandboxMetrics message (each carries ~70 metrics a container)


def not_ready(condition):
    return (False, "NotImplemented", "%s: gantryd serves images only" % condition)


class RuntimeService(cri_pb2_grpc.RuntimeServiceServicer):
    def __init__(self, version, readiness=not_ready, config_info=None, cgroup_driver="cgroupfs",
                 pods=None, containers=None, ctx=None, streaming=None):
        self.version = version
        self.readiness = readiness
        self.config_info = config_info or {}
        self.cgroup_driver = CGROUP_DRIVERS[cgroup_driver]
        self.pods = pods
        self.containers = containers
        self.ctx = ctx
        self.streaming = streaming

    # -- runtime ------------------------------------------------------------------------
    def Version(self, request, context):
        return convert.version_response(self.version)

    def Status(self, request, context):
        status = cri_pb2.RuntimeStatus()
        for name in (RUNTIME_READY, NETWORK_READY):
            ok, reason, message = self.readiness(name)
            status.conditions.add(type=name, status=ok, reason="" if ok else reason, message="" if ok else message)
        response = cri_pb2.StatusResponse(status=status)
        handlers = self.ctx.handlers if self.ctx is not None else {"": None}
        for name, handler in sorted(handlers.items()):
            h = response.runtime_handlers.add(name=name)
            h.features.recursive_read_only_mounts = bool(handler and handler.recursive_read_only)
            h.features.user_namespaces = False
        response.features.supplemental_groups_policy = True
        if request.verbose:
            response.info["config"] = json.dumps(self.config_info, sort_keys=True)
        return response

    def RuntimeConfig(self, request, context):
        return cri_pb2.RuntimeConfigResponse(linux=cri_pb2.LinuxRuntimeConfiguration(cgroup_driver=self.cgroup_driver))

    def UpdateRuntimeConfig(self, request, context):
        cidr = request.runtime_config.network_config.pod_cidr
        if cidr and self.ctx is not None and self.ctx.network is not None:
            self.ctx.network.update_pod_cidr(cidr)
        return cri_pb2.UpdateRuntimeConfigResponse()

    # -- pods ------------------------------------------------------------------------------
    def RunPodSandbox(self, request, context):
        if not request.HasField("config"):
            raise InvalidArgument("RunPodSandbox: config is missing")
        pod = self.pods.run(request.config, request.runtime_handler)
        return cri_pb2.RunPodSandboxResponse(pod_sandbox_id=pod.id)

    def StopPodSandbox(self, request, context):
        self.pods.stop(_required(request.pod_sandbox_id, "StopPodSandbox pod_sandbox_id"))
        return cri_pb2.StopPodSandboxResponse()

    def UpdatePodSandboxResources(self, request, context):
        self.pods.update_resources(_required(request.pod_sandbox_id, "UpdatePodSandboxResources pod_sandbox_id"),
                                   request.overhead, request.resources)
        return cri_pb2.UpdatePodSandboxResourcesResponse()

    def RemovePodSandbox(self, request, context):
        self.pods.remove(_required(request.pod_sandbox_id, "RemovePodSandbox pod_sandbox_id"))
        return cri_pb2.RemovePodSandboxResponse()

    def PodSandboxStatus(self, request, context):
        pod = self.pods.get(_required(request.pod_sandbox_id, "PodSandboxStatus pod_sandbox_id"),
                            "PodSandboxStatus")
        response = cri_pb2.PodSandboxStatusResponse(status=rc.pod_status(pod), timestamp=time.time_ns())
        if request.verbose:
            response.info.update(rc.pod_info(pod))
        return response

    def _pods(self, flt):
        match = rc.pod_filter(flt)
        # a pod still being made (or undone) is nobody's to see yet, as with containerd
        return [rc.pod_to_cri(p) for p in self.ctx.store.pods() if p.state != "creating" and match(p)]

    def ListPodSandbox(self, request, context):
        return cri_pb2.ListPodSandboxResponse(items=self._pods(_opt(request, "filter")))

    def StreamPodSandboxes(self, request, context):
        items = self._pods(_opt(request, "filter"))
        for i in range(0, len(items), STREAM_CHUNK):
            yield cri_pb2.StreamPodSandboxesResponse(pod_sandboxes=items[i:i + STREAM_CHUNK])

    # -- containers ---------------------------------------------------------------------------
    def CreateContainer(self, request, context):
        if not request.HasField("config"):
            raise InvalidArgument("CreateContainer: config is missing")
        ctr = self.containers.create(_required(request.pod_sandbox_id, "CreateContainer pod_sandbox_id"),
                                     request.config, request.sandbox_config)
        return cri_pb2.CreateContainerResponse(container_id=ctr.id)

    def StartContainer(self, request, context):
        self.containers.start(_required(request.container_id, "StartContainer container_id"))
        return cri_pb2.StartContainerResponse()

    def StopContainer(self, request, context):
        self.containers.stop(_required(request.container_id, "StopContainer container_id"), request.timeout)
        return cri_pb2.StopContainerResponse()

    def RemoveContainer(self, request, context):
        self.containers.remove(_required(request.container_id, "RemoveContainer container_id"))
        return cri_pb2.RemoveContainerResponse()

    def _image_ref(self, ctr):
        """What ImageService reports for the container's image: its first repo digest, else its id."""
        image = self.ctx.images.image_status(ctr.image_id) if ctr.image_id else None
        return image.repo_digests[0] if image is not None and image.repo_digests else ctr.image_id

    def _containers(self, flt):
        match = rc.container_filter(flt)
        return [rc.container_to_cri(c, self._image_ref(c)) for c in self.ctx.store.containers()
                if c.state != "creating" and match(c)]

    def ListContainers(self, request, context):
        return cri_pb2.ListContainersResponse(containers=self._containers(_opt(request, "filter")))

    def StreamContainers(self, request, context):
        items = self._containers(_opt(request, "filter"))
        for i in range(0, len(items), STREAM_CHUNK):
            yield cri_pb2.StreamContainersResponse(containers=items[i:i + STREAM_CHUNK])

    def ContainerStatus(self, request, context):
        ctr = self.containers.get(_required(request.container_id, "ContainerStatus container_id"),
                                  "ContainerStatus")
        spec = _spec_or_none(self.containers, ctr)
        response = cri_pb2.ContainerStatusResponse(status=rc.container_status(ctr, self._image_ref(ctr), spec))
        if request.verbose:
            response.info.update(rc.container_info(ctr, spec))
        return response

    def UpdateContainerResources(self, request, context):
        cid = _required(request.container_id, "UpdateContainerResources container_id")
        self.containers.update_resources(cid, request.linux)
        return cri_pb2.UpdateContainerResourcesResponse()

    def ReopenContainerLog(self, request, context):
        self.containers.reopen_log(_required(request.container_id, "ReopenContainerLog container_id"))
        return cri_pb2.ReopenContainerLogResponse()

    def ExecSync(self, request, context):
        from ..runtime import specgen

        ctr = self.containers.get(_required(request.container_id, "ExecSync container_id"), "ExecSync")
        if not request.cmd:
            raise InvalidArgument("ExecSync cmd: must not be empty")
        if ctr.state != "running":
            from ..errors import FailedPrecondition

            raise FailedPrecondition("ExecSync %s: container is %s, not running" % (ctr.id, ctr.state))
        process = specgen.exec_process(self.containers.spec_of(ctr), list(request.cmd), False)
        out, err, code = execsync.exec_sync(self.ctx.shims, ctr, process, request.timeout)
        return cri_pb2.ExecSyncResponse(stdout=out, stderr=err, exit_code=code)

    # -- streaming ---------------------------------------------------------------------------------
    def Exec(self, request, context):
        return cri_pb2.ExecResponse(url=self._streaming("Exec").get_exec(request))

    def Attach(self, request, context):
        return cri_pb2.AttachResponse(url=self._streaming("Attach").get_attach(request))

    def PortForward(self, request, context):
        return cri_pb2.PortForwardResponse(url=self._streaming("PortForward").get_port_forward(request))

    def _streaming(self, name):
        if self.streaming is None:
            raise Unimplemented("RuntimeService/%s: no streaming server is configured in this gantryd" % name)
        return self.streaming

    # -- stats ----------------------------------------------------------------------------------------
    def _container_stats(self, ctr):
        s = stats.container_stats(self.ctx, ctr)
        return rc.container_stats_to_cri(ctr, s, self.ctx.image_store.snapshots.root)

    def ContainerStats(self, request, context):
        ctr = self.containers.get(_required(request.container_id, "ContainerStats container_id"), "ContainerStats")
        return cri_pb2.ContainerStatsResponse(stats=self._container_stats(ctr))

    def _list_container_stats(self, flt):
        match = rc.container_filter(_as_container_filter(flt))
        return [self._container_stats(c) for c in self.ctx.store.containers()
                if c.state in ("created", "running") and match(c)]

    def ListContainerStats(self, request, context):
        return cri_pb2.ListContainerStatsResponse(stats=self._list_container_stats(_opt(request, "filter")))

    def StreamContainerStats(self, request, context):
        items = self._list_container_stats(_opt(request, "filter"))
        for i in range(0, len(items), STREAM_CHUNK):
            yield cri_pb2.StreamContainerStatsResponse(container_stats=items[i:i + STREAM_CHUNK])

    def _pod_stats(self, pod):
        ctrs = [c for c in self.ctx.store.containers(pod.id) if c.state in ("created", "running")]
        cstats = [self._container_stats(c) for c in ctrs]
        pid = pod.infra.get("pid") or next((c.pid for c in ctrs if c.state == "running"), 0)
        net = stats.pod_network(pid) if pod.namespaces.get("network") else {}
        pids = sum(1 for c in ctrs if c.state == "running")
        return rc.pod_stats_to_cri(pod, cstats, net, time.time_ns(), pids)

    def PodSandboxStats(self, request, context):
        pod = self.pods.get(_required(request.pod_sandbox_id, "PodSandboxStats pod_sandbox_id"), "PodSandboxStats")
        return cri_pb2.PodSandboxStatsResponse(stats=self._pod_stats(pod))

    def _list_pod_stats(self, flt):
        def match(pod):
            if flt is None:
                return True
            return pod.id.startswith(flt.id) and rc.labels_match(flt.label_selector, rc.pod_config(pod).labels)
        return [self._pod_stats(p) for p in self.ctx.store.pods() if p.state == "ready" and match(p)]

    def ListPodSandboxStats(self, request, context):
        return cri_pb2.ListPodSandboxStatsResponse(stats=self._list_pod_stats(_opt(request, "filter")))

    def StreamPodSandboxStats(self, request, context):
        items = self._list_pod_stats(_opt(request, "filter"))
        for i in range(0, len(items), STREAM_CHUNK):
            yield cri_pb2.StreamPodSandboxStatsResponse(pod_sandbox_stats=items[i:i + STREAM_CHUNK])

    # -- metrics (highlevel/runtime/metrics.py, podmetrics.py) ------------------------------------------
    def ListMetricDescriptors(self, request, context):
        return cri_pb2.ListMetricDescriptorsResponse(descriptors=metrics.descriptors())

    def ListPodSandboxMetrics(self, request, context):
        return cri_pb2.ListPodSandboxMetricsResponse(pod_metrics=podmetrics.list_pod_metrics(self.ctx))

    def StreamPodSandboxMetrics(self, request, context):
        items = podmetrics.list_pod_metrics(self.ctx)
        for i in range(0, len(items), METRICS_CHUNK):
            yield cri_pb2.StreamPodSandboxMetricsResponse(pod_sandbox_metrics=items[i:i + METRICS_CHUNK])

    # -- events ---------------------------------------------------------------------------------------
    def GetContainerEvents(self, request, context):
        with self.ctx.events.subscribe() as sub:
            context.add_callback(sub.close)
            for kind, what, record in sub:
                yield self._event(kind, what, record)

    def _event(self, kind, what, record):
        if kind == "pod":
            ctrs = [rc.container_status(c, self._image_ref(c)) for c in self.ctx.store.containers(record.id)]
            return rc.event_to_cri(kind, what, record, rc.pod_status(record), ctrs, time.time_ns())
        pod = self.ctx.store.get_pod(record.pod_id)
        return rc.event_to_cri(kind, what, record, rc.pod_status(pod) if pod else None,
                               [rc.container_status(record, self._image_ref(record))], time.time_ns())


def _required(value, what):
    if not value:
        raise InvalidArgument("%s: must not be empty" % what)
    return value


def _opt(request, field):
    return getattr(request, field) if request.HasField(field) else None


def _as_container_filter(flt):
    if flt is None:
        return None
    return cri_pb2.ContainerFilter(id=flt.id, pod_sandbox_id=flt.pod_sandbox_id, label_selector=flt.label_selector)


def _spec_or_none(containers, ctr):
    try:
        return containers.spec_of(ctr)
    except (OSError, ValueError):
        return None


def _unimplemented(name, server_streaming):
    message = "RuntimeService/%s: not implemented by gantryd" % name
    if server_streaming:
        def method(self, request, context):
            raise Unimplemented(message)
            yield  # a generator, like the real streaming handler would be
    else:
        def method(self, request, context):
            raise Unimplemented(message)
    method.__name__ = name
    method.__doc__ = message
    return method


def _fill_unimplemented(cls):
    service = cri_pb2.DESCRIPTOR.services_by_name["RuntimeService"]
    for m in service.methods:
        if m.name not in cls.__dict__:
            setattr(cls, m.name, _unimplemented(m.name, m.server_streaming))
    return cls


_fill_unimplemented(RuntimeService)
