"""CRI ImageService: a thin adapter over gantryd's images facade.

The facade (``images``) is the domain object that owns pulling and storage::

    images.list_images(filter_ref=None) -> [Image]
    images.image_status(ref)            -> Image | None
    images.pull(ref, auth=None, progress=None) -> image id ("sha256:<config digest>")
    images.remove(ref)                  # by id, tag or digest; absent is not an error
    images.fs_info()                    -> usage, or a list (see convert.fs_info_to_cri)
    images.config(image_id)             -> dict (optional: the OCI config, for verbose status)

What each call means on the CRI side:

- ListImages / StreamImages: every image, or those the filter reference names.
- ImageStatus: an absent image is an empty response, not an error; ``verbose``
  adds the ``info`` map.
- PullImage: credentials from AuthConfig; answers the image id, which is the
  same id ListImages shows.
- RemoveImage: by id, tag or digest, the *image* goes, with every tag and
  digest name it has (what containerd does, what crictl announces: "Removing
  this image will delete all of the following tags", and what critest's
  "removing image by one tag should remove all tags" expects).  Removing an
  absent image succeeds.  (The facade's ``remove(tag)`` untags only, as
  CRI-O and docker do; the CRI call resolves the image first.)
- ImageFsInfo: the image filesystem(s); container filesystems stay empty until
  containers exist.

Domain errors propagate untouched: the server's one interceptor maps them.
"""
import logging
import time
from contextlib import nullcontext

from gantry.api import cri_pb2, cri_pb2_grpc

from ..errors import NotFound
from . import convert, pull_progress

log = logging.getLogger("gantry.cri.images")
STREAM_BATCH = 128
PROGRESS_EVERY_SECONDS = 5.0


class ImageService(cri_pb2_grpc.ImageServiceServicer):
    def __init__(self, images, clock=time.time_ns, pulls_dir=None):
        """``pulls_dir``: where running pulls publish their progress (pull_progress.py); None: nowhere."""
        self.images = images
        self.clock = clock
        self.pulls_dir = pulls_dir
        self.publisher = pull_progress.Publisher(pulls_dir) if pulls_dir else None

    def ListImages(self, request, context):
        found = self.images.list_images(filter_ref=convert.image_filter(request))
        return cri_pb2.ListImagesResponse(images=[convert.image_to_cri(i) for i in found])

    def StreamImages(self, request, context):
        found = [convert.image_to_cri(i) for i in self.images.list_images(filter_ref=convert.image_filter(request))]
        for batch in convert.batches(found, STREAM_BATCH):
            yield cri_pb2.StreamImagesResponse(images=batch)

    def ImageStatus(self, request, context):
        ref = convert.image_ref(request.image, "ImageStatus")
        image = self.images.image_status(ref)
        if image is None:
            return cri_pb2.ImageStatusResponse()
        response = cri_pb2.ImageStatusResponse(image=convert.image_to_cri(image))
        if request.verbose:
            response.info.update(convert.verbose_info(image, self._config_of(image)))
        return response

    def _config_of(self, image):
        config = getattr(self.images, "config", None)
        if config is None:
            return None
        try:
            return config(image.id)
        except NotFound:
            return None  # removed meanwhile: report what we have

    def PullImage(self, request, context):
        ref = convert.image_ref(request.image, "PullImage")
        auth = convert.auth_from_cri(request.auth) if request.HasField("auth") else None
        start = time.monotonic()
        log.info("pull started", extra={"fields": {"ref": ref, "auth": "yes" if auth else "no"}})
        with self.publisher.publishing(ref) if self.publisher else nullcontext() as published:
            image_id = self.images.pull(ref, auth=auth, progress=_progress_reporter(ref, published))
        log.info("pull done", extra={"fields": {"ref": ref, "id": image_id,
                                                "ms": int((time.monotonic() - start) * 1000)}})
        return cri_pb2.PullImageResponse(image_ref=image_id)

    def RemoveImage(self, request, context):
        ref = convert.image_ref(request.image, "RemoveImage")
        image = self.images.image_status(ref)
        if image is not None:
            try:
                self.images.remove(image.id)
            except NotFound:
                pass  # idempotent: removed meanwhile
            log.info("image removed", extra={"fields": {"ref": ref, "id": image.id,
                                                        "tags": ",".join(image.repo_tags)}})
        return cri_pb2.RemoveImageResponse()

    def ImageFsInfo(self, request, context):
        usages = convert.fs_info_to_cri(self.images.fs_info(), self.clock())
        return cri_pb2.ImageFsInfoResponse(image_filesystems=usages)


def _progress_reporter(ref, published=None, every_seconds=PROGRESS_EVERY_SECONDS, clock=time.monotonic):
    """A ``progress(digest, done, total)`` callback: logs each blob's bytes every few seconds and
    updates the published progress file (if any)."""
    last = [clock()]

    def progress(digest, done, total=None, *rest, **kwargs):
        if published is not None:
            published.update(digest, done, total)
        now = clock()
        if now - last[0] >= every_seconds:
            last[0] = now
            log.info("pull progress", extra={"fields": {"ref": ref, "blob": digest, "done": done,
                                                        "total": total if total is not None else "?"}})

    return progress
