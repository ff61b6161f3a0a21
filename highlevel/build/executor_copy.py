"""COPY and ADD into a step's mounted rootfs.

    dest = resolve_dest(rootfs, "/app/", workdir, several=True, where="Dockerfile:4: COPY")
    copy_entry(src_host_path, dest_host_path, Attrs(chown=(1000, 1000), chmod=0o755))
    add_archive(tar_path, dest_dir, attrs, scratch)   # ADD of a local tar: extracted, hostile entries refused

Destination rules (Docker's): a relative destination is taken from WORKDIR; a
destination ending in ``/``, an existing directory, or several sources
means "into this directory"; a source directory's *contents* are copied.
The destination is resolved inside the rootfs: its symlinks are followed as
the container would see them (an absolute target restarts at the rootfs, ``..``
stops at it), so no base image can make COPY write outside its own tree.
Missing parent directories are made 0755, root's or ``--chown``'s.

Attributes: files keep their mode and mtime; owners are 0:0 for context
files and kept for ``--from`` files, unless ``--chown`` gives them (names are
resolved by the caller from the image's /etc/passwd and /etc/group);
``--chmod`` sets the permission bits of every copied entry.  Device nodes in
a source are refused.
"""
from __future__ import annotations

import errno
import os
import posixpath
import shutil
import stat
import tempfile
from dataclasses import dataclass

from .. import errors


@dataclass
class Attrs:
    chown: tuple | None = None      # (uid, gid) for every copied entry
    chmod: int | None = None        # permission bits for every copied entry
    keep_owner: bool = False        # --from copies keep the owners they had


def _components(path):
    return [p for p in path.split("/") if p and p != "."]


def secure_join(rootfs, path, create_dirs=False, owner=None):
    """The host path ``path`` names inside ``rootfs``, symlinks resolved inside it.

    With ``create_dirs`` the missing directories are made (0755, owned by ``owner``
    when given: ``COPY --chown`` owns the directories it creates, as BuildKit and buildah do); without, a
    missing component ends the walk and the rest is appended as it is."""
    resolved = []
    pending = _components(path)
    links = 0
    while pending:
        name = pending.pop(0)
        if name == "..":
            if resolved:
                resolved.pop()
            continue
        host = os.path.join(rootfs, *resolved, name)
        try:
            st = os.lstat(host)
        except FileNotFoundError:
            if not create_dirs:
                return os.path.join(rootfs, *resolved, name, *pending)
            os.mkdir(host, 0o755)
            os.chmod(host, 0o755)
            if owner is not None:
                os.chown(host, *owner)
            resolved.append(name)
            continue
        if stat.S_ISLNK(st.st_mode):
            links += 1
            if links > 40:
                raise errors.InvalidArgument("resolve %s in the image: too many levels of symbolic links" % path)
            target = os.readlink(host)
            if target.startswith("/"):
                resolved = []
            pending = _components(target) + pending
            continue
        resolved.append(name)
        if pending and not stat.S_ISDIR(st.st_mode):
            raise errors.InvalidArgument("resolve %s in the image: /%s is not a directory"
                                         % (path, "/".join(resolved)))
    return os.path.join(rootfs, *resolved)


def container_dest(dest, workdir):
    """The destination as an absolute container path (keeps a trailing slash)."""
    slash = dest.endswith("/") or dest in (".", "./")
    full = dest if dest.startswith("/") else posixpath.join(workdir or "/", dest)
    full = posixpath.normpath(full)
    return full + "/" if slash and full != "/" else full


def copy_entry(src, dest, attrs, skip=None):
    """Copy ``src`` (host path; never followed if a symlink) to ``dest`` (host path in the rootfs);
    a directory's contents go into ``dest``, which is made if needed.  ``skip(host_path)`` leaves
    entries out (the .dockerignore)."""
    if skip is not None and skip(src):
        return
    st = os.lstat(src)
    if stat.S_ISDIR(st.st_mode):
        if not os.path.isdir(dest) or os.path.islink(dest):
            _clear(dest)
            os.mkdir(dest, 0o700)
        for name in sorted(os.listdir(src)):
            copy_entry(os.path.join(src, name), os.path.join(dest, name), attrs, skip)
        _attrs(dest, st, attrs)
        return
    _clear(dest)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), dest)
    elif stat.S_ISREG(st.st_mode):
        _copy_file(src, dest)
    elif stat.S_ISFIFO(st.st_mode):
        os.mkfifo(dest, 0o600)
    else:
        raise errors.InvalidArgument("copy %s: device nodes and sockets are not copied" % src)
    _attrs(dest, st, attrs)


def _copy_file(src, dest):
    fin = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        fout = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            size = os.fstat(fin).st_size
            copied = 0
            try:
                while copied < size:
                    n = os.copy_file_range(fin, fout, size - copied)
                    if n == 0:
                        break
                    copied += n
            except OSError as e:
                if e.errno not in (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                    raise
            if copied < size:           # across filesystems on older kernels: plain reads and writes
                os.lseek(fin, copied, os.SEEK_SET)
                os.lseek(fout, copied, os.SEEK_SET)
                while chunk := os.read(fin, 1 << 20):
                    os.write(fout, chunk)
        finally:
            os.close(fout)
    finally:
        os.close(fin)


def _clear(dest):
    """Make room for a new entry at ``dest`` (a directory in the way is refused, as Docker does)."""
    try:
        st = os.lstat(dest)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise errors.InvalidArgument("copy to %s: a directory is in the way of a file" % dest)
    os.unlink(dest)


def _attrs(path, st, attrs):
    uid, gid = attrs.chown if attrs.chown is not None else ((st.st_uid, st.st_gid) if attrs.keep_owner else (0, 0))
    os.chown(path, uid, gid, follow_symlinks=False)
    if not stat.S_ISLNK(st.st_mode):
        mode = attrs.chmod if attrs.chmod is not None else stat.S_IMODE(st.st_mode)
        os.chmod(path, mode)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def is_archive(path):
    """A local file ADD extracts: a tar, plain or gzip/bzip2/xz/zstd compressed."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return False
    if head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00" or head[:4] == b"\x28\xb5\x2f\xfd":
        return True
    return len(head) >= 262 and head[257:262] == b"ustar"


def add_archive(path, dest_dir, attrs, scratch):
    """Extract a local tar into ``dest_dir`` (made if needed) with the hardened layer unpacker:
    absolute names, ``..``, writes through symlinks and hardlink escapes are refused (InvalidArgument)."""
    from ..images.unpack import apply_layer

    tmp_parent = tempfile.mkdtemp(prefix="add-", dir=scratch)   # outside the rootfs: leaves no trace there
    try:
        target = os.path.join(tmp_parent, "x")
        with _decompressed(path) as stream:
            apply_layer(stream, target, sync=False, owners=True)
        if not os.path.isdir(dest_dir):
            _clear(dest_dir)
            os.mkdir(dest_dir, 0o755)
        for name in sorted(os.listdir(target)):
            copy_entry(os.path.join(target, name), os.path.join(dest_dir, name),
                       Attrs(chown=attrs.chown, chmod=attrs.chmod, keep_owner=True))
    finally:
        shutil.rmtree(tmp_parent, ignore_errors=True)


class _decompressed:
    """bzip2 and xz are opened here; gzip, zstd and plain tars go to the unpacker as they are."""

    def __init__(self, path):
        self.path = path
        self.f = None

    def __enter__(self):
        with open(self.path, "rb") as f:
            head = f.read(6)
        if head[:3] == b"BZh":
            import bz2

            self.f = bz2.open(self.path, "rb")
        elif head == b"\xfd7zXZ\x00":
            import lzma

            self.f = lzma.open(self.path, "rb")
        else:
            self.f = open(self.path, "rb")
        return self.f

    def __exit__(self, *exc):
        self.f.close()
