"""Host side of a container's mounts (small I/O helpers for CreateContainer).

    host_paths = check_host_mounts(config)                 # -> container_spec(host_paths=...)
    volumes = prepare_image_volumes(image_config, container_dir, rootfs)   # -> container_spec(volumes)

``check_host_mounts``: every CRI mount's host path must exist (NotFound naming
it; kubelet creates hostPath directories itself), symlinks in it are resolved
on the host as containerd does (critest mounts a symlink to a directory), and
a BIDIRECTIONAL mount needs its source on a shared mount, HOST_TO_CONTAINER on
a shared or slave one (FailedPrecondition otherwise, as containerd).
Image-volume mounts (``mount.image``) without a host path give None.

``prepare_image_volumes``: each path of the image config's ``Volumes`` gets a
fresh directory under ``<container_dir>/volumes/``, filled with a copy of
what the image holds at that path (owners, modes, symlinks kept), as
containerd's CRI plugin does; the path is resolved inside the rootfs.
"""
import hashlib
import os
import posixpath
import shutil
import stat

from ..errors import FailedPrecondition, InvalidArgument, NotFound
from .userinfo import resolve_in_root

BIDIRECTIONAL, HOST_TO_CONTAINER = 2, 1
MOUNTINFO = "/proc/self/mountinfo"


def check_host_mounts(config, mountinfo_path=MOUNTINFO):
    """The resolved host path of each CRI mount (None for an image mount without one), in order."""
    resolved = []
    table = None
    for i, m in enumerate(config.mounts):
        field = "CreateContainer config.mounts[%d].host_path" % i
        if not m.host_path:
            if m.HasField("image") and m.image.image:
                resolved.append(None)
                continue
            raise InvalidArgument("%s: empty" % field)
        if not m.host_path.startswith("/"):
            raise InvalidArgument("%s: %r must be an absolute path" % (field, m.host_path))
        if not os.path.lexists(m.host_path):
            raise NotFound("%s: %s does not exist" % (field, m.host_path))
        path = os.path.realpath(m.host_path)
        if not os.path.exists(path):
            raise NotFound("%s: %s is a dangling symlink (to %s)" % (field, m.host_path, path))
        if m.propagation in (BIDIRECTIONAL, HOST_TO_CONTAINER):
            if table is None:
                with open(mountinfo_path) as f:
                    table = parse_mountinfo(f.read())
            _check_propagation(table, path, m.propagation, field)
        resolved.append(path)
    return resolved


def parse_mountinfo(text):
    """[(mount point, optional fields)] of a mountinfo text, in its order (pure)."""
    out = []
    for line in text.splitlines():
        fields = line.split()
        if "-" not in fields or len(fields) < 7:
            continue
        optional = fields[6:fields.index("-")]
        out.append((_unescape(fields[4]), optional))
    return out


def _unescape(text):
    # mountinfo escapes space, tab, newline and backslash as \ooo
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and len(text[i + 1:i + 4]) == 3 and text[i + 1:i + 4].isdigit():
            out.append(chr(int(text[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def mount_of(table, path):
    """The (mount point, optional fields) holding ``path``: the longest mount point prefix, the last one mounted."""
    best = None
    for point, optional in table:
        if path == point or point == "/" or path.startswith(point.rstrip("/") + "/"):
            if best is None or len(point) >= len(best[0]):
                best = (point, optional)
    return best


def _check_propagation(table, path, propagation, field):
    found = mount_of(table, path)
    tags = found[1] if found else []
    shared = any(t.startswith("shared:") for t in tags)
    slave = any(t.startswith("master:") for t in tags)
    if propagation == BIDIRECTIONAL and not shared:
        raise FailedPrecondition("%s: %s is on mount %s, which is not shared (BIDIRECTIONAL needs a shared mount)"
                                 % (field, path, found[0] if found else "?"))
    if propagation == HOST_TO_CONTAINER and not (shared or slave):
        raise FailedPrecondition("%s: %s is on mount %s, which is neither shared nor slave "
                                 "(HOST_TO_CONTAINER needs one)" % (field, path, found[0] if found else "?"))


def volume_dir_name(container_path):
    return hashlib.sha256(container_path.encode()).hexdigest()[:32]


def prepare_image_volumes(image_config, container_dir, rootfs):
    """{container path: host dir} for the image's Volumes, each dir a copy of the image's content there."""
    volumes = ((image_config or {}).get("config") or {}).get("Volumes") or {}
    out = {}
    base = os.path.join(container_dir, "volumes")
    for path in sorted(volumes):
        if not path.startswith("/"):
            raise InvalidArgument("CreateContainer image config Volumes: %r is not an absolute path" % path)
        dest = posixpath.normpath(path)
        host = os.path.join(base, volume_dir_name(dest))
        os.makedirs(base, mode=0o711, exist_ok=True)
        if os.path.lexists(host):
            shutil.rmtree(host)                  # left by an interrupted attempt: start over
        source = resolve_in_root(rootfs, dest)
        if source is not None and stat.S_ISDIR(os.lstat(source).st_mode):
            _copy_tree(source, host)
        else:
            os.mkdir(host, 0o755)
        out[dest] = host
    return out


def _copy_tree(source, target):
    """Copy a directory tree without following symlinks, keeping owners, modes and times."""
    shutil.copytree(source, target, symlinks=True)
    _copy_owner(source, target)
    for dirpath, dirnames, filenames in os.walk(source):
        rel = os.path.relpath(dirpath, source)
        for name in dirnames + filenames:
            _copy_owner(os.path.join(dirpath, name), os.path.join(target, rel, name))


def _copy_owner(src, dst):
    st = os.lstat(src)
    os.lchown(dst, st.st_uid, st.st_gid)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(dst, stat.S_IMODE(st.st_mode))
