"""The ImageTools gRPC service (proto/imagetools.proto): request -> domain call -> response.

Push runs in a worker thread; its progress events go through a queue to the
response stream.  A client that goes away cancels the push at its next
progress event (the upload in flight stops, what the registry already
holds stays there for the next push to skip).
"""
from __future__ import annotations

import queue
import threading

from gantry.api import imagetools_pb2, imagetools_pb2_grpc

from .. import errors
from ..images import imagewrite, layerdiff
from ..images.push import Pusher
from .commit import commit_container

_END = object()


class ImageToolsService(imagetools_pb2_grpc.ImageToolsServicer):
    def __init__(self, runtime, pusher):
        self.runtime = runtime
        self.pusher = pusher

    @property
    def store(self):
        return self.runtime.ctx.image_store

    def _image_id(self, ref, what):
        if not ref:
            raise errors.InvalidArgument(f"{what}: image is empty")
        image_id = self.runtime.ctx.images.resolve(ref)
        if image_id is None:
            raise errors.NotFound(f"{what} {ref}: no such image")
        return image_id

    def Tag(self, request, context):
        if not request.targets:
            raise errors.InvalidArgument("tag: no target names")
        image_id = self._image_id(request.source, "tag")
        names = [n for n, _ in imagewrite.tag_names(request.targets)]
        imagewrite.tag(self.store, image_id, request.targets)
        return imagetools_pb2.TagResponse(image_id=image_id, names=names)

    def Commit(self, request, context):
        if not request.container_id:
            raise errors.InvalidArgument("commit: container_id is empty")
        done = commit_container(self.runtime, request.container_id, names=list(request.names),
                                changes=list(request.changes), message=request.message, author=request.author,
                                compression=request.compression or layerdiff.GZIP,
                                epoch=request.source_date_epoch if request.source_date_epoch > 0 else None)
        lay = done.layer
        return imagetools_pb2.CommitResponse(image_id=done.image_id, layer_digest=lay.digest, layer_size=lay.size,
                                             diff_id=lay.diff_id, media_type=lay.media_type, entries=lay.entries)

    def Push(self, request, context):
        image_id = self._image_id(request.image, "push")
        target = request.target or request.image
        if target == image_id or target == image_id[7:]:
            raise errors.InvalidArgument(f"push {request.image}: an image id needs a target name")
        auth = None
        if request.HasField("auth"):
            auth = {f: getattr(request.auth, f) for f in ("username", "password", "auth", "identity_token",
                                                          "registry_token")}
        events = queue.Queue(256)
        cancelled = threading.Event()
        context.add_callback(cancelled.set)

        def offer(item):
            """Hand an item to the stream; False once the client has gone (nobody reads any more)."""
            while not cancelled.is_set():
                try:
                    events.put(item, timeout=0.5)
                    return True
                except queue.Full:
                    continue
            return False

        def progress(event):
            if not offer(("event", event)):
                raise errors.Unavailable(f"push {target}: cancelled by the client")

        def work():
            try:
                result = self.pusher.push(self.store, request.image, target=target, auth=auth, progress=progress,
                                          tls_verify=not request.insecure, chunk_size=request.chunk_size or None)
                offer(("result", result))
            except BaseException as exc:  # noqa: BLE001 - handed to the stream, raised there
                offer(("error", exc))
            offer((_END, None))

        threading.Thread(target=work, name="push", daemon=True).start()
        while True:
            kind, item = events.get()
            if kind is _END:
                return
            if kind == "error":
                raise item
            if kind == "result":
                yield imagetools_pb2.PushProgress(finished=True, manifest_digest=item.digest, name=item.name,
                                                  uploaded=item.uploaded, skipped=item.skipped,
                                                  mounted=item.mounted, status="pushed")
                continue
            yield imagetools_pb2.PushProgress(digest=item["digest"], status=item["status"],
                                              done=item.get("done") or 0, total=item.get("total") or 0)


def register(server, runtime, cfg=None):
    """Serve ImageTools on ``server`` (gantryd's gRPC server) for ``runtime`` (runtime/assemble.Runtime);
    ``cfg`` (gantryd's Config) gives the registry_config_dir pushes use, as pulls do."""
    service = ImageToolsService(runtime, Pusher.from_config(cfg) if cfg is not None else Pusher())
    imagetools_pb2_grpc.add_ImageToolsServicer_to_server(service, server)
    return service
