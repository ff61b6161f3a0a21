"""Safe application of one image layer into an empty directory, in overlay form.

    result = apply_layer(stream, target, expected_diff_id="sha256:..")
    result.diff_id, result.size          # of the uncompressed tar stream

``stream`` is a binary file object giving the layer blob (gzip, zstd or plain
tar: detected from the magic bytes unless ``compression`` says); it may be a
download still in progress.  The entries are written into a fresh temporary
directory next to ``target``; only when the whole stream applied cleanly and
its diff_id matched is the temporary renamed onto ``target`` (which must be
absent or empty).  On any error the temporary is removed and ``target`` is
untouched.

Conversion to overlay form (see whiteouts.py): ``.wh.<name>`` becomes a
character device 0/0, ``.wh..wh..opq`` sets ``trusted.overlay.opaque=y`` on
its directory.  A hardlink to a file of the same layer is made at once; one
whose target is not in this layer is returned in ``deferred_links`` and made
at commit by copying the target up from the parent layers (layerfixups.py),
as are the attributes of parent directories the layer never names.  Owners
are numeric (applied when running as root), modes include setuid/setgid/
sticky, xattrs come from PAX ``SCHILY.xattr.*`` records, mtimes are set
after contents and directories last (deepest first).

Refused (errors.InvalidArgument naming the entry): absolute names, ``..``,
writing through a symlink or a non-directory in a parent path, hardlinks to
directories or through a symlink of this layer, malformed whiteouts, overlay xattrs
(``trusted.overlay.*`` would let a layer redirect overlayfs), unknown entry
types.  A directory the layer uses without naming it, where a lower layer has
a symlink, stays a directory (hiding the symlink) and takes at commit the
attributes of what the symlink leads to inside the image, as containerd does
(layerfixups.py says why).  Symlinks themselves may point anywhere: they are resolved inside the
container's root at run time, and nothing here ever follows one (every
operation uses O_NOFOLLOW / lstat / follow_symlinks=False).
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import stat
import time
import zlib
from dataclasses import dataclass

from .. import errors
from .layerfixups import FORBIDDEN_XATTR_PREFIXES as _FORBIDDEN_XATTR_PREFIXES
from .layerfixups import OPAQUE_XATTR
from .tarstream import TarStream
from .whiteouts import classify, clean_path

try:
    # zlib-ng: the same deflate format and the same API as the zlib module (a port of CPython's),
    # inflating 2.5-2.8x faster on layers (0.015 s instead of 0.038 s for one of bench/pull's 37 MB
    # blobs, crc32 included); plain zlib where the wheel is missing
    from zlib_ng import zlib_ng as _inflate_lib
except ImportError:  # pragma: no cover - the wheel is a dependency
    _inflate_lib = zlib

log = logging.getLogger("gantry.images.unpack")

BUF = 1 << 20
OUT_MAX = 4 << 20     # largest decompressed piece held at once
PREFETCH = True    # decompress in a helper thread (see DiffReader.prefetch)
INFLATE = _inflate_lib   # the module that inflates gzip layers: zlib_ng, else zlib (tests set either)

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@dataclass(frozen=True)
class LayerResult:
    diff_id: str       # sha256 of the uncompressed tar stream
    size: int          # its length in bytes
    entries: int
    implicit_dirs: tuple = ()   # parent dirs the layer used without an entry (layerfixups.inherit_dir_attrs)
    deferred_links: tuple = ()  # (link, target) hardlinks to lower-layer files (layerfixups.resolve_deferred_links)
    flushed: bool = True        # syncfs ran after the tree was in place (apply_layer's sync=True)


# -- decompression with a running diff_id ---------------------------------

class _Peekable:
    def __init__(self, raw):
        self.raw = raw
        self.head = b""

    def peek(self, n):
        while len(self.head) < n:
            chunk = self.raw.read(n - len(self.head))
            if not chunk:
                break
            self.head += chunk
        return self.head[:n]

    def read(self, n):
        if self.head:
            out, self.head = self.head[:n], self.head[n:]
            return out
        return self.raw.read(n)


def detect_compression(head):
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


class DiffReader:
    """File-like ``read(n)`` over the decompressed layer; ``digest`` = its sha256."""

    def __init__(self, stream, compression=None):
        src = _Peekable(stream)
        self.compression = compression or detect_compression(src.peek(4))
        self._hash = hashlib.sha256()
        self.size = 0
        self._pending = b""
        self._ppos = 0
        self._eof = False
        if self.compression == "gzip":
            self._src = src
            self._inflate = INFLATE
            self._z = self._inflate.decompressobj(wbits=31)
            self._next = self._gzip_chunk
        elif self.compression == "zstd":
            import zstandard

            self._zreader = zstandard.ZstdDecompressor().stream_reader(
                src, read_size=BUF, read_across_frames=True)
            self._next = lambda: self._zreader.read(BUF)
        elif self.compression in ("none", "plain", None):
            self._next = lambda: src.read(BUF)
        else:
            raise errors.InvalidArgument(f"layer: unsupported compression {self.compression!r}")

    def _gzip_chunk(self):
        """Up to OUT_MAX bytes of output per call, so a small, highly compressed blob
        cannot make one call allocate gigabytes."""
        while True:
            # eof first: a member that ends on the output limit leaves its trailing input in both
            # unconsumed_tail and unused_data, and feeding the tail again to the finished
            # decompressor would loop forever (unused_data growing at each turn)
            if self._z.eof:
                rest = self._z.unused_data
                if not rest:
                    rest = self._src.read(BUF)
                    if not rest:
                        return b""
                self._z = self._inflate.decompressobj(wbits=31)   # a further gzip member
            elif self._z.unconsumed_tail:
                rest = self._z.unconsumed_tail
            else:
                rest = self._src.read(BUF)
                if not rest:
                    raise errors.DataLoss("layer: truncated gzip stream")
            out = self._z.decompress(rest, OUT_MAX)
            if out:
                return out

    def chunk(self):
        """The next piece of the uncompressed stream (any size), b"" at the end."""
        if self._eof:
            return b""
        try:
            chunk = self._next()
        except (zlib.error, _inflate_lib.error) as e:
            raise errors.DataLoss(f"layer: corrupt gzip stream: {e}") from e
        except errors.GantryError:
            raise
        except Exception as e:  # zstandard.ZstdError and friends
            if type(e).__module__.startswith("zstandard"):
                raise errors.DataLoss(f"layer: corrupt zstd stream: {e}") from e
            raise
        if not chunk:
            self._eof = True
            return b""
        self._hash.update(chunk)
        self.size += len(chunk)
        return chunk

    def read(self, n=-1):
        if n is None or n < 0:
            n = 1 << 62
        if self._ppos >= len(self._pending):
            self._pending, self._ppos = self.chunk(), 0
        out = self._pending[self._ppos:self._ppos + n]
        self._ppos += len(out)
        return out

    def prefetch(self, depth=8):
        """Decompress and hash in a background thread (zlib, zstd and sha256 release the
        GIL), so file creation overlaps decompression; ``chunk`` then reads the queue.
        ``close()`` stops the thread."""
        import queue
        import threading

        produce = self.chunk
        q = queue.Queue(depth)
        stop = threading.Event()

        def run():
            while not stop.is_set():
                try:
                    item = produce()
                except BaseException as e:  # handed to the consumer
                    item = e
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if not isinstance(item, bytes) or not item:
                    return

        thread = threading.Thread(target=run, name="layer-decompress", daemon=True)

        def consume():
            item = q.get()
            if isinstance(item, BaseException):
                raise item
            return item

        def close():
            stop.set()
            thread.join()

        self.chunk = consume
        self.close = close
        thread.start()
        return self

    def close(self):
        pass

    def drain(self):
        self._pending, self._ppos = b"", 0
        while self.chunk():
            pass

    @property
    def digest(self):
        return "sha256:" + self._hash.hexdigest()


# -- application ---------------------------------------------------------

def apply_layer(stream, target, *, compression=None, expected_diff_id=None, sync=True, owners=None):
    """Apply a layer blob into ``target`` (absent or empty); see the module docstring."""
    parent = os.path.dirname(os.path.abspath(target))
    if os.path.lexists(target):
        if not os.path.isdir(target) or os.path.islink(target) or os.listdir(target):
            raise errors.FailedPrecondition(f"unpack into {target}: target exists and is not an empty directory")
    tmp = _mkdtemp(parent, "." + os.path.basename(target) + ".unpack-")
    try:
        reader = DiffReader(stream, compression)
        if PREFETCH:
            reader.prefetch()
        try:
            applier = _Applier(tmp, os.geteuid() == 0 if owners is None else owners)
            applier.run(TarStream(reader.chunk))
            reader.drain()
        finally:
            reader.close()
        if expected_diff_id is not None and reader.digest != expected_diff_id:
            raise errors.DataLoss(
                f"unpack into {target}: layer diff_id is {reader.digest}, expected {expected_diff_id}")
        applier.finish()
        if os.path.isdir(target):
            os.rmdir(target)
        os.rename(tmp, target)
        if sync:
            started = time.monotonic()
            syncfs(target)   # the files and the rename: see syncfs for why here and per layer
            log.debug("unpack into %s: syncfs %.2fs", target, time.monotonic() - started)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise errors.ResourceExhausted(f"unpack into {target}: no space left on device") from e
        if e.errno in (errno.ENAMETOOLONG, errno.ELOOP, errno.EMLINK):
            raise errors.InvalidArgument(f"unpack into {target}: layer entry refused: {e}") from e
        raise errors.Internal(f"unpack into {target}: {e}") from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    implicit = tuple(sorted(p for p in applier.implicit if p not in applier.dir_meta and p in applier.dirs))
    deferred = tuple(sorted(applier.deferred.items()))
    return LayerResult(reader.digest, reader.size, applier.count, implicit, deferred, flushed=sync)


def _mkdtemp(parent, prefix):
    import tempfile

    return tempfile.mkdtemp(prefix=prefix, dir=parent)


_libc = None


def syncfs(path):
    """Flush the filesystem holding ``path`` (one call instead of an fsync per file).

    Why once per layer: the rule is that a committed snapshot row never names data that is not
    durable.  ``apply_layer`` runs inside an extraction snapshot (an *active* row no image
    refers to; after a crash the collector removes it), and with ``sync=True`` only returns once
    the tree and its rename into place are flushed; with ``sync=False`` (a pull: the flush then
    runs outside its unpack lane, overlapping the next layer's unpack) the result says
    ``flushed=False`` and Snapshotter.flush_extraction, or else commit_layer, flushes before the
    row becomes a *committed* chain ID (a sqlite transaction with synchronous=FULL).  So after a power cut
    either the row still says active (garbage) or the data it names is on disk.
    One syncfs per image instead would have to hold back every layer's commit until the end:
    a concurrent pull could no longer use a layer as soon as it is committed, and the saving
    is small: syncfs flushes the whole filesystem, so layers that finish together share the
    work (measured on bench.pull's 4-layer image: 0.01-0.18 s per call, 0.1-0.3 s of a
    1.7-2.2 s pull, within the run-to-run noise).
    """
    global _libc
    import ctypes  # on first use: nothing else of the pull needs ctypes
    import ctypes.util

    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _libc.syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"syncfs {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


def process_umask():
    """This process's umask, from /proc/self/status (reading it with umask() would change it for
    every thread meanwhile); None where the kernel does not say (before Linux 4.7)."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return None


_ID_MAX = (1 << 32) - 2     # (uid_t)-1 means "leave unchanged" to chown, so it is no owner either


def _check_header(m):
    """Header fields the system calls take: numbers in range (base-256 fields can be negative or
    huge), no NUL in a link target (PAX records can carry one)."""
    if "\0" in m.linkname:
        raise errors.InvalidArgument(f"layer entry {m.name!r}: link target {m.linkname!r} holds a NUL byte")
    if m.issym() and not m.linkname:
        raise errors.InvalidArgument(f"layer entry {m.name!r}: symlink with an empty target")
    numbers = [("mode", m.mode, 0o7777777), ("uid", m.uid, _ID_MAX), ("gid", m.gid, _ID_MAX)]
    if m.ischr() or m.isblk():   # mknod takes Linux's 32-bit dev_t: a 12-bit major, a 20-bit minor
        numbers += [("devmajor", m.devmajor, 0xFFF), ("devminor", m.devminor, 0xFFFFF)]
    for what, value, limit in numbers:
        if not 0 <= value <= limit:
            raise errors.InvalidArgument(f"layer entry {m.name!r}: {what} {value} is out of range")
    if not -(1 << 62) < m.mtime * 1e9 < (1 << 62):
        raise errors.InvalidArgument(f"layer entry {m.name!r}: mtime {m.mtime} is out of range")


class _Applier:
    def __init__(self, root, owners):
        self.root = root
        self.owners = owners
        self.count = 0
        self.dirs = {(): True}       # parts -> real directory created/verified by us
        self.files = set()           # parts of non-directories this layer created (hardlink targets)
        self.dir_meta = {}           # parts -> TarInfo, applied last
        self.implicit = set()        # parents created without an entry of their own
        self.deferred = {}           # link parts -> target parts of hardlinks into lower layers
        # The owner a new entry gets: ours, as no directory is setgid before finish() (the root is
        # a fresh temporary; set-gid modes come last); lchown is skipped when the entry wants that
        # owner (one system call, and one GIL hand-off, less per file of a typical layer).
        self.born_owner = None
        if owners and not os.lstat(root).st_mode & stat.S_ISGID:
            self.born_owner = (os.geteuid(), os.getegid())
        # A regular file is created with its permission bits (what the umask leaves of them), in
        # the private temporary: chmod only when that is not the mode the entry wants (a set-id
        # or sticky bit, bits the umask took, or an owner change), one system call less per file.
        self.umask = process_umask()

    def run(self, ts):
        for member in ts.members():
            self.count += 1
            self.apply(ts, member)

    def apply(self, ts, m):
        entry = classify(m.name)
        _check_header(m)
        if entry.kind == "root":
            if m.isdir():
                self.dir_meta[()] = m
            return
        if entry.kind == "opaque":
            self._ensure_dir(entry.parts, m.name)
            os.setxattr(self._path(entry.parts), OPAQUE_XATTR, b"y", follow_symlinks=False)
            return
        path_parts = entry.parts
        self._ensure_dir(path_parts[:-1], m.name)
        path = self._path(path_parts)
        if entry.kind == "whiteout":
            if path_parts in self.files or path_parts in self.dirs or path_parts in self.deferred:
                return   # the layer also carries the path itself: that entry wins
            os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))
            # the marker's mtime, as for any entry: a layer written back from this tree (commit,
            # build) gives the same whiteout, not one stamped with the time of this unpack
            os.utime(path, ns=(int(m.mtime * 1e9),) * 2, follow_symlinks=False)
            self.files.add(path_parts)
            return
        if m.isdir():
            if self.dirs.get(path_parts) is None:
                self._clear(path_parts, path)
                os.mkdir(path, 0o700)
                self.dirs[path_parts] = True
            self.dir_meta[path_parts] = m
            return
        self._clear(path_parts, path)
        mode_done = False
        if m.isreg():
            mode_done = self._write_file(ts, m, path)
        elif m.issym():
            os.symlink(m.linkname, path)
        elif m.islnk():
            if self._hardlink(m, path, path_parts):
                self.files.add(path_parts)
            return   # a hardlink shares the inode (and its metadata) with its target
        elif m.ischr() or m.isblk():
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
            os.mknod(path, kind | 0o600, os.makedev(m.devmajor, m.devminor))
        elif m.isfifo():
            os.mkfifo(path, 0o600)
        else:
            raise errors.InvalidArgument(f"layer entry {m.name!r}: unsupported entry type {m.type!r}")
        self.files.add(path_parts)
        self._attrs(path, m, symlink=m.issym(), mode_done=mode_done)

    # -- helpers ---------------------------------------------------------
    def _path(self, parts):
        return os.path.join(self.root, *parts) if parts else self.root

    def _ensure_dir(self, parts, name):
        """Make sure every component of ``parts`` is a real directory of this layer."""
        for i in range(1, len(parts) + 1):
            sub = parts[:i]
            if self.dirs.get(sub):
                continue
            p = self._path(sub)
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                os.mkdir(p, 0o755)
                self.dirs[sub] = True
                self.implicit.add(sub)
                continue
            if stat.S_ISLNK(st.st_mode):
                raise errors.InvalidArgument(
                    f"layer entry {name!r}: parent {'/'.join(sub)!r} is a symlink (writing through it could escape)")
            if not stat.S_ISDIR(st.st_mode):
                raise errors.InvalidArgument(f"layer entry {name!r}: parent {'/'.join(sub)!r} is not a directory")
            self.dirs[sub] = True

    def _clear(self, parts, path):
        """A later entry replaces an earlier one of the same name (tar semantics)."""
        if self.deferred:
            self.deferred = {k: v for k, v in self.deferred.items() if k[:len(parts)] != parts}
        if parts not in self.files and parts not in self.dirs:
            return      # everything in the tree was made by this layer and is in one of the two
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(path)
            self.dirs = {k: v for k, v in self.dirs.items() if k[:len(parts)] != parts}
            self.dir_meta = {k: v for k, v in self.dir_meta.items() if k[:len(parts)] != parts}
            self.files = {k for k in self.files if k[:len(parts)] != parts}
        else:
            os.unlink(path)
            self.files.discard(parts)

    def _write_file(self, ts, m, path):
        """Create and fill a regular file; True when it was created with the mode the entry wants."""
        wanted = stat.S_IMODE(m.mode)
        create = wanted & 0o777 if self.umask is not None else 0o600
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, create)
        try:
            def write(view):
                while view:
                    view = view[os.write(fd, view):]
            ts.copy_data(m, write)
        finally:
            os.close(fd)
        return self.umask is not None and create & ~self.umask == wanted

    def _hardlink(self, m, path, path_parts):
        """Link to a file of this layer now (True), or defer a link into the layers below (False)."""
        try:
            target_parts = clean_path(m.linkname)
        except errors.InvalidArgument:
            raise errors.InvalidArgument(
                f"layer entry {m.name!r}: hardlink target {m.linkname!r} escapes the layer") from None
        if target_parts in self.files:
            os.link(self._path(target_parts), path, follow_symlinks=False)
            return True
        if target_parts in self.dirs or not target_parts:
            raise errors.InvalidArgument(f"layer entry {m.name!r}: hardlink target {m.linkname!r} is a directory")
        for i in range(1, len(target_parts)):
            if target_parts[:i] in self.files:
                raise errors.InvalidArgument(
                    f"layer entry {m.name!r}: hardlink target {m.linkname!r} passes through "
                    f"{'/'.join(target_parts[:i])!r}, which is not a directory of this layer")
        self.deferred[path_parts] = target_parts
        return False

    def _xattrs(self, path, m):
        for key, value in m.pax_headers.items():
            if not key.startswith("SCHILY.xattr."):
                continue
            name = key[len("SCHILY.xattr."):]
            if "\0" in name:
                raise errors.InvalidArgument(f"layer entry {m.name!r}: xattr name {name!r} holds a NUL byte")
            if name.startswith(_FORBIDDEN_XATTR_PREFIXES):
                raise errors.InvalidArgument(f"layer entry {m.name!r}: refuses overlay xattr {name!r}")
            raw = value.encode("utf-8", "surrogateescape")
            try:
                os.setxattr(path, name, raw, follow_symlinks=False)
            except OSError as e:
                raise errors.InvalidArgument(f"layer entry {m.name!r}: setxattr {name}: {e.strerror}") from e

    def _attrs(self, path, m, symlink=False, mode_done=False):
        """Owner, then mode (chown clears setuid), then xattrs (chown clears file
        capabilities), then mtime.  ``mode_done``: the entry was created with its mode."""
        if self.owners and (m.uid, m.gid) != self.born_owner:
            os.lchown(path, m.uid, m.gid)
            mode_done = False   # a set-id bit would be gone (and mode_done excludes those anyway)
        if not symlink and not mode_done:
            os.chmod(path, stat.S_IMODE(m.mode))
        self._xattrs(path, m)
        os.utime(path, ns=(int(m.mtime * 1e9),) * 2, follow_symlinks=False)

    def finish(self):
        """Directory owners, modes and mtimes, deepest first (writing inside changes a dir's mtime)."""
        if () not in self.dir_meta:
            os.chmod(self.root, 0o755)   # a layer without a "./" entry: the usual root mode
        for parts in sorted(self.dir_meta, key=len, reverse=True):
            self._attrs(self._path(parts), self.dir_meta[parts])
