"""The calls of shim.proto as a table read from its descriptor.

``CALLS["Wait"]`` is a ``Call(name, request, response, streaming)`` whose
``request``/``response`` are the generated message classes; the shim's
dispatcher, gantryd's client and ``gantry-shim call`` all decode with it, so a
method added to shim.proto is known everywhere at once.
"""
from collections import namedtuple

from . import shim_pb2

Call = namedtuple("Call", "name request response streaming")
API_VERSION = "gantry.shim.v1"


def _calls(service_name):
    service = shim_pb2.DESCRIPTOR.services_by_name[service_name]
    return {
        m.name: Call(m.name, getattr(shim_pb2, m.input_type.name), getattr(shim_pb2, m.output_type.name),
                     m.client_streaming or m.server_streaming)
        for m in service.methods
    }


CALLS = _calls("Shim")
TEMPLATE_CALLS = _calls("Template")
