"""The gRPC handlers of RuntimeService and ImageService, in an in-process gantryd on a scratch root.

``setup`` builds gantryd as daemon.build does (its own root, state dir and socket in
the scratch root, ``[network] mode = "none"``), serves it, and imports one small image
(tests/fixtures/ociimage) so there is state to break.  An input is a program of up
to 8 CRI calls, each ``[method byte][u16 length][serialized runtime.v1 request]``,
mutated structurally by protomut.py (a request's fields, or a call added, dropped
or replaced).  A string field ``@image`` / ``@ref`` becomes the image's id / name.

Which calls: every unary method of both services except RunPodSandbox (it would
make real namespaces, cgroups and a pause shim per input: too slow for a 1 s
bound and it is covered by tests/integration), PullImage (a registry on the
network) and the GetContainerEvents stream.  So no real container is ever made;
CreateContainer, Exec*, Stop/Remove* and the rest reach their lookups and
request checks.

Invariants: every failure is a domain status (never UNKNOWN or INTERNAL: a
traceback turned into gRPC); a failing call changes nothing visible through
ListPodSandbox, ListContainers, ListImages and Status; gantryd answers
Version after every input; nothing outside the scratch root changes (the
sentinel tree; host cgroups are not compared: other gantryds on a shared CI
machine change them, and no call here can reach one).  A successful
RemoveImage is allowed: the image is imported again for the next input."""
import importlib
import os
import struct

import grpc
from gantry.api import cri_pb2
from gantry.highlevel import daemon
from gantry.highlevel.images import archive
from google.protobuf import message_factory

from . import protomut
from .harness import Target
from .scratch import Scratch

# imported now, not only inside daemon.build, so that libfuzzer.py instruments them (coverage feedback)
for _name in ("server", "cri.convert", "cri.image_service", "cri.runtime_convert", "cri.runtime_service",
              "images.service", "images.store", "runtime.assemble", "runtime.containers", "runtime.pods",
              "runtime.specgen", "runtime.execsync", "runtime.stats", "runtime.metrics", "streaming.server"):
    importlib.import_module("gantry.highlevel." + _name)

EXCLUDED = {"RunPodSandbox", "PullImage", "GetContainerEvents"}
DOMAIN_CODES = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION,
                grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.OUT_OF_RANGE,
                grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.ABORTED}
MAX_CALLS = 8
CALL_TIMEOUT = 5.0
IMAGE_NAME = "fuzz.local/cri/img:1"


def _methods():
    out = []
    for service in ("RuntimeService", "ImageService"):
        for m in cri_pb2.DESCRIPTOR.services_by_name[service].methods:
            if m.name in EXCLUDED or m.server_streaming or m.client_streaming:
                continue
            out.append(("/runtime.v1.%s/%s" % (service, m.name), m.name,
                        message_factory.GetMessageClass(m.input_type), message_factory.GetMessageClass(m.output_type)))
    return out


METHODS = _methods()
_s = _server = _store = _channel = None
_image = {}


def _import_image():
    from tests.fixtures import ociimage

    layout = _s.path("layout")
    if not os.path.isdir(layout):
        img = ociimage.Image([ociimage.Layer([ociimage.File("bin/sh", b"#!fake\n", mode=0o755)])],
                             cmd=["/bin/sh"], user="0")
        ociimage.write_layout(layout, {IMAGE_NAME: img})
    [(image_id, _)] = archive.import_oci_layout(_store, layout)
    _image.update({"@image": image_id, "@ref": IMAGE_NAME})


def setup():
    global _s, _server, _store, _channel
    import logging

    from gantry.highlevel import config as configmod

    logging.getLogger("gantry").setLevel(logging.ERROR)
    _s = Scratch()
    cfg = configmod.Config(address=_s.path("gantryd.sock"), root=_s.path("root"), state=_s.path("state"),
                           registry_config_dir=_s.path("certs.d"), network_mode="none")
    _server, _store, _runtime = daemon.build(cfg)
    _server.start()
    _channel = grpc.insecure_channel("unix://" + cfg.address)
    _import_image()


def _call(index, request):
    path, _, req_cls, resp_cls = METHODS[index]
    rpc = _channel.unary_unary(path, request_serializer=req_cls.SerializeToString,
                               response_deserializer=resp_cls.FromString)
    return rpc(request, timeout=CALL_TIMEOUT)


def _by_name(name):
    return next(i for i, m in enumerate(METHODS) if m[1] == name)


def _visible():
    """What a kubelet sees: pods, containers, images, runtime conditions."""
    def call(name, **kw):
        i = _by_name(name)
        return _call(i, METHODS[i][2](**kw))
    pods = sorted((p.id, p.state) for p in call("ListPodSandbox").items)
    ctrs = sorted((c.id, c.state) for c in call("ListContainers").containers)
    images = sorted((i.id, tuple(sorted(i.repo_tags))) for i in call("ListImages").images)
    conditions = sorted((c.type, c.status, c.reason) for c in call("Status").status.conditions)
    return pods, ctrs, images, conditions


def _substitute(msg):
    for field, value in msg.ListFields():
        if field.message_type is not None:
            if field.message_type.GetOptions().map_entry:
                continue
            for sub in (value if field.is_repeated else [value]):
                _substitute(sub)
        elif field.type == field.TYPE_STRING:
            if field.is_repeated:
                value[:] = [_image.get(v, v) for v in value]
            elif value in _image:
                setattr(msg, field.name, _image[value])


def parse_program(data):
    calls, pos = [], 0
    while pos + 3 <= len(data) and len(calls) < MAX_CALLS:
        index, n = data[pos] % len(METHODS), struct.unpack(">H", data[pos + 1:pos + 3])[0]
        body = data[pos + 3:pos + 3 + n]
        pos += 3 + n
        req = METHODS[index][2]()
        try:
            req.ParseFromString(body)
        except Exception:  # noqa: BLE001 - a call that does not parse is skipped
            continue
        calls.append((index, req))
    return calls


def encode_program(calls):
    out = bytearray()
    for index, req in calls:
        body = req.SerializeToString()
        out += bytes([index]) + struct.pack(">H", len(body)) + body
    return bytes(out)


def check(data):
    calls = parse_program(data)
    try:
        for index, req in calls:
            _substitute(req)
            before = _visible()
            try:
                _call(index, req)
            except grpc.RpcError as err:
                code = err.code()
                assert code in DOMAIN_CODES, "%s answered %s: %s" % (METHODS[index][1], code, err.details())
                after = _visible()
                assert after == before, "%s failed (%s) but changed %s -> %s" % (
                    METHODS[index][1], code, before, after)
        version = _call(_by_name("Version"), cri_pb2.VersionRequest())
        assert version.runtime_name, "gantryd stopped answering"
        if not any(_image["@image"] == i for i, _ in _visible()[2]):
            _import_image()                  # removed by a (successful) RemoveImage
    finally:
        _s.assert_outside_unchanged()


def mutator(data, max_size, seed):
    import random

    rng = random.Random(seed)
    calls = parse_program(data)
    r = rng.random()
    if not calls or (r < 0.2 and len(calls) < MAX_CALLS):
        index = rng.randrange(len(METHODS))
        req = METHODS[index][2]()
        if rng.random() < 0.5:
            protomut.random_message(req, rng)
        calls.insert(rng.randint(0, len(calls)), (index, req))
    elif r < 0.3 and len(calls) > 1:
        del calls[rng.randrange(len(calls))]
    elif r < 0.4:
        i = rng.randrange(len(calls))
        index = rng.randrange(len(METHODS))
        req = METHODS[index][2]()
        try:     # the same bytes as another method's request: fields that share numbers carry over
            req.ParseFromString(calls[i][1].SerializeToString())
        except Exception:  # noqa: BLE001
            req.Clear()
        calls[i] = (index, req)
    else:
        for _ in range(rng.choice([1, 1, 2, 3])):
            protomut.mutate(calls[rng.randrange(len(calls))][1], rng)
    out = encode_program(calls)
    return out if len(out) <= max_size else data[:max_size]


TARGET = Target("cri", check, ("gantry.highlevel.cri.runtime_service", "gantry.highlevel.cri.image_service",
                               "gantry.highlevel.cri.runtime_convert", "gantry.highlevel.cri.convert",
                               "gantry.highlevel.runtime.containers", "gantry.highlevel.runtime.pods"),
                setup=setup, mutator=mutator, max_len=16 << 10)
