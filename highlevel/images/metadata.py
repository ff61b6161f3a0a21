"""Image metadata in sqlite: images, their names, blobs and layers; snapshots; leases.

One database file, ``<root>/metadata.db``, in WAL mode with foreign keys on.
Every logical change (record an image, move a tag, commit a snapshot, remove
an image) is ONE transaction, so ``kill -9`` at any instant leaves either the
old or the new state.  Files come before rows: a blob or a snapshot directory
is complete on disk before a row refers to it, and rows go before files on
removal; whatever a crash strands on disk without a row is an orphan that the
garbage collector (gc.py) removes.

Tables::

    images(id = "sha256:<config digest>", manifest digest + media type, size,
           user (config User), annotations JSON, pinned, created)
    image_names(name -> image id, kind 'tag' | 'digest')     a name points at one image
    image_blobs(image id, digest, role 'index'|'manifest'|'config'|'layer')
    image_layers(image id, idx, digest, diff_id, media type, size, chain_id)
    snapshots(id (directory number), key, parent key, kind 'active'|'view'|'committed', created, labels,
              usage measured at commit)
    leases(id, created, expires) + lease_resources(lease id, kind 'content'|'snapshot', key)

Lifecycle of an image record: the puller writes blobs (content.py) and
committed snapshots (snapshots.py) under a lease, then calls
``put_image(record, names)`` (one transaction: the image, its blobs, its
layers, and its names, which move away from any older image), then drops the
lease.  ``remove_name`` / ``delete_image`` take names or whole images away;
gc.py then frees what nothing refers to.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from .. import errors

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS images(
    id TEXT PRIMARY KEY,
    manifest_digest TEXT NOT NULL,
    manifest_media_type TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0,
    user TEXT NOT NULL DEFAULT '',
    annotations TEXT NOT NULL DEFAULT '{}',
    pinned INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS image_names(
    name TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('tag', 'digest'))
);
CREATE INDEX IF NOT EXISTS image_names_by_image ON image_names(image_id);
CREATE TABLE IF NOT EXISTS image_blobs(
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('index', 'manifest', 'config', 'layer')),
    PRIMARY KEY (image_id, digest)
);
CREATE TABLE IF NOT EXISTS image_layers(
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    digest TEXT NOT NULL,
    diff_id TEXT NOT NULL,
    media_type TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0,
    chain_id TEXT NOT NULL,
    PRIMARY KEY (image_id, idx)
);
CREATE TABLE IF NOT EXISTS snapshots(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    parent TEXT REFERENCES snapshots(key),
    kind TEXT NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
    created REAL NOT NULL,
    labels TEXT NOT NULL DEFAULT '{}',
    usage_bytes INTEGER,          -- measured at commit (committed snapshots never change)
    usage_inodes INTEGER
);
CREATE INDEX IF NOT EXISTS snapshots_by_parent ON snapshots(parent);
CREATE TABLE IF NOT EXISTS leases(
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    expires REAL
);
CREATE TABLE IF NOT EXISTS lease_resources(
    lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('content', 'snapshot')),
    key TEXT NOT NULL,
    PRIMARY KEY (lease_id, kind, key)
);
"""


@dataclass
class LayerRecord:
    digest: str
    diff_id: str
    media_type: str
    size: int
    chain_id: str


@dataclass
class ImageRecord:
    id: str
    manifest_digest: str
    manifest_media_type: str = ""
    size: int = 0
    user: str = ""
    annotations: dict = field(default_factory=dict)
    pinned: bool = False
    created: float = 0.0
    layers: list = field(default_factory=list)      # [LayerRecord], bottom first
    blobs: dict = field(default_factory=dict)       # digest -> role


@dataclass
class SnapshotRecord:
    id: int
    key: str
    parent: str | None
    kind: str
    created: float
    labels: dict


class Metadata:
    """The sqlite database; methods are thread-safe (one connection, one lock)."""

    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA busy_timeout=30000")
        found = self._db.execute("PRAGMA user_version").fetchone()[0]
        if found > SCHEMA_VERSION:
            self._db.close()
            raise errors.FailedPrecondition(
                f"open {path}: schema version {found} is newer than this gantry's ({SCHEMA_VERSION})")
        with self.transaction() as db:
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    db.execute(stmt)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self):
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self):
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any exception); re-entrant in a thread."""
        with self._lock:
            if self._db.in_transaction:
                yield _Tx(self._db)
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield _Tx(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql, args=()):
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- images ------------------------------------------------------------
    def put_image(self, rec, names=()):
        """Record ``rec`` and point ``names`` ([(name, 'tag'|'digest')]) at it, in one transaction."""
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO images(id, manifest_digest, manifest_media_type, size, user, annotations,"
                " pinned, created) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
                " manifest_digest=excluded.manifest_digest, manifest_media_type=excluded.manifest_media_type,"
                " size=excluded.size, user=excluded.user, annotations=excluded.annotations,"
                " pinned=MAX(images.pinned, excluded.pinned)",
                (rec.id, rec.manifest_digest, rec.manifest_media_type, rec.size, rec.user,
                 json.dumps(rec.annotations, sort_keys=True), int(rec.pinned), rec.created or time.time()))
            tx.execute("DELETE FROM image_layers WHERE image_id=?", (rec.id,))
            for i, layer in enumerate(rec.layers):
                tx.execute("INSERT INTO image_layers VALUES (?,?,?,?,?,?,?)",
                           (rec.id, i, layer.digest, layer.diff_id, layer.media_type, layer.size,
                            layer.chain_id))
            for digest, role in rec.blobs.items():
                tx.execute("INSERT OR REPLACE INTO image_blobs VALUES (?,?,?)", (rec.id, digest, role))
            for name, kind in names:
                tx.execute("INSERT OR REPLACE INTO image_names(name, image_id, kind) VALUES (?,?,?)",
                           (name, rec.id, kind))

    def get_image(self, image_id):
        rows = self._query("SELECT * FROM images WHERE id=?", (image_id,))
        if not rows:
            return None
        return self._image_from_row(rows[0])

    def _image_from_row(self, row):
        (iid, mdigest, mtype, size, user, ann, pinned, created) = row
        layers = [LayerRecord(*r) for r in self._query(
            "SELECT digest, diff_id, media_type, size, chain_id FROM image_layers WHERE image_id=?"
            " ORDER BY idx", (iid,))]
        blobs = dict(self._query("SELECT digest, role FROM image_blobs WHERE image_id=?", (iid,)))
        return ImageRecord(iid, mdigest, mtype, size, user, json.loads(ann), bool(pinned), created,
                           layers, blobs)

    def list_images(self):
        return [self._image_from_row(r) for r in self._query("SELECT * FROM images ORDER BY created")]

    def image_ids(self):
        return [r[0] for r in self._query("SELECT id FROM images")]

    def image_id_by_name(self, name):
        rows = self._query("SELECT image_id FROM image_names WHERE name=?", (name,))
        return rows[0][0] if rows else None

    def names_of(self, image_id):
        """[(name, kind)] sorted by name."""
        return self._query("SELECT name, kind FROM image_names WHERE image_id=? ORDER BY name", (image_id,))

    def all_names(self):
        return self._query("SELECT name, image_id, kind FROM image_names ORDER BY name")

    def remove_name(self, name):
        """Drop one name; the image goes too when no name is left.  Returns the image id or None."""
        with self.transaction() as tx:
            row = tx.execute("SELECT image_id FROM image_names WHERE name=?", (name,)).fetchone()
            if row is None:
                return None
            tx.execute("DELETE FROM image_names WHERE name=?", (name,))
            left = tx.execute("SELECT COUNT(*) FROM image_names WHERE image_id=?", (row[0],)).fetchone()[0]
            if left == 0:
                tx.execute("DELETE FROM images WHERE id=?", (row[0],))
            return row[0]

    def set_pinned(self, image_id, pinned):
        """Pin (or unpin) an image: kubelet's image GC leaves pinned images alone."""
        with self.transaction() as tx:
            return tx.execute("UPDATE images SET pinned=? WHERE id=?", (int(pinned), image_id)).rowcount > 0

    def delete_image(self, image_id):
        """Drop an image and all its names; returns whether it existed."""
        with self.transaction() as tx:
            return tx.execute("DELETE FROM images WHERE id=?", (image_id,)).rowcount > 0

    # -- snapshots ---------------------------------------------------------
    def snapshot_get(self, key):
        rows = self._query("SELECT id, key, parent, kind, created, labels FROM snapshots WHERE key=?", (key,))
        if not rows:
            return None
        r = rows[0]
        return SnapshotRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]))

    def snapshots(self):
        return [SnapshotRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in self._query(
            "SELECT id, key, parent, kind, created, labels FROM snapshots ORDER BY id")]

    def snapshot_insert(self, tx, key, parent, kind, labels=None):
        """Insert inside the caller's transaction ``tx``; returns the new directory id."""
        if tx.execute("SELECT 1 FROM snapshots WHERE key=?", (key,)).fetchone():
            raise errors.AlreadyExists(f"snapshot {key}: already exists")
        if parent is not None:
            row = tx.execute("SELECT kind FROM snapshots WHERE key=?", (parent,)).fetchone()
            if row is None:
                raise errors.NotFound(f"snapshot {key}: parent {parent} not found")
            if row[0] != "committed":
                raise errors.FailedPrecondition(f"snapshot {key}: parent {parent} is not committed")
        cur = tx.execute("INSERT INTO snapshots(key, parent, kind, created, labels) VALUES (?,?,?,?,?)",
                         (key, parent, kind, time.time(), json.dumps(labels or {}, sort_keys=True)))
        return cur.lastrowid

    def snapshot_usage(self, sid):
        """(bytes, inodes) measured at commit, or None."""
        rows = self._query("SELECT usage_bytes, usage_inodes FROM snapshots WHERE id=?", (sid,))
        return (rows[0][0], rows[0][1]) if rows and rows[0][0] is not None else None

    def committed_usage(self):
        """(bytes, inodes) summed over committed snapshots, as measured when they were committed."""
        row = self._query("SELECT COALESCE(SUM(usage_bytes), 0), COALESCE(SUM(usage_inodes), 0) FROM snapshots"
                          " WHERE kind='committed'")[0]
        return row[0], row[1]

    def snapshot_children(self, key):
        return [r[0] for r in self._query("SELECT key FROM snapshots WHERE parent=?", (key,))]

    # -- leases ------------------------------------------------------------
    def lease_create(self, lease_id, expires=None):
        with self.transaction() as tx:
            tx.execute("INSERT INTO leases VALUES (?,?,?)", (lease_id, time.time(), expires))

    def lease_add(self, lease_id, kind, key):
        with self.transaction() as tx:
            tx.execute("INSERT OR IGNORE INTO lease_resources VALUES (?,?,?)", (lease_id, kind, key))

    def lease_delete(self, lease_id):
        with self.transaction() as tx:
            tx.execute("DELETE FROM leases WHERE id=?", (lease_id,))

    def leases(self):
        return self._query("SELECT id, created, expires FROM leases")

    def expire_leases(self, now=None):
        with self.transaction() as tx:
            return tx.execute("DELETE FROM leases WHERE expires IS NOT NULL AND expires < ?",
                              (now or time.time(),)).rowcount

    def leased(self, kind):
        return {r[0] for r in self._query("SELECT key FROM lease_resources WHERE kind=?", (kind,))}

    # -- references for GC -------------------------------------------------
    def referenced_content(self):
        return {r[0] for r in self._query("SELECT digest FROM image_blobs")} | self.leased("content")

    def image_chain_ids(self):
        return {r[0] for r in self._query("SELECT chain_id FROM image_layers")}


class _Tx:
    """The cursor-ish handle given to transaction bodies."""

    def __init__(self, db):
        self._db = db

    def execute(self, sql, args=()):
        return self._db.execute(sql, args)
