"""CRI RuntimeService of gantryd.

Implemented here: ``Version``, ``Status`` and ``RuntimeConfig`` (the cgroup
driver from gantryd's settings, which a kubelet configured to ask the runtime
adopts).  Pods, containers, streaming and
stats are filled in by later work; until then every other RuntimeService
method answers UNIMPLEMENTED with a message naming the method (generated below
from the service descriptor, so no method is ever left with grpc's anonymous
default).

``Status`` reports the truth: RuntimeReady and NetworkReady come from the
``readiness`` callable the daemon passes (name -> (ok, reason, message)); with
no pod/container support wired, both are false with a reason saying so.
"""
import json

from gantry.api import cri_pb2, cri_pb2_grpc

from ..errors import Unimplemented
from . import convert

CGROUP_DRIVERS = {"cgroupfs": cri_pb2.CGROUPFS, "systemd": cri_pb2.SYSTEMD}
RUNTIME_READY = "RuntimeReady"
NETWORK_READY = "NetworkReady"


def not_ready(condition):
    return (False, "NotImplemented",
            "%s: gantryd serves images only; pods and containers are not implemented yet" % condition)


class RuntimeService(cri_pb2_grpc.RuntimeServiceServicer):
    def __init__(self, version, readiness=not_ready, config_info=None, cgroup_driver="cgroupfs"):
        self.version = version
        self.readiness = readiness
        self.config_info = config_info or {}
        self.cgroup_driver = CGROUP_DRIVERS[cgroup_driver]

    def Version(self, request, context):
        return convert.version_response(self.version)

    def Status(self, request, context):
        status = cri_pb2.RuntimeStatus()
        for name in (RUNTIME_READY, NETWORK_READY):
            ok, reason, message = self.readiness(name)
            status.conditions.add(type=name, status=ok, reason="" if ok else reason, message="" if ok else message)
        response = cri_pb2.StatusResponse(status=status)
        response.runtime_handlers.add(name="")
        if request.verbose:
            response.info["config"] = json.dumps(self.config_info, sort_keys=True)
        return response


    def RuntimeConfig(self, request, context):
        return cri_pb2.RuntimeConfigResponse(linux=cri_pb2.LinuxRuntimeConfiguration(cgroup_driver=self.cgroup_driver))


def _unimplemented(name, server_streaming):
    message = "RuntimeService/%s: not implemented by gantryd yet" % name
    if server_streaming:
        def method(self, request, context):
            raise Unimplemented(message)
            yield  # a generator, like the real streaming handler will be
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
