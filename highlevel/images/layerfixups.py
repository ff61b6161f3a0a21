"""Completing an extracted layer against the layers below it (at commit, when they are known).

A layer is extracted into an empty directory without looking at its parents
(unpack.py), so that the layers of one image can be extracted at once.  Two
things in a tar stream refer to what lies below, and are finished here when
the layer is committed on its parent chain (``lowers``: the parents' layer
directories, top first, in overlay form):

- directories the layer created implicitly (``usr/local/bin/x`` without an
  entry for ``usr``) take the owner, mode, xattrs and mtime they have below,
  as they would applied onto a merged tree (``inherit_dir_attrs``);
- a hardlink whose target is a file of a lower layer: the target is copied up
  into this layer (content, owner, mode, xattrs, mtime), then linked, as
  containerd's overlay applier does (``resolve_deferred_links``).

An implicit directory where a lower layer has a symlink (``esc/file`` over
``esc -> /srv/data``, no entry for ``esc``) stays a directory of the layer,
which hides the symlink, and takes the attributes of what the symlink leads
to inside the image (``inherit_dir_attrs`` through ``resolve_in_lowers``; a
symlink loop is refused).  Why: this is what containerd 1.6 does (overlayfs
and native snapshotters alike; compared in tests/integration/images/
test_store_unpack.py), so the image means the same under Gantry as under
containerd.  umoci instead writes the file through the symlink (into
srv/data); we follow containerd, the peer a CRI runtime stands beside, and do
not refuse, which would fail images containerd runs.  Resolution never leaves
the image: an absolute target starts at the image root, ``..`` stops there.  A
target that is missing or not a directory leaves the directory's defaults
(0755, root), as containerd does.

``lookup`` finds what the merged view of the lowers shows at a path, with
overlay's rules: a 0/0 character device hides the path, an opaque directory
hides what lies below it, symlinks in the middle of a path are not followed.
"""
from __future__ import annotations

import os
import shutil
import stat

from .. import errors

OPAQUE_XATTR = "trusted.overlay.opaque"
FORBIDDEN_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")


def is_whiteout(st):
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _opaque(path):
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _in_layer(layer, parts):
    """(path, stat) at ``parts`` in one layer, or (None, hidden_below)."""
    path = layer
    for i, comp in enumerate(parts):
        path = os.path.join(path, comp)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None, False
        if is_whiteout(st):
            return None, True
        if i == len(parts) - 1:
            return (path, st), True
        if not stat.S_ISDIR(st.st_mode):
            return None, True                 # a file or symlink in the middle: nothing below shows
        if _opaque(path):
            # the rest of the path may still be in this layer, but not in the ones below
            hit, _ = _in_layer(path, parts[i + 1:])
            return hit, True
    return None, False


def lookup(lowers, parts):
    """(path, stat) of what the merged lowers show at ``parts``, or None."""
    for layer in lowers:
        hit, hidden = _in_layer(layer, parts)
        if hit is not None:
            return hit
        if hidden:
            return None
    return None


def _copy_attrs(src, st, dst, owners, symlink=False):
    if not symlink:
        for name in os.listxattr(src, follow_symlinks=False):
            if not name.startswith(FORBIDDEN_XATTR_PREFIXES):
                os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=False), follow_symlinks=False)
    if owners:
        os.lchown(dst, st.st_uid, st.st_gid)
    if not symlink:
        os.chmod(dst, stat.S_IMODE(st.st_mode))
        # chown cleared file capabilities: set the xattrs once more
        if owners:
            for name in os.listxattr(src, follow_symlinks=False):
                if name == "security.capability":
                    os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=False), follow_symlinks=False)
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def inherit_dir_attrs(target, implicit_dirs, lowers, owners=None):
    """Give the implicit directories of the layer in ``target`` their attributes from below:
    from the directory the path names in the merged lowers, through their symlinks."""
    owners = os.geteuid() == 0 if owners is None else owners
    for parts in sorted(implicit_dirs, key=len, reverse=True):
        what = f"layer directory {'/'.join(parts)!r}"
        found = lookup(lowers, resolve_in_lowers(lowers, parts, what))
        if found is None or not stat.S_ISDIR(found[1].st_mode):
            continue
        src, st = found
        _copy_attrs(src, st, os.path.join(target, *parts), owners)


def _ensure_parents(target, parts, what):
    """Real directories for ``parts`` inside the layer; returns those it had to create."""
    created = []
    path = target
    for i, comp in enumerate(parts):
        path = os.path.join(path, comp)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            os.mkdir(path, 0o755)
            created.append(parts[:i + 1])
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise errors.InvalidArgument(f"{what}: {'/'.join(parts[:i + 1])!r} is not a directory in the layer")
    return created


def _copy_up(src, st, dst, owners):
    mode = st.st_mode
    if stat.S_ISREG(mode):
        with open(src, "rb") as fin:
            fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
    elif stat.S_ISLNK(mode):
        os.symlink(os.readlink(src), dst)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
        os.mknod(dst, stat.S_IFMT(mode) | 0o600, st.st_rdev)
    else:
        raise errors.InvalidArgument(f"copy up {src}: unsupported file type")
    _copy_attrs(src, st, dst, owners, symlink=stat.S_ISLNK(mode))


def resolve_deferred_links(target, deferred, lowers, owners=None):
    """Create hardlinks whose targets lie in lower layers: copy the target up, then link.

    ``deferred``: [(link parts, target parts)] from LayerResult.deferred_links.
    Directories of the layer keep their mtimes; directories made for a copied-up
    target take their attributes from below.
    """
    owners = os.geteuid() == 0 if owners is None else owners
    saved = _dir_times(target, deferred)
    created = []
    for link_parts, target_parts in deferred:
        what = f"layer entry {'/'.join(link_parts)!r}: hardlink target {'/'.join(target_parts)!r}"
        own, hidden = _in_layer(target, target_parts)
        if own is not None:
            if is_whiteout(own[1]) or stat.S_ISDIR(own[1].st_mode):
                raise errors.InvalidArgument(f"{what} is deleted or a directory in this layer")
        else:
            found = None if hidden else lookup(lowers, target_parts)
            if found is None or stat.S_ISDIR(found[1].st_mode):
                raise errors.InvalidArgument(f"{what} is not a file of this layer or of the layers below")
            created += _ensure_parents(target, target_parts[:-1], what)
            _copy_up(found[0], found[1], os.path.join(target, *target_parts), owners)
        link = os.path.join(target, *link_parts)
        if os.path.lexists(link):
            continue      # a later entry of the layer took the name
        os.link(os.path.join(target, *target_parts), link, follow_symlinks=False)
    for path, (atime, mtime) in sorted(saved.items(), key=lambda kv: -len(kv[0])):
        os.utime(path, ns=(atime, mtime), follow_symlinks=False)
    inherit_dir_attrs(target, created, lowers, owners)


def _dir_times(target, deferred):
    """(atime, mtime) of every existing directory on the way to the links and their targets."""
    out = {}
    for link_parts, target_parts in deferred:
        for parts in (link_parts, target_parts):
            path = target
            for comp in ("",) + tuple(parts[:-1]):
                path = os.path.join(path, comp) if comp else path
                try:
                    st = os.lstat(path)
                except FileNotFoundError:
                    break
                if not stat.S_ISDIR(st.st_mode):
                    break
                out[path] = (st.st_atime_ns, st.st_mtime_ns)
    return out


# -- directories a layer makes where a lower layer has a symlink ---------------

MAX_SYMLINK_HOPS = 40


def resolve_in_lowers(lowers, parts, what):
    """The real path (parts) that ``parts`` names in the merged lowers, following symlinks; pure lookups.

    As containerd resolves a path against the rootfs (securejoin): an absolute target starts
    again at the root, ``..`` stops at the root, so the result never leaves the image.  Past
    MAX_SYMLINK_HOPS links the layer is refused (containerd: "too many links").
    """
    out, todo, hops = [], list(parts), 0
    while todo:
        comp = todo.pop(0)
        if comp in ("", "."):
            continue
        if comp == "..":
            if out:
                out.pop()
            continue
        found = lookup(lowers, tuple(out + [comp]))
        if found is not None and stat.S_ISLNK(found[1].st_mode):
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                raise errors.InvalidArgument(f"{what}: more than {MAX_SYMLINK_HOPS} symlinks below")
            link = os.readlink(found[0])
            if link.startswith("/"):
                out = []
            todo = link.split("/") + todo
            continue
        out.append(comp)
    return tuple(out)
