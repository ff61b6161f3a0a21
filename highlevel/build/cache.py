"""The build layer cache: which layer a filesystem step made on top of which parent, keyed like BuildKit's.

    cache = LayerCache(image_store)                 # <root>/images/build-cache/, one file per key
    key = step_key(parent_chain_id, "RUN /bin/sh -c make", ["sha256:<sources digest>"], env, user, ...)
    hit = cache.get(key)            # CachedLayer(chain_id, diff_id, digest, media_type, size) or None
    cache.put(key, CachedLayer(...))

The key is a sha256 over the parent's chain ID (the whole layer chain below
the step; "scratch" for none), the instruction after variable expansion,
the state RUN sees (environment, user, working directory, shell, network)
and, for COPY/ADD, the digest of the copied content (context.digest).  So
an unchanged Dockerfile over unchanged files finds every layer again, and
any change invalidates that step and every one after it (their parent
chain changes).

A hit is only used when its snapshot and its layer blob still exist.  Every
cached layer is named in one lease of the image store ("build-cache",
renewed on every put) so the garbage collector keeps it even when no image
refers to it, e.g. the layers before a RUN that failed.  Entries are
written temp + fsync + rename: a torn file does not exist.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass

LEASE_ID = "build-cache"
LEASE_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class CachedLayer:
    chain_id: str
    diff_id: str
    digest: str
    media_type: str
    size: int


def step_key(parent_chain_id, instruction, content_digests=(), **state):
    """The cache key of one filesystem step (see the module docstring)."""
    h = hashlib.sha256()
    h.update(b"gantry-build-v1\0")
    h.update((parent_chain_id or "scratch").encode() + b"\0")
    h.update(instruction.encode("utf-8", "surrogateescape") + b"\0")
    for d in content_digests:
        h.update(d.encode() + b"\0")
    h.update(json.dumps(state, sort_keys=True).encode())
    return h.hexdigest()


class LayerCache:
    def __init__(self, store):
        self.store = store
        self.dir = os.path.join(store.root, "build-cache")
        os.makedirs(self.dir, mode=0o700, exist_ok=True)

    def _path(self, key):
        return os.path.join(self.dir, key + ".json")

    def get(self, key):
        try:
            with open(self._path(key)) as f:
                hit = CachedLayer(**json.load(f))
        except (OSError, ValueError, TypeError):
            return None
        if not self.store.snapshots.exists(hit.chain_id) or not self.store.content.exists(hit.digest):
            return None
        return hit

    def put(self, key, layer):
        self._lease(layer)
        path = self._path(key)
        tmp = path + ".tmp-%d" % os.getpid()
        with open(tmp, "w") as f:
            json.dump(asdict(layer), f)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)

    def protect(self, layer):
        """Name the layer's snapshot and blob in the cache lease (before GC could see them unreferenced)."""
        self._lease(layer)

    def _lease(self, layer):
        meta = self.store.meta
        expires = time.time() + LEASE_SECONDS
        with meta.transaction() as tx:
            # an UPDATE, never a REPLACE: replacing the row would cascade to the resources it names
            if tx.execute("UPDATE leases SET expires=? WHERE id=?", (expires, LEASE_ID)).rowcount == 0:
                tx.execute("INSERT INTO leases VALUES (?,?,?)", (LEASE_ID, time.time(), expires))
        meta.lease_add(LEASE_ID, "snapshot", layer.chain_id)
        meta.lease_add(LEASE_ID, "content", layer.digest)
