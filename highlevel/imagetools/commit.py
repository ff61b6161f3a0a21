"""Commit: a container's changes as a new image (``gantryctl commit CONTAINER NAME``).

    image = commit_container(runtime, "3f2a…", names=["app:v2"], changes=["CMD [\\"sh\\"]"],
                             message="", author="", compression="gzip", epoch=None)

The container's root is an overlay whose upper dir is its active snapshot
``ctr-<id>`` (runtime/containers.py); that directory, read as it is (the
container may be running, as with ``docker commit --pause=false``), becomes one
layer (images/layerwrite.py) on the container's image, and the image config is
the image's with the ``changes`` applied (images/changes.py) and a history
entry; images/imagewrite.py records it under ``names``.  The empty files and
directories the runtime made as mount points (``/etc/hosts``, ``/proc``, ...:
the destinations in the container's OCI spec) are left out, as Docker leaves
out its init layer.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from .. import errors
from ..images import changes as changesmod
from ..images import imagewrite, layerwrite

log = logging.getLogger("gantry.imagetools.commit")


@dataclass(frozen=True)
class Committed:
    image_id: str
    layer: layerwrite.LayerBlob


def mount_points(spec):
    """The relative destinations of a spec's mounts (what ``exclude`` leaves out when empty)."""
    return sorted({m.get("destination", "").strip("/") for m in spec.get("mounts") or [] if m.get("destination")})


def commit_container(runtime, container_id, names=(), changes=(), message="", author="", compression="gzip",
                     epoch=None):
    started = time.monotonic()
    ctr = runtime.containers.get(container_id, "commit")
    store = runtime.ctx.image_store
    key = getattr(ctr, "snapshot_key", "") or ""
    if not key or not store.snapshots.exists(key):
        raise errors.FailedPrecondition(f"commit {ctr.id}: the container has no root filesystem snapshot")
    if store.meta.get_image(ctr.image_id) is None:
        raise errors.FailedPrecondition(f"commit {ctr.id}: its image {ctr.image_id} is no longer in the store")
    try:
        exclude = mount_points(runtime.containers.spec_of(ctr))
    except (OSError, ValueError):
        exclude = []
    base_cfg = store.config(ctr.image_id)
    config = changesmod.apply(base_cfg.get("config") or {}, changes)
    entry = {"created_by": "gantry commit %s" % ctr.id[:12]}
    if message:
        entry["comment"] = message
    if author:
        entry["author"] = author
    with store.lease() as lease:
        blob = layerwrite.store_layer(store, store.snapshots.fs_path(key), lease, compression=compression,
                                      epoch=epoch, exclude=exclude)
        image_id = imagewrite.store_image(store, ctr.image_id, [blob], names=names, config=config,
                                          history=[entry], lease=lease, epoch=epoch)
    log.info("commit %s: image %s, layer %s (%d bytes, %d entries) in %.2fs", ctr.id, image_id, blob.digest,
             blob.size, blob.entries, time.monotonic() - started)
    return Committed(image_id, blob)
