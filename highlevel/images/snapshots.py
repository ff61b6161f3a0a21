"""Overlay snapshotter: one directory per layer, keyed by chain ID, shared between images.

Layout::

    <root>/snapshots/<id>/fs     the layer's files (committed) or the upper dir (active)
    <root>/snapshots/<id>/work   overlay work dir (active snapshots only)

``<id>`` is the row number in metadata's ``snapshots`` table; short numeric
names keep a 120-layer ``lowerdir=`` option under the one-page limit of
mount(2) (see ``mount_all``: when the absolute form is too long it mounts
from inside ``<root>/snapshots`` with relative ``<id>/fs`` paths, as
containerd does).

Lifecycle (the containerd snapshotter verbs)::

    prepare(key, parent)  -> [Mount]   active: fresh upper + work over parent's chain
    view(key, parent)     -> [Mount]   read-only view of parent's chain
    mounts(key)           -> [Mount]   the same mounts again
    commit(name, key)                  active -> committed under ``name`` (a chain ID)
    remove(key)                        drop a snapshot without children

Layer unpacking: ``unpack_layer(chain_id, parent_chain_id, stream, diff_id)``
extracts into a detached active snapshot, then commits it as ``chain_id`` on
top of its parent; an existing ``chain_id`` is reused without reading the
stream.  Several layers of one image can be extracted at once, in any order
(``extract_layer`` needs no parent), and committed bottom-up with
``commit_layer(chain_id, key, parent_chain_id, result)``.

Crash safety: directories are built under a temporary name and renamed to
``<id>`` inside the transaction that inserts the row; removal deletes the row
first, then the directory.  Directories without a row are orphans collected
by ``clean_orphans`` (the garbage collector calls it).
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field

from .. import errors, mounts
from . import dirspread, owner
from .layerfixups import inherit_dir_attrs, resolve_deferred_links
from .unpack import apply_layer, syncfs

log = logging.getLogger("gantry.images.snapshots")

PAGE_LIMIT = os.sysconf("SC_PAGESIZE") - 1
MAX_LOWERS = 500          # overlayfs' OVL_MAX_STACK
EXTRACT_PREFIX = "extract-"


@dataclass
class Mount:
    """One mount: ``mount -t <type> <source> -o <options> <target>``."""

    type: str
    source: str
    options: list = field(default_factory=list)


def chain_ids(diff_ids):
    """OCI chain IDs: ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))."""
    out = []
    for diff_id in diff_ids:
        if not out:
            out.append(diff_id)
        else:
            out.append("sha256:" + hashlib.sha256(f"{out[-1]} {diff_id}".encode()).hexdigest())
    return out


class Snapshotter:
    def __init__(self, root, meta):
        self.root = os.path.join(root, "snapshots")
        self.meta = meta
        os.makedirs(self.root, mode=0o700, exist_ok=True)
        dirspread.spread_subdirs(self.root)   # each snapshot in a block group of its own (dirspread.py)

    # -- paths -------------------------------------------------------------
    def _dir(self, sid):
        return os.path.join(self.root, str(sid))

    def _get(self, key):
        rec = self.meta.snapshot_get(key)
        if rec is None:
            raise errors.NotFound(f"snapshot {key}: not found")
        return rec

    def stat(self, key):
        return self._get(key)

    def exists(self, key):
        return self.meta.snapshot_get(key) is not None

    def fs_path(self, key):
        """The directory holding the snapshot's own files (the upper dir of an active one)."""
        return os.path.join(self._dir(self._get(key).id), "fs")

    def chain(self, key):
        """[key, parent, grandparent, ...] records, top first."""
        out = []
        rec = self._get(key)
        while rec is not None:
            out.append(rec)
            rec = self.meta.snapshot_get(rec.parent) if rec.parent else None
        return out

    # -- verbs -------------------------------------------------------------
    def _create(self, key, parent, kind, labels=None):
        tmp = tempfile.mkdtemp(prefix="new-%s-" % owner.current(), dir=self.root)
        try:
            os.mkdir(os.path.join(tmp, "fs"), 0o755)
            if kind == "active":
                os.mkdir(os.path.join(tmp, "work"), 0o700)
            os.chmod(tmp, 0o700)
            with self.meta.transaction() as tx:
                sid = self.meta.snapshot_insert(tx, key, parent, kind, labels)
                final = self._dir(sid)
                if os.path.lexists(final):
                    shutil.rmtree(final)   # an orphan of a transaction that never committed
                os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        try:
            return self.mounts(key)
        except errors.GantryError:
            self.remove(key)        # an unmountable snapshot is no use to anyone
            raise

    def prepare(self, key, parent=None, labels=None):
        return self._create(key, parent, "active", labels)

    def view(self, key, parent=None, labels=None):
        return self._create(key, parent, "view", labels)

    def mounts(self, key):
        recs = self.chain(key)
        top = recs[0]
        lowers = [os.path.join(self._dir(r.id), "fs") for r in recs[1:]]
        if top.kind == "committed":
            raise errors.FailedPrecondition(f"mounts {key}: committed snapshots are not mounted (use view)")
        if len(lowers) > MAX_LOWERS:
            raise errors.InvalidArgument(
                f"mounts {key}: {len(lowers)} layers, more than overlayfs stacks ({MAX_LOWERS})")
        if top.kind == "view":
            if not lowers:
                return [Mount("bind", os.path.join(self._dir(top.id), "fs"), ["rbind", "ro"])]
            if len(lowers) == 1:
                return [Mount("bind", lowers[0], ["rbind", "ro"])]
            return [Mount("overlay", "overlay", ["lowerdir=" + ":".join(lowers)])]
        upper = os.path.join(self._dir(top.id), "fs")
        if not lowers:
            return [Mount("bind", upper, ["rbind", "rw"])]
        work = os.path.join(self._dir(top.id), "work")
        return [Mount("overlay", "overlay",
                      ["index=off", "workdir=" + work, "upperdir=" + upper, "lowerdir=" + ":".join(lowers)])]

    def commit(self, name, key, parent=...):
        """Active ``key`` becomes committed ``name``; ``parent`` (if given) re-parents it."""
        used, inodes = _usage(self.fs_path(key))
        with self.meta.transaction() as tx:
            rec = self._get(key)
            if rec.kind != "active":
                raise errors.FailedPrecondition(f"commit {key}: snapshot is {rec.kind}, not active")
            if self.meta.snapshot_get(name) is not None:
                raise errors.AlreadyExists(f"commit {key} as {name}: already exists")
            new_parent = rec.parent if parent is ... else parent
            if new_parent is not None:
                prec = self.meta.snapshot_get(new_parent)
                if prec is None or prec.kind != "committed":
                    raise errors.FailedPrecondition(f"commit {name}: parent {new_parent} is not committed")
            tx.execute("UPDATE snapshots SET key=?, kind='committed', parent=?, usage_bytes=?, usage_inodes=?"
                       " WHERE id=?", (name, new_parent, used, inodes, rec.id))
        shutil.rmtree(os.path.join(self._dir(rec.id), "work"), ignore_errors=True)

    def remove(self, key):
        self.remove_directory(self.remove_record(key))

    def remove_record(self, key):
        """First half of ``remove``: the row goes (in the caller's transaction if there is one);
        returns the directory id for ``remove_directory``, to be called after the commit."""
        with self.meta.transaction() as tx:
            rec = self._get(key)
            if tx.execute("SELECT 1 FROM snapshots WHERE parent=? LIMIT 1", (key,)).fetchone():
                raise errors.FailedPrecondition(f"remove snapshot {key}: has children")
            tx.execute("DELETE FROM snapshots WHERE id=?", (rec.id,))
        return rec.id

    def remove_directory(self, sid):
        """Second half: rename the directory out of the way, then delete it (no lock held)."""
        d = self._dir(sid)
        if not os.path.lexists(d):
            return
        gone = os.path.join(self.root, f"rm-{sid}-{uuid.uuid4().hex[:8]}")
        os.rename(d, gone)
        shutil.rmtree(gone, ignore_errors=True)

    def walk(self):
        return self.meta.snapshots()

    def usage(self, key):
        """(bytes, inodes) used by the snapshot's own directory (measured once for committed ones)."""
        rec = self._get(key)
        if rec.kind == "committed":
            measured = self.meta.snapshot_usage(rec.id)
            if measured is not None:
                return measured
        return _usage(self.fs_path(key))

    def total_usage(self):
        """(bytes, inodes) of every snapshot: committed ones from the database, the others measured."""
        used, inodes = self.meta.committed_usage()
        for rec in self.meta.snapshots():
            if rec.kind != "committed":
                b, i = _usage(os.path.join(self._dir(rec.id), "fs"))
                used, inodes = used + b, inodes + i
        return used, inodes

    def clean_orphans(self, new_grace=3600.0):
        """Remove directories no row refers to (crash leftovers); returns their names.

        Call inside ``meta.transaction()`` (gc does) so no ``_create`` can insert a row
        meanwhile; ``new-<owner>-*`` directories of a ``_create`` still building its tree are
        spared for ``new_grace`` seconds, unless their owner process is gone (owner.py).
        """
        known = {str(r.id) for r in self.meta.snapshots()}
        removed = []
        now = time.time()
        for name in os.listdir(self.root):
            if name in known:
                continue
            path = os.path.join(self.root, name)
            if name.startswith("new-"):
                try:
                    if now - os.lstat(path).st_mtime < new_grace and not owner.gone(name[4:]):
                        continue
                except FileNotFoundError:
                    continue
            elif not (name.isdigit() or name.startswith("rm-")):
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(name)
        return removed

    # -- layers ------------------------------------------------------------
    def extract_layer(self, stream, expected_diff_id=None, compression=None, sync=True):
        """Unpack a layer into a new detached active snapshot; returns (key, LayerResult).
        ``sync=False`` leaves the flush to flush_extraction or commit_layer (LayerResult.flushed is False)."""
        key = f"{EXTRACT_PREFIX}{uuid.uuid4().hex} {expected_diff_id or ''}".rstrip()
        self.prepare(key, None, labels={"extract": "1", "owner": owner.current()})
        try:
            fs = self.fs_path(key)
            os.rmdir(fs)
            result = apply_layer(stream, fs, compression=compression, expected_diff_id=expected_diff_id, sync=sync)
        except BaseException:
            self.remove(key)
            raise
        return key, result

    def flush_extraction(self, key, result):
        """syncfs for an extraction made with ``sync=False``; returns the result marked flushed."""
        if result.flushed:
            return result
        self._syncfs(key, "extraction " + key)
        return dataclasses.replace(result, flushed=True)

    def _syncfs(self, key, what):
        started = time.monotonic()
        syncfs(self.fs_path(key))
        log.debug("%s: syncfs %.2fs", what, time.monotonic() - started)

    def commit_layer(self, chain_id, key, parent_chain_id, result):
        """Commit an extracted layer on top of its (committed) parent; returns False if
        ``chain_id`` already existed (the extraction is dropped then).

        Directories the layer created implicitly take their attributes from
        the parent chain first, and hardlinks to files of lower layers are
        completed by copying their target up (layerfixups.py), so the layer's
        directory is the same whichever order the layers were extracted in.  Then, unless the
        extraction was flushed and nothing was fixed up since, the filesystem is flushed
        (unpack.syncfs): a committed row never names data that is not durable.
        """
        try:
            lowers = []
            if parent_chain_id is not None:
                lowers = [os.path.join(self._dir(r.id), "fs") for r in self.chain(parent_chain_id)]
            if result.implicit_dirs and lowers:
                inherit_dir_attrs(self.fs_path(key), result.implicit_dirs, lowers)
            if result.deferred_links:
                resolve_deferred_links(self.fs_path(key), result.deferred_links, lowers)
            if not result.flushed or result.deferred_links or (result.implicit_dirs and lowers):
                self._syncfs(key, "commit " + chain_id)
            self.commit(chain_id, key, parent=parent_chain_id)
        except errors.AlreadyExists:
            self.remove(key)   # a concurrent pull committed the same layer first
            return False
        except BaseException:
            self.remove(key)
            raise
        return True

    def unpack_layer(self, chain_id, parent_chain_id, stream, expected_diff_id=None, compression=None):
        """Ensure committed snapshot ``chain_id`` exists; returns True if this call unpacked it."""
        if self.exists(chain_id):
            return False
        key, result = self.extract_layer(stream, expected_diff_id, compression)
        return self.commit_layer(chain_id, key, parent_chain_id, result)


def _usage(path):
    """(bytes allocated, inodes) below ``path``; hardlinked inodes count once."""
    total = inodes = 0
    seen = set()
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            try:
                st = os.lstat(os.path.join(dirpath, n))
            except FileNotFoundError:
                continue
            if st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode):
                if st.st_ino in seen:
                    continue
                seen.add(st.st_ino)
            inodes += 1
            total += st.st_blocks * 512
    return total, inodes


# -- mounting ----------------------------------------------------------------

def option_string(options):
    return ",".join(options)


def compact_options(options, base):
    """Rewrite absolute paths under ``base`` relative to it (mount from cwd=base)."""
    prefix = base.rstrip("/") + "/"
    out = []
    for opt in options:
        k, sep, v = opt.partition("=")
        if sep and k in ("lowerdir", "upperdir", "workdir"):
            v = ":".join(p[len(prefix):] if p.startswith(prefix) else p for p in v.split(":"))
            out.append(f"{k}={v}")
        else:
            out.append(opt)
    return out


def mount_all(mounts, target, snapshots_root=None, runner=subprocess.run):
    """Mount ``mounts`` on ``target`` (mount(8) in a child, so no chdir in this threaded process)."""
    for m in mounts:
        cwd = None
        options = list(m.options)
        if len(option_string(options)) > PAGE_LIMIT:
            if snapshots_root is None:
                raise errors.InvalidArgument(f"mount {target}: option string longer than one page")
            options = compact_options(options, snapshots_root)
            cwd = snapshots_root
            if len(option_string(options)) > PAGE_LIMIT:
                raise errors.InvalidArgument(f"mount {target}: too many layers for one mount")
        if m.type == "bind":
            ro = "ro" in options
            _run(runner, ["mount", "--rbind" if "rbind" in options else "--bind", m.source, target], target)
            if ro:
                try:
                    _run(runner, ["mount", "-o", "remount,bind,ro", target], target)
                except errors.GantryError:
                    _run(runner, ["umount", target], target)   # never leave it writable
                    raise
        else:
            _run(runner, ["mount", "-t", m.type, "-o", option_string(options), m.source, target], target, cwd)


def mount_points(mountinfo="/proc/self/mountinfo"):
    """Every mount point of this mount namespace (mountinfo's octal escapes undone).

    ``os.path.ismount`` cannot see a bind mount from the same filesystem (same st_dev),
    which is what a one-layer view is: ask the kernel's table instead."""
    points = set()
    with open(mountinfo, "rb") as f:
        for line in f:
            fields = line.split(b" ", 5)
            if len(fields) > 4:
                points.add(_unescape(fields[4]).decode("utf-8", "surrogateescape"))
    return points


def _unescape(raw):
    return re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), raw)


def is_mounted(path, points=None):
    return os.path.abspath(path) in (points if points is not None else mount_points())


def mounts_below(path, points=None):
    """Mount points at or below ``path`` (a tree must have none before it is deleted)."""
    base = os.path.abspath(path).rstrip("/") + "/"
    return sorted(p for p in (points if points is not None else mount_points())
                  if p == base[:-1] or p.startswith(base))


def unmount(target):
    """umount2(2) directly (mounts.py): no umount(8) child per container removal."""
    try:
        mounts.umount(target)
    except OSError as exc:
        raise errors.Internal(f"mount {target}: umount: {exc.strerror}") from exc


def _run(runner, argv, target, cwd=None):
    p = runner(argv, cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        raise errors.Internal(f"mount {target}: {' '.join(argv[:3])}: {p.stderr.strip()}")
