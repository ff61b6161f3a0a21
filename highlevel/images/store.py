"""ImageStore: the content store, metadata and snapshotter of one root, used together.

    store = ImageStore("/var/lib/gantry")
    with store.lease() as lease:                 # protects what a pull creates from GC
        w = lease.writer(ref, digest, size)      # = lease.add_content(digest) + content.writer(...)
        store.unpack_layer(chain_id, parent, stream, diff_id); lease.add_snapshot(chain_id)
        image_id = store.record_image(ref, manifest_digest, ...)   # one transaction
    store.gc()                                   # frees what no image or lease refers to

Rule for every writer (this process or another one on the same root): add
an object to the lease FIRST, then check whether it already exists; the
collector re-checks leases and image rows inside the transaction that
removes each object, so what a lease names is never swept.

``record_image`` is the one place an image becomes visible: it reads the
config from the content store, checks that every layer's snapshot is
committed, and writes the image, its blobs, layers and names in one
transaction (names move away from any image they pointed at before).
"""
from __future__ import annotations

import json
import os
import threading
import time
import uuid
from contextlib import contextmanager

from .. import errors
from .content import ContentStore
from .metadata import ImageRecord, LayerRecord, Metadata
from .snapshots import Snapshotter, chain_ids

# Pulls hold their lease for their whole run; a lease left by a crash expires.
DEFAULT_LEASE_SECONDS = 24 * 3600


class Lease:
    def __init__(self, store, lease_id):
        self.store = store
        self.id = lease_id

    def writer(self, ref, expected_digest, expected_size=None):
        """A content writer whose blob this lease protects from GC (lease first, then write)."""
        self.add_content(expected_digest)
        return self.store.content.writer(ref, expected_digest, expected_size)

    def add_content(self, digest):
        self.store.meta.lease_add(self.id, "content", digest)

    def add_snapshot(self, key):
        self.store.meta.lease_add(self.id, "snapshot", key)


class ImageStore:
    def __init__(self, root):
        self.root = root
        os.makedirs(root, mode=0o700, exist_ok=True)
        self.meta = Metadata(os.path.join(root, "metadata.db"))
        self.content = ContentStore(root)
        self.snapshots = Snapshotter(root, self.meta)
        # Serialises GC against record/remove in this process (sqlite does it across processes).
        self.lock = threading.RLock()

    def close(self):
        self.meta.close()

    @contextmanager
    def lease(self, seconds=DEFAULT_LEASE_SECONDS):
        lease = Lease(self, "lease-" + uuid.uuid4().hex)
        self.meta.lease_create(lease.id, time.time() + seconds)
        try:
            yield lease
        finally:
            self.meta.lease_delete(lease.id)

    # -- layers --------------------------------------------------------------
    def config(self, config_digest):
        try:
            return json.loads(self.content.read_bytes(config_digest))
        except ValueError as e:
            raise errors.DataLoss(f"image config {config_digest}: not JSON: {e}") from None

    def diff_ids(self, config_digest, cfg=None):
        cfg = self.config(config_digest) if cfg is None else cfg
        ids = (cfg.get("rootfs") or {}).get("diff_ids")
        if not isinstance(ids, list) or not all(isinstance(d, str) for d in ids):
            raise errors.InvalidArgument(f"image config {config_digest}: rootfs.diff_ids missing")
        return ids

    def _layer_ids(self, what, config_digest, layers, cfg=None):
        """(diff_ids, chain IDs) of the image config, which must list one diff_id per layer."""
        diff_ids = self.diff_ids(config_digest, cfg)
        if len(diff_ids) != len(layers):
            raise errors.InvalidArgument(
                f"{what} {config_digest}: {len(diff_ids)} diff_ids for {len(layers)} layers")
        return diff_ids, chain_ids(diff_ids)

    def unpack_layer(self, chain_id, parent_chain_id, stream, diff_id, compression=None):
        """See Snapshotter.unpack_layer."""
        return self.snapshots.unpack_layer(chain_id, parent_chain_id, stream, diff_id, compression)

    def unpack_from_content(self, config_digest, layers, lease=None):
        """Unpack every layer (``[(digest, media_type, size)]``, bottom first) from stored blobs."""
        diff_ids, chains = self._layer_ids("image config", config_digest, layers)
        for i, (digest, _media_type, _size) in enumerate(layers):
            if lease is not None:
                lease.add_snapshot(chains[i])
            if self.snapshots.exists(chains[i]):
                continue
            with self.content.open(digest) as f:
                self.snapshots.unpack_layer(chains[i], chains[i - 1] if i else None, f, diff_ids[i])
        return chains

    # -- images --------------------------------------------------------------
    def record_image(self, names, manifest_digest, manifest_media_type, config_digest, layers,
                     index_digest=None, annotations=None, pinned=False):
        """Make an image visible under ``names`` ([(name, 'tag'|'digest')]); returns its id.

        ``layers``: [(digest, media_type, size)] bottom first, as in the manifest.
        The config, manifest and (if given) index must be in the content store,
        and every layer's committed snapshot must exist.
        """
        cfg = self.config(config_digest)
        diff_ids, chains = self._layer_ids("record image", config_digest, layers, cfg)
        for c in chains:
            rec = self.meta.snapshot_get(c)
            if rec is None or rec.kind != "committed":
                raise errors.FailedPrecondition(f"record image {config_digest}: layer snapshot {c} missing")
        blobs = {config_digest: "config", manifest_digest: "manifest"}
        if index_digest:
            blobs[index_digest] = "index"
        size = 0
        for digest in blobs:
            size += self.content.info(digest).size
        layer_recs = []
        for (digest, media_type, lsize), diff_id, chain in zip(layers, diff_ids, chains, strict=True):
            blobs.setdefault(digest, "layer")
            size += lsize
            layer_recs.append(LayerRecord(digest, diff_id, media_type, lsize, chain))
        user = ((cfg.get("config") or {}).get("User")) or ""
        rec = ImageRecord(config_digest, manifest_digest, manifest_media_type, size, user,
                          dict(annotations or {}), pinned, time.time(), layer_recs, blobs)
        with self.lock:
            self.meta.put_image(rec, names)
        return config_digest

    def gc(self, **kw):
        from .gc import collect

        with self.lock:
            return collect(self, **kw)
