"""One stage's state while it is built, and the filesystem steps that add layers to it.

    st = StageState(name, index, cfg, layers, chain)      # from the base (executor_base.py)
    layer_step(ex, st, instruction, digests, state, apply) # cache lookup, or: snapshot, mount,
                                                           # apply(rootfs), layer from the upper dir, commit

A filesystem step, in order::

    cache.get(key)                         -> hit: the layer is added as it is (no RUN, no copy)
    snapshots.prepare(build-<uuid>, parent=st.chain)   (leased while it is made)
    mount at <state>/builds/mnt-<uuid>, apply(rootfs), unmount (also when apply fails)
    layer blob from the snapshot's upper dir (overlay form -> OCI form) into the content store
    snapshots.commit(chain_id)             (or dropped when that chain already exists)
    cache.put(key, layer)                  (the cache lease keeps it from GC from now on)

A failed ``apply`` removes its snapshot; what earlier steps cached stays.
"""
from __future__ import annotations

import logging
import os
import shutil
import uuid
from dataclasses import dataclass, field

from ..images import snapshots as snapmod
from .cache import CachedLayer, step_key
from .executor_layer import write_layer

log = logging.getLogger("gantry.build")


@dataclass
class StageState:
    name: str
    index: int
    cfg: object                                   # executor_config.ImageConfig
    layers: list = field(default_factory=list)    # [(digest, media_type, size)] matching cfg.diff_ids
    chain: str | None = None                      # chain ID of the top layer (None: empty rootfs)
    args: dict = field(default_factory=dict)      # ARGs declared in this stage, with their values
    shell: list = field(default_factory=lambda: ["/bin/sh", "-c"])

    def add_layer(self, layer):
        self.cfg.add_layer(layer.diff_id)
        self.layers.append((layer.digest, layer.media_type, layer.size))
        self.chain = layer.chain_id


def next_chain(parent, diff_id):
    return snapmod.chain_ids([parent, diff_id])[-1] if parent else diff_id


def layer_step(ex, st, instruction, digests, state, apply):
    """Run one filesystem step; returns True when it came from the cache."""
    key = step_key(st.chain, instruction, digests, **state)
    if not ex.no_cache:
        hit = ex.cache.get(key)
        if hit is not None:
            st.add_layer(hit)
            return True
    store = ex.store
    snap_key = "build-" + uuid.uuid4().hex
    mnt = os.path.join(ex.work_dir, "mnt-" + snap_key[6:18])
    with store.lease() as lease:
        lease.add_snapshot(snap_key)
        mounts = store.snapshots.prepare(snap_key, parent=st.chain, labels={"build": "1"})
        try:
            os.makedirs(mnt, mode=0o700)
            snapmod.mount_all(mounts, mnt, snapshots_root=store.snapshots.root)
            try:
                apply(mnt)
            finally:
                snapmod.unmount(mnt)
                os.rmdir(mnt)
            digest, diff_id, size, media_type = write_layer(store, lease, store.snapshots.fs_path(snap_key),
                                                            ex.compression, ex.source_date_epoch)
            chain_id = next_chain(st.chain, diff_id)
            layer = CachedLayer(chain_id, diff_id, digest, media_type, size)
            ex.cache.protect(layer)
            if store.snapshots.exists(chain_id):
                store.snapshots.remove(snap_key)
            else:
                store.snapshots.commit(chain_id, snap_key, parent=st.chain)
        except BaseException:
            if snapmod.is_mounted(mnt):
                snapmod.unmount(mnt)
            shutil.rmtree(mnt, ignore_errors=True)
            if store.snapshots.exists(snap_key):
                store.snapshots.remove(snap_key)
            raise
        ex.cache.put(key, layer)
    st.add_layer(layer)
    return False


def view_of(ex, chain, label):
    """Mount a read-only view of a layer chain (None: an empty tree); returns (path, release)."""
    store = ex.store
    path = os.path.join(ex.work_dir, "view-" + uuid.uuid4().hex[:12])
    os.makedirs(path, mode=0o700)
    if chain is None:
        return path, lambda: os.rmdir(path)
    key = "build-view-" + uuid.uuid4().hex
    with store.lease() as lease:
        lease.add_snapshot(key)
        mounts = store.snapshots.view(key, parent=chain, labels={"build": label})
    snapmod.mount_all(mounts, path, snapshots_root=store.snapshots.root)

    def release():
        snapmod.unmount(path)
        os.rmdir(path)
        store.snapshots.remove(key)

    return path, release
