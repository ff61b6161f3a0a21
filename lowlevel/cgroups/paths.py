"""Turning ``linux.cgroupsPath`` into a directory in each hierarchy.

Rules (runc's cgroupfs driver, written down):

- absolute ("/kubepods/pod1/c1"): that path from the root of every hierarchy.
- relative ("mygroup/c1"): below the cgroup gantry-oci itself runs in, per
  hierarchy (read from /proc/self/cgroup), as runc does.  Under a shim that is
  the shim's cgroup.
- empty or absent: the relative path "<container id>", the same default as runc.
- systemd style ("system.slice:gantry:c1", what CRI clients send with the
  systemd cgroup driver): without --systemd-cgroup there is no systemd unit to
  ask for, so it is read as the directory systemd itself would create:
  /system.slice/gantry-c1.scope; a slice with dashes nests like systemd's
  ("a-b.slice" -> /a.slice/a-b.slice).  Malformed ones are an error.

When a hierarchy is mounted from a non-root cgroup (inside a cgroup namespace
the mount root shows that), the mount root is stripped from our own path.
"""
import posixpath


class CgroupPathError(ValueError):
    """linux.cgroupsPath cannot be turned into a cgroup directory."""


def is_systemd_style(path):
    return bool(path) and not path.startswith("/") and path.count(":") == 2


def expand_slice(name):
    """"a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice" (systemd's nesting)."""
    if name in ("", "-.slice"):
        return "/"
    if not name.endswith(".slice") or "/" in name:
        raise CgroupPathError("cgroupsPath: %r is not a systemd slice name" % name)
    stem = name[:-len(".slice")]
    if not stem or stem.startswith("-") or stem.endswith("-") or "--" in stem:
        raise CgroupPathError("cgroupsPath: invalid slice name %r" % name)
    parts, path = stem.split("-"), ""
    for i in range(len(parts)):
        path += "/" + "-".join(parts[:i + 1]) + ".slice"
    return path


def systemd_to_cgroupfs(path):
    """"slice:prefix:name" -> the cgroupfs directory systemd would give that unit."""
    slice_name, prefix, name = path.split(":")
    if not name:
        raise CgroupPathError("cgroupsPath %r: the unit name part is empty" % path)
    unit = name if name.endswith((".scope", ".slice")) else (
        "%s-%s.scope" % (prefix, name) if prefix else "%s.scope" % name)
    return posixpath.join(expand_slice(slice_name or "system.slice"), unit)


def inner_path(cgroups_path, container_id):
    """The path below the hierarchy root (absolute) or below our own cgroup (relative)."""
    path = cgroups_path or container_id
    if is_systemd_style(path):
        path = systemd_to_cgroupfs(path)
    if "\0" in path:
        raise CgroupPathError("cgroupsPath %r: contains NUL" % cgroups_path)
    clean = posixpath.normpath("/" + path.lstrip("/"))
    if clean == "/":
        raise CgroupPathError("cgroupsPath %r: names the root cgroup" % cgroups_path)
    # normpath on "/"+path also removes any "..", so nothing escapes upward.
    return clean if path.startswith("/") else clean.lstrip("/")


def directory(mountpoint, mount_root, own_path, inner):
    """The directory of ``inner`` in the hierarchy mounted at ``mountpoint``."""
    if inner.startswith("/"):
        base = "/"
    else:
        base = own_path or "/"
        if mount_root not in ("", "/") and (base == mount_root or base.startswith(mount_root + "/")):
            base = base[len(mount_root):] or "/"
    rel = posixpath.normpath(posixpath.join(base, inner)).lstrip("/")
    return posixpath.join(mountpoint, rel)
