"""Garbage collection: mark from images, leases and live snapshots; sweep the rest.

Roots:
  - every image row: its blobs (index, manifest, config, layers) and its layer chain IDs;
  - every unexpired lease: the content digests and snapshot keys it holds;
  - every active or view snapshot (container root filesystems), except
    extraction snapshots (``extract-…``) that no lease holds and whose owner
    process is gone or, for any owner, that are older than ``extract_grace``:
    those were left by a pull that crashed.
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

from . import owner
from .snapshots import EXTRACT_PREFIX


@dataclass
class GcResult:
    blobs: list = field(default_factory=list)
    snapshots: list = field(default_factory=list)
    orphans: list = field(default_factory=list)
    ingests: list = field(default_factory=list)


def mark(meta, now, extract_grace):
    """(content digests, snapshot keys) that must stay."""
    content = meta.referenced_content()
    leased_snaps = meta.leased("snapshot")
    snaps = {r.key: r for r in meta.snapshots()}
    roots = set(meta.image_chain_ids()) | leased_snaps
    for key, rec in snaps.items():
        if rec.kind == "committed":
            continue
        if key.startswith(EXTRACT_PREFIX) and key not in leased_snaps and (
                now - rec.created > extract_grace or owner.gone(rec.labels.get("owner"))):
            continue
        roots.add(key)
    live = set()
    for key in roots:
        while key is not None and key not in live and key in snaps:
            live.add(key)
            key = snaps[key].parent
    return content, live, snaps


def _still_dead_snapshot(tx, key):
    """Inside the removal's transaction: nothing took ``key`` since the mark (another process)."""
    return not (tx.execute("SELECT 1 FROM lease_resources WHERE kind='snapshot' AND key=?", (key,)).fetchone()
                or tx.execute("SELECT 1 FROM image_layers WHERE chain_id=?", (key,)).fetchone()
                or tx.execute("SELECT 1 FROM snapshots WHERE parent=?", (key,)).fetchone())


def _still_dead_blob(tx, digest):
    return not (tx.execute("SELECT 1 FROM lease_resources WHERE kind='content' AND key=?", (digest,)).fetchone()
                or tx.execute("SELECT 1 FROM image_blobs WHERE digest=?", (digest,)).fetchone())


def collect(store, blob_grace=0.0, extract_grace=3600.0, ingest_grace=24 * 3600.0, now=None):
    """Mark, then sweep; each removal re-checks its object inside a write transaction, so a
    process that leases an object (always before it checks the object exists) keeps it."""
    now = time.time() if now is None else now
    result = GcResult()
    meta = store.meta
    meta.expire_leases(now)
    with meta.transaction():           # one consistent view for the whole mark
        content, live, snaps = mark(meta, now, extract_grace)
    # Snapshots: remove leaves first so the parent foreign key is never violated.
    dead = {k for k in snaps if k not in live}
    while dead:
        leaves = [k for k in dead if not any(snaps[c].parent == k for c in dead)]
        if not leaves:
            break
        for key in sorted(leaves):
            dead.discard(key)
            with meta.transaction() as tx:
                if not _still_dead_snapshot(tx, key):
                    continue
                sid = store.snapshots.remove_record(key)
            store.snapshots.remove_directory(sid)     # a big tree: deleted without the database lock
            result.snapshots.append(key)
    with meta.transaction():
        result.orphans = store.snapshots.clean_orphans()
    for info in store.content.walk():
        if info.digest in content or now - info.created < blob_grace:
            continue
        with meta.transaction() as tx:
            if _still_dead_blob(tx, info.digest) and store.content.delete(info.digest):
                result.blobs.append(info.digest)
    result.ingests = store.content.clean_stale_ingests(ingest_grace, now)
    return result
