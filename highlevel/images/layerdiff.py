"""From an overlay upper directory entry to OCI layer tar headers (pure, table-tested).

An overlay upper dir holds what a container (or a build step) changed over its
lower layers, in overlay form; an OCI layer says the same in tar form::

    upper dir                                    layer tar
    char device 0/0 named ``x``                  ``.wh.x``   (empty regular file, mode 0)
    dir with trusted.overlay.opaque=y            the dir, then ``dir/.wh..wh..opq``
    file with trusted.overlay.whiteout (6.7+)    ``.wh.x``
    second name of an inode (nlink > 1)          hardlink to the first name written
    file, dir, symlink, fifo, char/blk device    the same, with uid/gid, mode, mtime
    socket                                       nothing (tar cannot carry one; containerd skips them)

``classify_upper`` names the kind of an entry from its lstat mode, rdev and
xattrs; ``header`` builds the ``tarfile.TarInfo`` (PAX format: only the
records needed, in a fixed order, so the same tree always gives the same
bytes).  Kept xattrs: ``security.capability`` only, as containerd, Docker and
containers/storage write them; ``trusted.overlay.*`` never leaves the host.
Refused (errors.Unimplemented / InvalidArgument naming the path): redirect
and metacopy directories (overlay features our mounts never turn on), and a
real file whose name starts with ``.wh.`` (it would read back as a whiteout).

Timestamps: only mtime, whole seconds (no atime/ctime records).  With
``epoch`` (SOURCE_DATE_EPOCH) every mtime later than it is clamped to it,
as BuildKit's rewrite-timestamp does, so a rebuild gives the same bytes.
"""
from __future__ import annotations

import os
import stat
import tarfile

from .. import errors
from .whiteouts import OPAQUE_MARKER, RESERVED_PREFIX, WHITEOUT_PREFIX

OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")
WHITEOUT_XATTRS = ("trusted.overlay.whiteout", "user.overlay.whiteout")
REFUSED_XATTRS = {
    "trusted.overlay.redirect": "a renamed directory (overlay redirect_dir)",
    "user.overlay.redirect": "a renamed directory (overlay redirect_dir)",
    "trusted.overlay.metacopy": "a metadata-only copy-up (overlay metacopy)",
    "user.overlay.metacopy": "a metadata-only copy-up (overlay metacopy)",
}
KEPT_XATTRS = ("security.capability",)

GZIP = "gzip"
ZSTD = "zstd"
UNCOMPRESSED = "none"
MEDIA_TYPES = {
    GZIP: "application/vnd.oci.image.layer.v1.tar+gzip",
    ZSTD: "application/vnd.oci.image.layer.v1.tar+zstd",
    UNCOMPRESSED: "application/vnd.oci.image.layer.v1.tar",
}

# kinds
WHITEOUT, OPAQUE_DIR, DIR, FILE, SYMLINK, CHR, BLK, FIFO, SOCKET = (
    "whiteout", "opaque_dir", "dir", "file", "symlink", "chr", "blk", "fifo", "socket")


def media_type(compression):
    try:
        return MEDIA_TYPES[compression]
    except KeyError:
        raise errors.InvalidArgument(
            f"layer compression {compression!r}: expected one of {', '.join(sorted(MEDIA_TYPES))}") from None


def parse_epoch(text):
    """SOURCE_DATE_EPOCH as given in the environment -> int seconds, or None when unset/empty."""
    if text is None or text == "":
        return None
    try:
        value = int(str(text).strip())
    except ValueError:
        raise errors.InvalidArgument(f"SOURCE_DATE_EPOCH {text!r}: not a whole number of seconds") from None
    if value < 0:
        raise errors.InvalidArgument(f"SOURCE_DATE_EPOCH {text!r}: negative")
    return value


def clamp_mtime(mtime, epoch):
    """Whole seconds, never later than ``epoch`` when one is given, never negative."""
    seconds = max(int(mtime), 0)
    return seconds if epoch is None else min(seconds, epoch)


def classify_upper(path, mode, rdev, xattrs):
    """The kind of an upper-dir entry (see the module docstring).  ``xattrs``: {name: bytes}."""
    for name, what in REFUSED_XATTRS.items():
        if name in xattrs:
            raise errors.Unimplemented(f"layer from upper dir: {path}: {what} is not supported")
    if stat.S_ISCHR(mode) and rdev == 0:
        return WHITEOUT
    if stat.S_ISDIR(mode):
        if any(xattrs.get(n) == b"y" for n in OPAQUE_XATTRS):
            return OPAQUE_DIR
        return DIR
    if stat.S_ISREG(mode):
        if any(n in xattrs for n in WHITEOUT_XATTRS):
            return WHITEOUT
        return FILE
    if stat.S_ISLNK(mode):
        return SYMLINK
    if stat.S_ISCHR(mode):
        return CHR
    if stat.S_ISBLK(mode):
        return BLK
    if stat.S_ISFIFO(mode):
        return FIFO
    if stat.S_ISSOCK(mode):
        return SOCKET
    raise errors.InvalidArgument(f"layer from upper dir: {path}: unknown file type {stat.S_IFMT(mode):o}")


def check_name(path, base):
    """A real entry may not carry a name the layer format reserves for whiteouts."""
    if base.startswith(WHITEOUT_PREFIX) or base.startswith(RESERVED_PREFIX):
        raise errors.InvalidArgument(
            f"layer from upper dir: {path}: a file named {base!r} would read back as a whiteout")


def kept_xattrs(xattrs):
    """The xattrs a layer carries, as PAX records, sorted by name."""
    return {"SCHILY.xattr." + n: xattrs[n].decode("utf-8", "surrogateescape")
            for n in sorted(xattrs) if n in KEPT_XATTRS}


def whiteout_header(parent, name, mtime, epoch):
    """``parent/.wh.name``: an empty regular file, mode 0, owned by root."""
    return _info(_join(parent, WHITEOUT_PREFIX + name), tarfile.REGTYPE, 0, 0, 0, clamp_mtime(mtime, epoch))


def opaque_header(dirpath, mtime, epoch):
    return _info(_join(dirpath, OPAQUE_MARKER), tarfile.REGTYPE, 0, 0, 0, clamp_mtime(mtime, epoch))


_TYPES = {DIR: tarfile.DIRTYPE, OPAQUE_DIR: tarfile.DIRTYPE, FILE: tarfile.REGTYPE, SYMLINK: tarfile.SYMTYPE,
          CHR: tarfile.CHRTYPE, BLK: tarfile.BLKTYPE, FIFO: tarfile.FIFOTYPE}


def header(path, kind, st, epoch, xattrs=None, linkname="", hardlink_to=None):
    """The TarInfo for a kept entry.  ``st``: an os.stat_result-like object (st_mode, st_uid,
    st_gid, st_size, st_mtime, st_rdev); ``hardlink_to``: the name an earlier entry gave this inode."""
    perm = 0o777 if kind == SYMLINK else stat.S_IMODE(st.st_mode)
    if hardlink_to is not None:
        info = _info(path, tarfile.LNKTYPE, perm, st.st_uid, st.st_gid, clamp_mtime(st.st_mtime, epoch))
        info.linkname = hardlink_to
    else:
        info = _info(path, _TYPES[kind], perm, st.st_uid, st.st_gid, clamp_mtime(st.st_mtime, epoch))
        if kind == FILE:
            info.size = st.st_size
        elif kind == SYMLINK:
            info.linkname = linkname
        elif kind in (CHR, BLK):
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    if xattrs:
        info.pax_headers = kept_xattrs(xattrs)
    return info


def _info(name, kind, mode, uid, gid, mtime):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.uname = info.gname = ""
    info.mtime = mtime
    info.size = 0
    return info


def _join(parent, name):
    return f"{parent}/{name}" if parent else name


def sort_key(name):
    """Entries of a directory in byte order of their names (what Go's filepath.Walk gives)."""
    return name.encode("utf-8", "surrogateescape")
