"""Live pull progress, shared with clients through one file per running pull.

CRI PullImage is a single unary call, so a client cannot hear progress over
it.  gantryd therefore publishes each running pull in the state directory::

    <state>/pulls/<sha256 of the reference as requested>.json
    {"ref": "busybox:1.36", "started": 1764475200.1, "updated": 1764475201.6,
     "done": 1048576, "total": 2883584,
     "blobs": {"sha256:…": [1048576, 1462315], "sha256:…": [0, 1421269]}}

The file is replaced atomically (temp + rename) at most every
``MIN_INTERVAL`` seconds while bytes arrive, and removed when the pull ends,
whatever the outcome.  Concurrent pulls of one reference share one file
(``Publisher``): they share their downloads too, and the file goes when the
last of them ends.  ``gantryctl pull`` finds the state directory through
``Status(verbose)`` and polls the file while its PullImage call runs.  The
directory is root's (the state dir), so only root reads progress.
"""
import hashlib
import json
import os
import threading
import time
from contextlib import contextmanager

MIN_INTERVAL = 0.5
DIR_NAME = "pulls"


def progress_path(pulls_dir, ref):
    return os.path.join(pulls_dir, hashlib.sha256(ref.encode("utf-8")).hexdigest() + ".json")


def render(ref, started, updated, blobs):
    """The file's content (pure)."""
    done = sum(d for d, _ in blobs.values())
    total = sum(t for _, t in blobs.values() if t)
    doc = {"ref": ref, "started": round(started, 3), "updated": round(updated, 3), "done": done,
           "total": total, "blobs": {k: [d, t] for k, (d, t) in sorted(blobs.items())}}
    return json.dumps(doc, sort_keys=True).encode("utf-8")


def parse(data):
    """File content -> dict, or None for a torn or foreign file."""
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    if not isinstance(doc, dict) or not all(k in doc for k in ("ref", "done", "total", "blobs")):
        return None
    return doc


def describe(doc):
    """One human line: ``busybox:1.36: 1.0 of 2.9 MB (2 blobs, 1 done)``."""
    blobs = doc["blobs"].values()
    finished = sum(1 for d, t in blobs if t and d >= t)
    return "%s: %.1f of %.1f MB (%d blobs, %d done)" % (doc["ref"], doc["done"] / 1e6, doc["total"] / 1e6,
                                                        len(doc["blobs"]), finished)


class ProgressFile:
    """Collects ``progress(digest, done, total)`` calls from download threads into the file."""

    def __init__(self, pulls_dir, ref, clock=time.time, min_interval=MIN_INTERVAL):
        self.path = progress_path(pulls_dir, ref)
        self.ref = ref
        self.clock = clock
        self.min_interval = min_interval
        self.started = clock()
        self._blobs = {}
        self._last_write = None
        self._lock = threading.Lock()
        os.makedirs(pulls_dir, mode=0o700, exist_ok=True)

    def update(self, digest, done, total=None):
        # the (throttled, tiny) write happens under the lock, so close() can never race a rename
        with self._lock:
            self._blobs[digest] = (int(done), int(total or 0))
            now = self.clock()
            if self._last_write is not None and now - self._last_write < self.min_interval:
                return
            self._last_write = now
            self._write(render(self.ref, self.started, now, self._blobs))

    def _write(self, data):
        tmp = "%s.%d.%d.tmp" % (self.path, os.getpid(), threading.get_ident())
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, self.path)
        except OSError:
            # progress is a courtesy: a full disk must not fail the pull
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def close(self):
        with self._lock:
            self._last_write = float("inf")  # no write after close
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


class Publisher:
    """The progress files of the running pulls under ``pulls_dir``, one per reference.

        with publisher.publishing(ref) as progress_file:   # shared by concurrent pulls of ref
            ... progress_file.update(digest, done, total) ...
    """

    def __init__(self, pulls_dir, **file_options):
        self.pulls_dir = pulls_dir
        self.file_options = file_options
        self._lock = threading.Lock()
        self._open = {}   # ref -> [ProgressFile, number of pulls using it]

    @contextmanager
    def publishing(self, ref):
        with self._lock:
            entry = self._open.get(ref)
            if entry is None:
                entry = self._open[ref] = [ProgressFile(self.pulls_dir, ref, **self.file_options), 0]
            entry[1] += 1
        try:
            yield entry[0]
        finally:
            with self._lock:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._open[ref]
                    entry[0].close()
