"""Garbage collection: mark from images, leases and live snapshots; sweep the rest.

Roots:
  - every image row: its blobs (index, manifest, config, layers) and its layer chain IDs;
  - every unexpired lease: the content digests and snapshot keys it holds;
  - every active or view snapshot (container root filesystems), except
    extraction snapshots (``extract-…``) older than ``extract_grace`` that no
    lease holds: those were left by a pull that crashed.
A snapshot marks its parents.  Sweep: unmarked snapshots (children first,
row then directory), directories without rows, unmarked blobs (older than
``blob_grace`` seconds, 0 by default: a pull must add a digest to its lease
BEFORE committing the blob, which ``Lease.writer`` does), stale ingests.

Called with the store lock held (ImageStore.gc), so two removes that both
trigger GC run one after the other.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from .snapshots import EXTRACT_PREFIX


@dataclass
class GcResult:
    blobs: list = field(default_factory=list)
    snapshots: list = field(default_factory=list)
    orphans: list = field(default_factory=list)
    ingests: list = field(default_factory=list)


def mark(meta, now, extract_grace):
    """(content digests, snapshot keys) that must stay."""
    meta.expire_leases(now)
    content = meta.referenced_content()
    leased_snaps = meta.leased("snapshot")
    snaps = {r.key: r for r in meta.snapshots()}
    roots = set(meta.image_chain_ids()) | leased_snaps
    for key, rec in snaps.items():
        if rec.kind == "committed":
            continue
        if key.startswith(EXTRACT_PREFIX) and key not in leased_snaps and now - rec.created > extract_grace:
            continue
        roots.add(key)
    live = set()
    for key in roots:
        while key is not None and key not in live and key in snaps:
            live.add(key)
            key = snaps[key].parent
    return content, live, snaps


def collect(store, blob_grace=0.0, extract_grace=3600.0, ingest_grace=24 * 3600.0, now=None):
    now = time.time() if now is None else now
    result = GcResult()
    meta = store.meta
    content, live, snaps = mark(meta, now, extract_grace)
    # Snapshots: remove leaves first so the parent foreign key is never violated.
    dead = {k for k in snaps if k not in live}
    while dead:
        leaves = [k for k in dead if not any(snaps[c].parent == k for c in dead)]
        if not leaves:
            break
        for key in sorted(leaves):
            store.snapshots.remove(key)
            result.snapshots.append(key)
            dead.discard(key)
    with meta.transaction():
        result.orphans = store.snapshots.clean_orphans()
    for info in store.content.walk():
        if info.digest in content or now - info.created < blob_grace:
            continue
        # Re-check under the database: a concurrent record_image may have just referenced it.
        if info.digest in meta.referenced_content():
            continue
        if store.content.delete(info.digest):
            result.blobs.append(info.digest)
    result.ingests = store.content.clean_stale_ingests(ingest_grace, now)
    return result
