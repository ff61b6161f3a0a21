"""gantryd's gRPC server in-process: error mapping, socket safety, clean stop (no root needed)."""
import os
import socket
import stat
from types import SimpleNamespace

import grpc
import pytest
from gantry.api import cri_pb2, cri_pb2_grpc
from gantry.highlevel import errors
from gantry.highlevel.cri.image_service import ImageService
from gantry.highlevel.cri.runtime_service import RuntimeService
from gantry.highlevel.server import CriServer


class Images:
    """A facade whose calls raise what the test asks for."""

    def __init__(self):
        self.raise_on_list = None

    def list_images(self, filter_ref=None):
        if self.raise_on_list:
            raise self.raise_on_list
        return []

    def image_status(self, ref):
        return None

    def pull(self, ref, auth=None, progress=None):
        raise errors.NotFound("pull %s: manifest unknown" % ref)

    def remove(self, ref):
        raise errors.NotFound("remove %s" % ref)

    def fs_info(self):
        return []


class ClosedStore:
    """A runtime store that refuses every read (a domain error inside a streaming handler)."""

    def pods(self):
        raise errors.FailedPrecondition("pods: store closed")


@pytest.fixture
def served(tmp_path):
    images = Images()
    path = str(tmp_path / "run" / "gantryd.sock")

    def register(server):
        runtime = RuntimeService("9.9.9", ctx=SimpleNamespace(store=ClosedStore(), handlers={"": None}))
        cri_pb2_grpc.add_RuntimeServiceServicer_to_server(runtime, server)
        cri_pb2_grpc.add_ImageServiceServicer_to_server(ImageService(images), server)

    server = CriServer(path, register, max_workers=4)
    old = os.umask(0)  # a permissive umask must not leak into the socket's mode
    try:
        server.start()
    finally:
        os.umask(old)
    channel = grpc.insecure_channel("unix:" + path)
    yield server, path, images, cri_pb2_grpc.RuntimeServiceStub(channel), cri_pb2_grpc.ImageServiceStub(channel)
    channel.close()
    server.stop(0)


def test_socket_is_owner_only(served):
    _, path, *_ = served
    st = os.lstat(path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600


def test_version(served):
    *_, runtime, _ = served
    v = runtime.Version(cri_pb2.VersionRequest(), timeout=5)
    assert (v.runtime_name, v.runtime_version, v.runtime_api_version) == ("gantry", "9.9.9", "v1")


@pytest.mark.parametrize("exc, code", [
    (errors.NotFound("list: x"), grpc.StatusCode.NOT_FOUND),
    (errors.InvalidArgument("list: bad"), grpc.StatusCode.INVALID_ARGUMENT),
    (errors.Unavailable("list: registry down"), grpc.StatusCode.UNAVAILABLE),
    (errors.DeadlineExceeded("list: stalled"), grpc.StatusCode.DEADLINE_EXCEEDED),
    (RuntimeError("kaboom"), grpc.StatusCode.INTERNAL),
    (OSError(28, "No space left on device", "/var/lib/gantry/x"), grpc.StatusCode.RESOURCE_EXHAUSTED),
    (OSError(13, "Permission denied", "/var/lib/gantry/x"), grpc.StatusCode.PERMISSION_DENIED),
])
def test_domain_errors_map_to_codes(served, exc, code):
    _, _, images, _, image_stub = served
    images.raise_on_list = exc
    with pytest.raises(grpc.RpcError) as info:
        image_stub.ListImages(cri_pb2.ListImagesRequest(), timeout=5)
    assert info.value.code() == code
    assert str(exc) in info.value.details()


def test_errors_in_streaming_calls_map_too(served):
    _, _, images, runtime, image_stub = served
    images.raise_on_list = errors.InvalidArgument("stream: bad filter")
    with pytest.raises(grpc.RpcError) as info:
        list(image_stub.StreamImages(cri_pb2.StreamImagesRequest(), timeout=5))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as info:
        list(runtime.StreamPodSandboxes(cri_pb2.StreamPodSandboxesRequest(), timeout=5))
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "pods: store closed" in info.value.details()


@pytest.mark.parametrize("method, request_type", [
    ("CheckpointContainer", cri_pb2.CheckpointContainerRequest),
])
def test_unimplemented_runtime_methods_say_so(served, method, request_type):
    *_, runtime, _ = served
    with pytest.raises(grpc.RpcError) as info:
        getattr(runtime, method)(request_type(), timeout=5)
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert info.value.details() == "RuntimeService/%s: not implemented by gantryd" % method


def test_bad_requests(served):
    *_, image_stub = served
    with pytest.raises(grpc.RpcError) as info:
        image_stub.PullImage(cri_pb2.PullImageRequest(), timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as info:
        image_stub.PullImage(cri_pb2.PullImageRequest(image=cri_pb2.ImageSpec(image="nope")), timeout=5)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert "pull nope: manifest unknown" in info.value.details()
    image_stub.RemoveImage(cri_pb2.RemoveImageRequest(image=cri_pb2.ImageSpec(image="nope")), timeout=5)


def test_a_live_socket_is_never_stolen(served):
    server, path, *_ = served
    second = CriServer(path, lambda s: None)
    with pytest.raises(errors.FailedPrecondition, match="another server is listening"):
        second.start()
    assert os.path.exists(path)


def test_a_stale_socket_is_replaced_and_a_file_refused(tmp_path):
    path = str(tmp_path / "s.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # bound, never listening: what a kill -9 leaves
    server = CriServer(path, lambda s: None)
    server.start()
    server.stop(0)
    assert not os.path.exists(path)
    with open(path, "w") as f:
        f.write("not a socket")
    with pytest.raises(errors.FailedPrecondition, match="is not a socket"):
        CriServer(path, lambda s: None).start()
    assert open(path).read() == "not a socket"
