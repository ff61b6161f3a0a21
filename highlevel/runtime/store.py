"""Pod and container records of gantryd, in sqlite (``<root>/runtime.db``).

One row per pod and per container: the columns gantryd looks things up by
(id, unique name, state, pod) and a JSON document with the rest (the CRI
config as serialized protobuf, paths, times, exit status).  Every change is
one transaction (WAL, synchronous=FULL), so a ``kill -9`` leaves the old or
the new row, never half of one.

States (one table each, read by ``transition``)::

    pod:        creating -> ready -> notready -> (row deleted)
    container:  creating -> created -> running -> exited -> (row deleted)
                            created -> exited (stopped or failed before it ran)

``creating`` marks a call that was still at work: a gantryd killed then leaves
the row behind, and recovery (recovery.py) undoes what the row records.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from .. import errors

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS pods (
    id TEXT PRIMARY KEY,
    name_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    pod_id TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS containers_pod ON containers(pod_id)
"""

POD_STATES = {
    "creating": {"ready", "notready"},
    "ready": {"notready"},
    "notready": set(),
}
CONTAINER_STATES = {
    "creating": {"created", "exited"},
    "created": {"running", "exited"},
    "running": {"exited"},
    "exited": set(),
}


def transition(table, kind, obj_id, old, new):
    """The next state, or FailedPrecondition naming the object and both states."""
    if old == new:
        return new
    if new not in table.get(old, ()):
        raise errors.FailedPrecondition("%s %s: cannot go from %s to %s" % (kind, obj_id, old, new))
    return new


@dataclass
class Pod:
    id: str
    name_key: str
    state: str
    config: bytes = b""               # cri PodSandboxConfig, serialized
    runtime_handler: str = ""
    created_ns: int = 0
    dir: str = ""                     # <state>/pods/<id>: ns files, shm, etc files
    namespaces: dict = field(default_factory=dict)   # "network"/"ipc"/"uts"/"pid" -> path
    cgroup_parent: str = ""
    ips: list = field(default_factory=list)
    network: bool = False             # the network was set up (teardown owed)
    stopping: bool = False            # StopPodSandbox began (recovery finishes it if gantryd died meanwhile)
    removing: bool = False            # RemovePodSandbox began releasing (recovery finishes it likewise)
    infra: dict = field(default_factory=dict)        # the pause process: shim state dir, address, pid
    shm_mounted: bool = False


@dataclass
class Container:
    id: str
    pod_id: str
    name_key: str
    state: str
    config: bytes = b""               # cri ContainerConfig, serialized
    image_ref: str = ""               # what the user asked for (config.image.image)
    image_id: str = ""
    created_ns: int = 0
    started_ns: int = 0
    finished_ns: int = 0
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    log_path: str = ""
    bundle: str = ""                  # <state>/containers/<id>
    shim_dir: str = ""                # the shim's state dir
    shim_address: str = ""
    pid: int = 0
    snapshot_key: str = ""
    rootfs_mounted: bool = False
    runtime: str = ""                 # handler name
    stop_signal: int = 15
    tty: bool = False
    stdin: bool = False
    stdin_once: bool = False
    image_volumes: list = field(default_factory=list)  # [[snapshot key, mount point, image id]] (CRI image mounts)
    removing: bool = False            # RemoveContainer began releasing (recovery finishes it if gantryd died meanwhile)


def _encode(obj):
    doc = asdict(obj)
    doc["config"] = doc["config"].hex()
    return json.dumps(doc, sort_keys=True)


def _decode(cls, text):
    doc = json.loads(text)
    doc["config"] = bytes.fromhex(doc.get("config", ""))
    known = {f for f in cls.__dataclass_fields__}
    return cls(**{k: v for k, v in doc.items() if k in known})


class RuntimeStore:
    """Thread-safe: one connection, one lock; ``transaction()`` is re-entrant per thread."""

    def __init__(self, path):
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=30000"):
            self._db.execute("PRAGMA " + pragma)
        found = self._db.execute("PRAGMA user_version").fetchone()[0]
        if found > SCHEMA_VERSION:
            self._db.close()
            raise errors.FailedPrecondition("open %s: schema version %d is newer than this gantryd's (%d)"
                                            % (path, found, SCHEMA_VERSION))
        with self.transaction() as db:
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    db.execute(stmt)
            db.execute("PRAGMA user_version=%d" % SCHEMA_VERSION)

    def close(self):
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self):
        with self._lock:
            if self._db.in_transaction:
                yield self._db
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql, args=()):
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- pods ------------------------------------------------------------------
    def add_pod(self, pod):
        with self.transaction() as db:
            row = db.execute("SELECT id FROM pods WHERE name_key=?", (pod.name_key,)).fetchone()
            if row is not None:
                raise errors.AlreadyExists("RunPodSandbox %s: a pod with this name and attempt exists (id %s)"
                                           % (pod.name_key, row[0]))
            db.execute("INSERT INTO pods (id, name_key, state, doc) VALUES (?, ?, ?, ?)",
                       (pod.id, pod.name_key, pod.state, _encode(pod)))

    def put_pod(self, pod):
        with self.transaction() as db:
            old = db.execute("SELECT state FROM pods WHERE id=?", (pod.id,)).fetchone()
            if old is None:
                raise errors.NotFound("pod sandbox %s: not found" % pod.id)
            transition(POD_STATES, "pod sandbox", pod.id, old[0], pod.state)
            db.execute("UPDATE pods SET state=?, doc=? WHERE id=?", (pod.state, _encode(pod), pod.id))

    def get_pod(self, pod_id):
        rows = self._rows("SELECT doc FROM pods WHERE id=?", (pod_id,))
        return _decode(Pod, rows[0][0]) if rows else None

    def pods(self):
        return [_decode(Pod, r[0]) for r in self._rows("SELECT doc FROM pods ORDER BY rowid")]

    def delete_pod(self, pod_id):
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM containers WHERE pod_id=? LIMIT 1", (pod_id,)).fetchone():
                raise errors.FailedPrecondition("remove pod sandbox %s: it still has containers" % pod_id)
            db.execute("DELETE FROM pods WHERE id=?", (pod_id,))

    # -- containers -------------------------------------------------------------
    def add_container(self, ctr):
        with self.transaction() as db:
            pod = db.execute("SELECT state FROM pods WHERE id=?", (ctr.pod_id,)).fetchone()
            if pod is None:
                raise errors.NotFound("CreateContainer: pod sandbox %s not found" % ctr.pod_id)
            if pod[0] != "ready":
                raise errors.FailedPrecondition("CreateContainer: pod sandbox %s is %s, not ready"
                                                % (ctr.pod_id, pod[0]))
            row = db.execute("SELECT id FROM containers WHERE name_key=?", (ctr.name_key,)).fetchone()
            if row is not None:
                raise errors.AlreadyExists("CreateContainer %s: a container with this name and attempt exists "
                                           "in the pod (id %s)" % (ctr.name_key, row[0]))
            db.execute("INSERT INTO containers (id, pod_id, name_key, state, doc) VALUES (?, ?, ?, ?, ?)",
                       (ctr.id, ctr.pod_id, ctr.name_key, ctr.state, _encode(ctr)))

    def put_container(self, ctr):
        with self.transaction() as db:
            old = db.execute("SELECT state FROM containers WHERE id=?", (ctr.id,)).fetchone()
            if old is None:
                raise errors.NotFound("container %s: not found" % ctr.id)
            transition(CONTAINER_STATES, "container", ctr.id, old[0], ctr.state)
            db.execute("UPDATE containers SET state=?, doc=? WHERE id=?", (ctr.state, _encode(ctr), ctr.id))

    def get_container(self, ctr_id):
        rows = self._rows("SELECT doc FROM containers WHERE id=?", (ctr_id,))
        return _decode(Container, rows[0][0]) if rows else None

    def containers(self, pod_id=None):
        if pod_id is None:
            rows = self._rows("SELECT doc FROM containers ORDER BY rowid")
        else:
            rows = self._rows("SELECT doc FROM containers WHERE pod_id=? ORDER BY rowid", (pod_id,))
        return [_decode(Container, r[0]) for r in rows]

    def delete_container(self, ctr_id):
        with self.transaction() as db:
            db.execute("DELETE FROM containers WHERE id=?", (ctr_id,))

    def resolve_short(self, short):
        """The id of any pod or container starting with ``short``, or None."""
        for table in ("pods", "containers"):
            rows = self._rows("SELECT id FROM %s WHERE substr(id, 1, ?) = ? LIMIT 1" % table, (len(short), short))
            if rows:
                return rows[0][0]
        return None

    def resolve(self, table, prefix):
        """The one full id starting with ``prefix`` (crictl passes truncated ids), or None."""
        if len(prefix) == 64:
            return prefix
        rows = self._rows("SELECT id FROM %s WHERE id LIKE ? LIMIT 2" % table, (prefix.replace("%", "") + "%",))
        if len(rows) == 1:
            return rows[0][0]
        if len(rows) > 1:
            raise errors.InvalidArgument("%s id prefix %s: ambiguous" % (table[:-1], prefix))
        return None
