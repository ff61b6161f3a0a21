"""One connected plugin, seen from the runtime.

The exchange, after the plugin connects to the NRI socket::

    plugin  -> runtime   RegisterPlugin(name, index)           within the registration timeout
    runtime -> plugin    Configure(runtime, timeouts)           -> the events it subscribes to
    runtime -> plugin    Synchronize(pods, containers)          the runtime's state (in parts, "more", if big)
    runtime -> plugin    RunPodSandbox, CreateContainer, ...    each subscribed event, until either side closes
    plugin  -> runtime   UpdateContainers(updates)              at any time
    runtime -> plugin    Shutdown                               gantryd stops

An event's bit in the subscription mask is ``1 << (event - 1)``; a plugin that
answers 0 gets every event.  A plugin's index ("00".."99") orders delivery.
"""
import re
import threading

from gantry.api import nri_pb2

from . import ttrpc
from .conn import CallError

PLUGIN_SERVICE = "nri.pkg.api.v1alpha1.Plugin"
RUNTIME_SERVICE = "nri.pkg.api.v1alpha1.Runtime"
VALID_EVENTS = (1 << (nri_pb2.LAST - 1)) - 1
SYNC_PART_BYTES = 1 << 20             # a Synchronize message stays well under ttrpc's 4 MiB
_INDEX = re.compile(r"^[0-9]{2}$")
_NAME = re.compile(r"^[^/\s]+$")


def event_bit(event):
    return 1 << (event - 1)


def check_registration(req):
    """A RegisterPluginRequest's name and index, or CallError(INVALID_ARGUMENT) saying what is wrong."""
    if not _NAME.match(req.plugin_name):
        raise CallError(ttrpc.INVALID_ARGUMENT, "RegisterPlugin plugin_name: %r is not a plugin name" % req.plugin_name)
    if not _INDEX.match(req.plugin_idx):
        raise CallError(ttrpc.INVALID_ARGUMENT, "RegisterPlugin plugin_idx: %r is not two digits" % req.plugin_idx)
    return req.plugin_name, req.plugin_idx


def sync_parts(pods, containers, limit=None):
    """SynchronizeRequests of at most about ``limit`` bytes each; all but the last say ``more``."""
    limit = limit or SYNC_PART_BYTES
    parts, current, size = [], nri_pb2.SynchronizeRequest(), 0
    for field, items in (("pods", pods), ("containers", containers)):
        for item in items:
            n = item.ByteSize() + 8
            if size and size + n > limit:
                parts.append(current)
                current, size = nri_pb2.SynchronizeRequest(), 0
            getattr(current, field).append(item)
            size += n
    parts.append(current)
    for part in parts[:-1]:
        part.more = True
    return parts


def subscription(events):
    """ConfigureResponse.events -> the mask in force (0: all), or ValueError for unknown bits."""
    if events == 0:
        return VALID_EVENTS
    if events & ~VALID_EVENTS:
        raise ValueError("Configure events: unknown event bits 0x%x" % (events & ~VALID_EVENTS))
    return events


class Plugin:
    def __init__(self, on_update=None):
        self.conn = None
        self.name, self.idx = "", ""
        self.events = 0
        self.registered = threading.Event()
        self._on_update = on_update          # [ContainerUpdate] -> [failed ContainerUpdate]

    def __repr__(self):
        return "%s-%s" % (self.idx, self.name) if self.name else "unregistered plugin"

    @property
    def order(self):
        return (self.idx, self.name)

    def subscribed(self, event):
        return bool(self.events & event_bit(event))

    # -- the runtime service, served on this plugin's connection --------------------------------
    def serve(self, service, method, payload):
        if service != RUNTIME_SERVICE:
            raise CallError(ttrpc.UNIMPLEMENTED, "service %s is not served here" % service)
        if method == "RegisterPlugin":
            req = nri_pb2.RegisterPluginRequest.FromString(payload)
            if self.registered.is_set():
                raise CallError(ttrpc.FAILED_PRECONDITION, "RegisterPlugin: %r is registered already" % self)
            self.name, self.idx = check_registration(req)
            if self.conn is not None:
                self.conn.name = repr(self)
            self.registered.set()
            return nri_pb2.Empty().SerializeToString()
        if method == "UpdateContainers":
            req = nri_pb2.UpdateContainersRequest.FromString(payload)
            if req.evict:
                raise CallError(ttrpc.UNIMPLEMENTED, "UpdateContainers evict: evictions are not supported by gantryd")
            failed = self._on_update(list(req.update)) if self._on_update else list(req.update)
            return nri_pb2.UpdateContainersResponse(failed=failed).SerializeToString()
        raise CallError(ttrpc.UNIMPLEMENTED, "method %s.%s is not served here" % (service, method))

    # -- calls to the plugin ------------------------------------------------------------------
    def call(self, method, request, response_cls, timeout):
        payload = self.conn.call(PLUGIN_SERVICE, method, request.SerializeToString(), timeout)
        return response_cls.FromString(payload)

    def configure(self, runtime_name, runtime_version, registration_timeout, request_timeout):
        req = nri_pb2.ConfigureRequest(runtime_name=runtime_name, runtime_version=runtime_version,
                                       registration_timeout=int(registration_timeout * 1000),
                                       request_timeout=int(request_timeout * 1000))
        resp = self.call("Configure", req, nri_pb2.ConfigureResponse, request_timeout)
        self.events = subscription(resp.events)

    def synchronize(self, pods, containers, timeout):
        """The runtime's state, in parts when it is large -> the updates the plugin asks for."""
        for part in sync_parts(pods, containers):
            resp = self.call("Synchronize", part, nri_pb2.SynchronizeResponse, timeout)
            if part.more and (resp.update or not resp.more):
                raise ValueError("Synchronize: plugin %r does not take a synchronization in parts" % self)
        return list(resp.update)

    def shutdown(self, timeout):
        self.call("Shutdown", nri_pb2.Empty(), nri_pb2.Empty, timeout)
