"""Write an OCI layer from an overlay upper directory.

    blob = write_layer(upper, out, compression="gzip", epoch=None)      # any binary file
    blob = store_layer(store, upper, lease, compression="zstd", epoch=1700000000)
    blob.digest, blob.size, blob.diff_id, blob.media_type, blob.entries

``upper`` is the upper dir of an overlay snapshot (``Snapshotter.fs_path(key)``
of an active snapshot, or a plain directory for a layer on ``scratch``); what
each entry becomes is in layerdiff.py.  The walk is depth-first, each
directory's entries in byte order of their names; the tar stream (PAX format)
is hashed for the diff_id, compressed (gzip: zlib, level 6, header mtime 0;
zstd: level 3, one frame), and hashed again for the digest, in one pass.  The
same tree and epoch always give the same bytes.

``store_layer`` writes into gantryd's content store (content.py): an ingest of
its own, whose digest is added to ``lease`` before the commit, so the
collector can never take the blob before an image refers to it.

The upper dir of a running container may change while it is read: a file
that shrinks or grows under us is written with the size first seen (padded
with zeros or cut), as ``tar`` does, and the log says which.
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import tarfile
import uuid
import zlib
from dataclasses import dataclass

from .. import errors
from . import layerdiff

log = logging.getLogger("gantry.images.layerwrite")

_CHUNK = 1 << 20
GZIP_LEVEL = 6
ZSTD_LEVEL = 3


@dataclass(frozen=True)
class LayerBlob:
    digest: str        # sha256 of the blob as stored (compressed)
    size: int          # its length
    diff_id: str       # sha256 of the uncompressed tar
    media_type: str    # application/vnd.oci.image.layer.v1.tar[+gzip|+zstd]
    entries: int       # tar members written (whiteouts and opaque markers included)


class _Sink:
    """The file object tarfile writes to: diff_id hash -> compressor -> digest hash -> out."""

    def __init__(self, out, compression, level):
        self.out = out
        self.diff = hashlib.sha256()
        self.blob = hashlib.sha256()
        self.tar_size = 0
        self.size = 0
        if compression == layerdiff.GZIP:
            z = zlib.compressobj(GZIP_LEVEL if level is None else level, zlib.DEFLATED, 31)
            self._compress, self._flush = z.compress, z.flush
        elif compression == layerdiff.ZSTD:
            import zstandard

            z = zstandard.ZstdCompressor(level=ZSTD_LEVEL if level is None else level).compressobj()
            self._compress, self._flush = z.compress, z.flush
        else:
            self._compress, self._flush = bytes, bytes

    def tell(self):
        return self.tar_size

    def write(self, data):
        self.diff.update(data)
        self.tar_size += len(data)
        self._emit(self._compress(data))
        return len(data)

    def finish(self):
        self._emit(self._flush())

    def _emit(self, data):
        if data:
            self.blob.update(data)
            self.size += len(data)
            self.out.write(data)


def write_layer(upper, out, *, compression=layerdiff.GZIP, epoch=None, level=None, exclude=()):
    """Write the layer of ``upper`` to ``out`` (a binary file); returns a LayerBlob.

    ``exclude``: relative paths (``etc/hosts``) left out when they are an empty file or an empty
    directory in ``upper``: the mount points a runtime creates in a container's root (commit)."""
    media_type = layerdiff.media_type(compression)
    if not os.path.isdir(upper) or os.path.islink(upper):
        raise errors.NotFound(f"write layer from {upper}: not a directory")
    sink = _Sink(out, compression, level)
    tar = tarfile.TarFile(fileobj=sink, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8",
                          errors="surrogateescape", copybufsize=_CHUNK)
    walker = _Walker(upper, tar, epoch, {p.strip("/") for p in exclude})
    try:
        walker.walk_dir(upper, "")
    except OSError as e:
        raise errors.Internal(f"write layer from {upper}: {e}") from e
    tar.close()
    sink.finish()
    return LayerBlob("sha256:" + sink.blob.hexdigest(), sink.size, "sha256:" + sink.diff.hexdigest(),
                     media_type, walker.entries)


def store_layer(store, upper, lease, *, compression=layerdiff.GZIP, epoch=None, level=None, exclude=()):
    """Write the layer of ``upper`` into ``store.content`` (an ImageStore); returns a LayerBlob."""
    writer = store.content.writer(f"layerwrite-{uuid.uuid4().hex}")
    try:
        blob = write_layer(upper, writer, compression=compression, epoch=epoch, level=level, exclude=exclude)
        lease.add_content(blob.digest)       # lease first, then the blob appears
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return blob


class _Walker:
    def __init__(self, upper, tar, epoch, exclude=frozenset()):
        self.upper = upper
        self.exclude = exclude
        self.tar = tar
        self.epoch = epoch
        self.links = {}       # (dev, ino) -> first name written
        self.entries = 0

    def add(self, info, fileobj=None):
        self.tar.addfile(info, fileobj)
        self.entries += 1

    def walk_dir(self, path, rel):
        """The entries of one directory, sorted by the name each gets in the tar (``.wh.x`` for a
        whiteout of ``x``), then each directory's own entries right after it (depth first)."""
        found = []
        with os.scandir(path) as it:
            for e in it:
                child = f"{rel}/{e.name}" if rel else e.name
                try:
                    st = os.lstat(e.path)
                except FileNotFoundError:
                    continue        # removed while we walked (a running container)
                xattrs = _xattrs(e.path)
                kind = layerdiff.classify_upper(child, st.st_mode, st.st_rdev, xattrs)
                out_name = layerdiff.WHITEOUT_PREFIX + e.name if kind == layerdiff.WHITEOUT else e.name
                found.append((layerdiff.sort_key(out_name), e.name, st, xattrs, kind))
        found.sort(key=lambda f: f[0])
        for _key, name, st, xattrs, kind in found:
            self.entry(os.path.join(path, name), f"{rel}/{name}" if rel else name, rel, name, st, xattrs, kind)

    def entry(self, path, rel, parent_rel, name, st, xattrs, kind):
        if kind == layerdiff.WHITEOUT:
            self.add(layerdiff.whiteout_header(parent_rel, name, st.st_mtime, self.epoch))
            return
        if kind == layerdiff.SOCKET or (rel in self.exclude and _empty(path, kind, st)):
            return
        layerdiff.check_name(rel, name)
        if kind in (layerdiff.DIR, layerdiff.OPAQUE_DIR):
            self.add(layerdiff.header(rel, kind, st, self.epoch, xattrs))
            if kind == layerdiff.OPAQUE_DIR:
                self.add(layerdiff.opaque_header(rel, st.st_mtime, self.epoch))
            self.walk_dir(path, rel)
            return
        if st.st_nlink > 1:
            first = self.links.get((st.st_dev, st.st_ino))
            if first is not None:
                self.add(layerdiff.header(rel, kind, st, self.epoch, hardlink_to=first))
                return
            self.links[(st.st_dev, st.st_ino)] = rel
        linkname = os.readlink(path) if kind == layerdiff.SYMLINK else ""
        info = layerdiff.header(rel, kind, st, self.epoch, xattrs, linkname=linkname)
        if kind != layerdiff.FILE:
            self.add(info)
            return
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb", buffering=0) as f:
            self.add(info, _Exactly(f, info.size, rel))


class _Exactly:
    """``read`` gives exactly ``size`` bytes in all: zeros after a file that shrank, a grown file cut."""

    def __init__(self, f, size, rel):
        self.f, self.left, self.rel = f, size, rel

    def read(self, n):
        n = min(n, self.left)
        parts = []
        while n > 0:
            data = self.f.read(n)
            if not data:
                log.warning("write layer: %s shrank while it was read; padded with zeros", self.rel)
                data = bytes(n)
            parts.append(data)
            n -= len(data)
            self.left -= len(data)
        return b"".join(parts)


def _empty(path, kind, st):
    if kind == layerdiff.FILE:
        return st.st_size == 0
    if kind in (layerdiff.DIR, layerdiff.OPAQUE_DIR):
        with os.scandir(path) as it:
            return next(it, None) is None
    return False


def _xattrs(path):
    """{name: value} of ``path`` itself (never through a symlink); none where the filesystem has none."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return {}
        raise
    out = {}
    for n in names:
        if n in layerdiff.KEPT_XATTRS or "overlay." in n:
            try:
                out[n] = os.getxattr(path, n, follow_symlinks=False)
            except OSError as e:
                if e.errno not in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP):
                    raise
    return out


def is_empty(blob):
    """Whether a layer holds no entries (a step that changed nothing: no layer, only history)."""
    return blob.entries == 0

