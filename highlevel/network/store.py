"""The built-in bridge's records: addresses and pods, in sqlite (<root>/network/ipam.db).

One transaction per change (WAL), so a ``kill -9`` leaves the state before or
after it.  An address row and its pod's record are written together *before*
anything is created on the host, so teardown and recovery always find what a
setup may have left, whatever step it died in.

Tables::

    addresses(ip PRIMARY KEY, pod_id, subnet)      -- never one ip twice
    pods(pod_id PRIMARY KEY, record JSON)           -- what teardown removes
    cursors(subnet PRIMARY KEY, last)               -- round-robin position
"""
import ipaddress
import json
import os
import sqlite3
import threading

from ..errors import Internal
from .ipam import pick_address

_SCHEMA = """
CREATE TABLE IF NOT EXISTS addresses (ip TEXT PRIMARY KEY, pod_id TEXT NOT NULL, subnet TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS addresses_pod ON addresses(pod_id);
CREATE TABLE IF NOT EXISTS pods (pod_id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cursors (subnet TEXT PRIMARY KEY, last TEXT NOT NULL);
"""


class NetworkStore:
    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise Internal("open network store %s: %s" % (path, exc)) from exc
        self._lock = threading.Lock()

    def _txn(self, fn):
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    out = fn(self._db)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
                return out
            except sqlite3.Error as exc:
                raise Internal("network store %s: %s" % (self.path, exc)) from exc

    def reserve(self, pod_id, nets, record):
        """One address in each of ``nets`` for ``pod_id``, stored with ``record`` + {"ips": [...]}; the record."""
        def change(db):
            ips = []
            for net in nets:
                subnet = str(net)
                used = {ipaddress.ip_address(r[0]) for r in db.execute(
                    "SELECT ip FROM addresses WHERE subnet = ?", (subnet,))}
                row = db.execute("SELECT last FROM cursors WHERE subnet = ?", (subnet,)).fetchone()
                ip = str(pick_address(net, used, ipaddress.ip_address(row[0]) if row else None))
                db.execute("INSERT INTO addresses (ip, pod_id, subnet) VALUES (?, ?, ?)", (ip, pod_id, subnet))
                db.execute("INSERT OR REPLACE INTO cursors (subnet, last) VALUES (?, ?)", (subnet, ip))
                ips.append(ip)
            full = dict(record, ips=ips)
            db.execute("INSERT OR REPLACE INTO pods (pod_id, record) VALUES (?, ?)", (pod_id, json.dumps(full)))
            return full
        return self._txn(change)

    def update(self, pod_id, record):
        self._txn(lambda db: db.execute("UPDATE pods SET record = ? WHERE pod_id = ?",
                                        (json.dumps(record), pod_id)))

    def record(self, pod_id):
        with self._lock:
            row = self._db.execute("SELECT record FROM pods WHERE pod_id = ?", (pod_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def pod_ids(self):
        with self._lock:
            ids = {r[0] for r in self._db.execute("SELECT pod_id FROM pods")}
            ids |= {r[0] for r in self._db.execute("SELECT pod_id FROM addresses")}
        return ids

    def addresses(self):
        """{ip: pod_id} of every address handed out."""
        with self._lock:
            return dict(self._db.execute("SELECT ip, pod_id FROM addresses").fetchall())

    def release(self, pod_id):
        """Forget the pod and free its addresses (after its links and rules are gone)."""
        def change(db):
            db.execute("DELETE FROM addresses WHERE pod_id = ?", (pod_id,))
            db.execute("DELETE FROM pods WHERE pod_id = ?", (pod_id,))
        self._txn(change)

    def close(self):
        with self._lock:
            self._db.close()
