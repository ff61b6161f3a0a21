"""Content store: immutable blobs addressed by digest, plus resumable ingests.

Layout (the same as containerd's local store)::

    <root>/content/blobs/sha256/<hex>          committed, read-only blobs
    <root>/content/ingest/<sha256(ref)>/data   bytes received so far for one ref
    <root>/content/ingest/<sha256(ref)>/meta   JSON: ref, expected digest/size, start time
    <root>/content/ingest/<sha256(ref)>/lock   flock held by the one writer of that ref

Lifecycle of a write (``ref`` is a caller-chosen name, e.g. ``"layer-sha256:ab.."``)::

    w = store.writer(ref, expected_digest="sha256:..", expected_size=123)
    w.offset          # bytes already ingested by an earlier, interrupted writer:
                      # resume the download with ``Range: bytes=<offset>-``
    w.write(chunk)    # append; a full disk raises errors.ResourceExhausted and
                      # drops the ingest (nothing half-written is left)
    w.commit()        # verifies size and sha256, fsyncs, renames into blobs/;
                      # a mismatch raises errors.DataLoss naming the digest and
                      # drops the ingest; returns the digest
    w.abort()         # drops the ingest (also what ``with`` does on an exception)

If the blob already exists, ``writer`` still works and ``commit`` simply
discards the ingest (content is deduplicated by digest).  Only one writer per
ref at a time: a second one gets errors.Unavailable ("ref locked") so two
pulls of the same layer cannot interleave bytes.  Readers: ``open(digest)``
(a binary file), ``info(digest)``, ``exists``, ``delete``, ``walk()``.
Ingests left by a crash are resumed by the next writer of the same ref or
removed by ``clean_stale_ingests(older_than)`` (the garbage collector calls it).
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import threading
import time
from dataclasses import dataclass

from .. import errors

_CHUNK = 1 << 20
LOCK_WAIT = 2.0     # seconds a writer waits for an ingest lock before answering Unavailable


@dataclass(frozen=True)
class BlobInfo:
    digest: str
    size: int
    created: float


def split_digest(digest):
    """``"sha256:<64 hex>"`` -> hex; anything else is errors.InvalidArgument."""
    if not isinstance(digest, str) or ":" not in digest:
        raise errors.InvalidArgument(f"digest {digest!r}: expected sha256:<hex>")
    alg, hexpart = digest.split(":", 1)
    if alg != "sha256":
        raise errors.InvalidArgument(f"digest {digest}: unsupported algorithm {alg!r}")
    if len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
        raise errors.InvalidArgument(f"digest {digest}: malformed hex")
    return hexpart


def _os_failure(exc, what):
    """The domain error for an OSError while ``what`` ran: a full disk or quota is ResourceExhausted."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return errors.ResourceExhausted(f"{what}: no space left on device")
    return errors.Internal(f"{what}: {exc}")


class ContentStore:
    """Blobs under ``<root>/content``; safe to share between threads and processes."""

    def __init__(self, root):
        self.root = os.path.join(root, "content")
        self.blobs = os.path.join(self.root, "blobs", "sha256")
        self.ingest_root = os.path.join(self.root, "ingest")
        os.makedirs(self.blobs, mode=0o700, exist_ok=True)
        os.makedirs(self.ingest_root, mode=0o700, exist_ok=True)

    # -- reading -----------------------------------------------------------
    def blob_path(self, digest):
        return os.path.join(self.blobs, split_digest(digest))

    def exists(self, digest):
        return os.path.exists(self.blob_path(digest))

    def info(self, digest):
        try:
            st = os.stat(self.blob_path(digest))
        except FileNotFoundError:
            raise errors.NotFound(f"content {digest}: not found") from None
        return BlobInfo(digest, st.st_size, st.st_mtime)

    def open(self, digest):
        try:
            return open(self.blob_path(digest), "rb", buffering=_CHUNK)
        except FileNotFoundError:
            raise errors.NotFound(f"content {digest}: not found") from None

    def read_bytes(self, digest):
        with self.open(digest) as f:
            return f.read()

    def delete(self, digest):
        """Remove a blob; absent is not an error (returns False)."""
        try:
            os.unlink(self.blob_path(digest))
            return True
        except FileNotFoundError:
            return False

    def walk(self):
        """Every committed blob, as BlobInfo."""
        for name in sorted(os.listdir(self.blobs)):
            if len(name) != 64:
                continue  # a temp file of a commit in progress
            try:
                st = os.stat(os.path.join(self.blobs, name))
            except FileNotFoundError:
                continue
            yield BlobInfo("sha256:" + name, st.st_size, st.st_mtime)

    # -- writing -----------------------------------------------------------
    def writer(self, ref, expected_digest=None, expected_size=None):
        if expected_digest is not None:
            split_digest(expected_digest)
        return Writer(self, ref, expected_digest, expected_size)

    def put_bytes(self, data, expected_digest=None):
        """Store a small blob in one go (manifests, configs); returns its digest."""
        digest = expected_digest or "sha256:" + hashlib.sha256(data).hexdigest()
        if self.exists(digest):
            return digest
        # a ref of its own: two puts of the same bytes never contend for one ingest
        w = self.writer(f"put-{digest}-{os.getpid()}-{threading.get_ident()}", digest, len(data))
        try:
            w.write(data)
            return w.commit()
        except BaseException:
            w.abort()
            raise

    def ingests(self):
        """Names of the ingest directories present (for tests and GC)."""
        return sorted(os.listdir(self.ingest_root))

    def clean_stale_ingests(self, older_than, now=None):
        """Remove unlocked ingests whose data was last written ``older_than`` seconds ago."""
        removed = []
        now = time.time() if now is None else now
        for name in self.ingests():
            d = os.path.join(self.ingest_root, name)
            if now - _last_write(d) < older_than:
                continue  # young: not even locked, so a writer of this ref never waits for us
            lock = _try_lock(d)
            if lock is None:
                continue  # a live writer
            try:
                if now - _last_write(d) >= older_than:
                    shutil.rmtree(d, ignore_errors=True)
                    removed.append(name)
            finally:
                os.close(lock)
        return removed


def _last_write(ingest_dir):
    try:
        return max((os.stat(os.path.join(ingest_dir, f)).st_mtime for f in os.listdir(ingest_dir)), default=0)
    except FileNotFoundError:
        return time.time()


def _try_lock(ingest_dir):
    try:
        fd = os.open(os.path.join(ingest_dir, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


class Writer:
    """One ingest in progress; see the module docstring for the lifecycle."""

    def __init__(self, store, ref, expected_digest, expected_size):
        self.store = store
        self.ref = ref
        self.expected_digest = expected_digest
        self.expected_size = expected_size
        self.dir = os.path.join(store.ingest_root, hashlib.sha256(ref.encode()).hexdigest())
        self._lock = self._acquire()
        self._closed = False
        self._hash = hashlib.sha256()
        self.offset = 0
        try:
            self._open_data()
        except BaseException:
            self._release()
            raise

    def _acquire(self):
        """The ingest directory's lock.  The garbage collector holds it for a moment while it
        looks at an old ingest: wait that out; another live writer of the ref is Unavailable."""
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            fd = _try_lock(self.dir)
            if fd is not None:
                try:
                    same = os.path.samestat(os.fstat(fd), os.stat(os.path.join(self.dir, "lock")))
                except FileNotFoundError:
                    same = False
                if same:
                    return fd
                os.close(fd)        # the collector removed the directory under us: start again
                continue
            if time.monotonic() > deadline:
                raise errors.Unavailable(f"ingest {self.ref}: ref locked by another writer")
            time.sleep(0.02)

    def _open_data(self):
        data_path = os.path.join(self.dir, "data")
        meta_path = os.path.join(self.dir, "meta")
        meta = {"ref": self.ref, "expected": self.expected_digest, "size": self.expected_size}
        resumable = False
        try:
            with open(meta_path) as f:
                old = json.load(f)
            resumable = (isinstance(old, dict) and old.get("expected") == self.expected_digest
                         and old.get("ref") == self.ref)
        except (OSError, ValueError, RecursionError):   # torn or not ours: start from zero
            pass
        if not resumable:
            # A different target (or no meta yet): start from zero.
            with open(meta_path + ".tmp", "w") as f:
                json.dump(meta | {"started": time.time()}, f)
            os.replace(meta_path + ".tmp", meta_path)
            self._file = open(data_path, "wb", buffering=0)
            return
        self._file = open(data_path, "ab", buffering=0)
        # Re-hash what an earlier writer left so the digest covers the whole blob.
        with open(data_path, "rb") as f:
            while True:
                chunk = f.read(_CHUNK)
                if not chunk:
                    break
                self._hash.update(chunk)
                self.offset += len(chunk)
        if self.expected_size is not None and self.offset > self.expected_size:
            self._file.truncate(0)
            self._file.seek(0)
            self._hash = hashlib.sha256()
            self.offset = 0

    def truncate(self, size=0):
        """Restart from zero (a registry that ignores Range)."""
        if size != 0:
            raise errors.InvalidArgument(f"ingest {self.ref}: can only truncate to 0")
        self._file.truncate(0)
        self._file.seek(0)
        self._hash = hashlib.sha256()
        self.offset = 0

    def write(self, data):
        if self._closed:
            raise errors.FailedPrecondition(f"ingest {self.ref}: writer closed")
        try:
            view = memoryview(data)
            while view:
                n = self._file.write(view)
                view = view[n:]
        except OSError as e:
            self.abort()
            raise _os_failure(e, f"ingest {self.ref}: write") from e
        self._hash.update(data)
        self.offset += len(data)
        if self.expected_size is not None and self.offset > self.expected_size:
            self.abort()
            raise errors.DataLoss(
                f"ingest {self.ref}: {self.expected_digest or 'blob'} is larger than the expected "
                f"{self.expected_size} bytes")
        return len(data)

    @property
    def digest(self):
        return "sha256:" + self._hash.hexdigest()

    def commit(self):
        """Verify, fsync and publish the blob; returns its digest."""
        if self._closed:
            raise errors.FailedPrecondition(f"ingest {self.ref}: writer closed")
        digest = self.digest
        if self.expected_size is not None and self.offset != self.expected_size:
            self.abort()
            raise errors.DataLoss(
                f"commit {self.expected_digest or digest}: size {self.offset} != expected {self.expected_size}")
        if self.expected_digest is not None and digest != self.expected_digest:
            self.abort()
            raise errors.DataLoss(
                f"commit {self.expected_digest}: content has digest {digest} (corrupt or wrong blob)")
        target = self.store.blob_path(digest)
        try:
            if not os.path.exists(target):
                os.fsync(self._file.fileno())
                os.chmod(os.path.join(self.dir, "data"), 0o444)
                os.rename(os.path.join(self.dir, "data"), target)
                _fsync_dir(self.store.blobs)
        except OSError as e:
            self.abort()
            raise _os_failure(e, f"commit {digest}") from e
        self._finish()
        return digest

    def abort(self):
        """Drop the ingest; safe to call twice."""
        if not self._closed:
            self._finish()

    def close(self):
        """Keep the ingest on disk for a later resume, release the lock."""
        if not self._closed:
            self._closed = True
            try:
                self._file.close()
            finally:
                self._release()

    def _finish(self):
        self._closed = True
        try:
            self._file.close()
        except OSError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
        self._release()

    def _release(self):
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()
        else:
            self.close()
        return False


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
