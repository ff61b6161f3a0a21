"""Mounts and devices of a container's OCI spec (pure), as containerd's CRI plugin lays them out.

Order of ``mounts(...)``:
1. the defaults (/proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys, /sys/fs/cgroup),
   less every one a CRI or extra mount replaces (same destination; everything
   under /dev when /dev itself is mounted);
2. the CRI mounts and the extra mounts (the pod's /etc/hostname, /etc/hosts,
   /etc/resolv.conf and /dev/shm, the image volumes) that no CRI mount
   replaces, sorted by depth (stable), so a parent is mounted before its children.

A CRI mount becomes ``{"type": "bind", "options": ["rbind", <propagation>, "ro"|"rw"|"rro"]}``:
PRIVATE -> rprivate, HOST_TO_CONTAINER -> rslave (rootfsPropagation rslave
unless already rshared), BIDIRECTIONAL -> rshared (rootfsPropagation rshared).
``recursive_read_only`` needs ``readonly`` and PRIVATE.  ``selinux_relabel``
is accepted and does nothing: SELinux is off on gantry hosts, where
containerd's relabel is a no-op as well (critest asks for it on ordinary mounts).
"""
import posixpath

from ..errors import InvalidArgument, Unimplemented

FIELD = "CreateContainer config"
PRIVATE, HOST_TO_CONTAINER, BIDIRECTIONAL = 0, 1, 2     # cri MountPropagation
PROPAGATION = {PRIVATE: "rprivate", HOST_TO_CONTAINER: "rslave", BIDIRECTIONAL: "rshared"}
ETC_FILES = ("/etc/hostname", "/etc/hosts", "/etc/resolv.conf")


def default_mounts(privileged, sysfs_bind=False):
    """The mounts every container starts with (sysfs and cgroup read-only unless privileged)."""
    rw = "rw" if privileged else "ro"
    sys_mount = ({"destination": "/sys", "type": "bind", "source": "/sys",
                  "options": ["rbind", "rro" if not privileged else "rw", "nosuid", "nodev", "noexec"]}
                 if sysfs_bind else
                 {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", rw]})
    return [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        sys_mount,
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", rw]},
    ]


def clean_container_path(path, field):
    if not path or not path.startswith("/"):
        raise InvalidArgument("%s.%s: container path %r must be absolute" % (FIELD, field, path))
    if "\0" in path:
        raise InvalidArgument("%s.%s: container path contains a NUL byte" % (FIELD, field))
    return posixpath.normpath(path).replace("//", "/")


class _Bind:
    """One bind mount to add: a CRI mount or an extra one (same fields)."""

    def __init__(self, container_path, host_path, readonly=False, propagation=PRIVATE, rro=False, field=""):
        self.container_path, self.host_path = container_path, host_path
        self.readonly, self.propagation, self.rro, self.field = readonly, propagation, rro, field

    def depth(self):
        return self.container_path.count("/")


def cri_binds(config, host_paths=None):
    """The CRI mounts of a ContainerConfig, checked; ``host_paths[i]`` replaces mount i's host path (symlinks resolved)."""
    binds = []
    for i, m in enumerate(config.mounts):
        field = "mounts[%d]" % i
        dest = clean_container_path(m.container_path, field + ".container_path")
        if m.HasField("image") and m.image.image:
            if not m.host_path and not (host_paths and host_paths[i]):
                raise Unimplemented("%s.image: image volume mounts need the image mounted by the caller" % field)
        host = host_paths[i] if host_paths and host_paths[i] else m.host_path
        if not host or not host.startswith("/"):
            raise InvalidArgument("%s.%s.host_path: %r must be an absolute path" % (FIELD, field, host))
        if m.propagation not in PROPAGATION:
            raise InvalidArgument("%s.%s.propagation: unknown value %d" % (FIELD, field, m.propagation))
        if m.uidMappings or m.gidMappings:
            raise Unimplemented("%s.%s: id-mapped mounts are not supported" % (FIELD, field))
        readonly = m.readonly or (m.HasField("image") and bool(m.image.image))
        if m.recursive_read_only:
            if not readonly:
                raise InvalidArgument("%s.%s.recursive_read_only: needs readonly (a read-write mount "
                                      "cannot be recursively read-only)" % (FIELD, field))
            if m.propagation != PRIVATE:
                raise InvalidArgument("%s.%s.recursive_read_only: needs propagation PRIVATE, got %s"
                                      % (FIELD, field, PROPAGATION[m.propagation]))
        binds.append(_Bind(dest, host, readonly, m.propagation, m.recursive_read_only, field))
    return binds


def extra_binds(config, etc_files, shm_source, readonly_rootfs, volumes):
    """The pod's etc files, its /dev/shm (when bound) and the image volumes, less those a CRI mount replaces."""
    taken = {clean_container_path(m.container_path, "mounts[%d].container_path" % i)
             for i, m in enumerate(config.mounts)}
    binds = []
    for path in ETC_FILES:
        host = (etc_files or {}).get(path)
        if host and path not in taken:
            binds.append(_Bind(path, host, readonly=readonly_rootfs))
    if shm_source and "/dev/shm" not in taken:
        binds.append(_Bind("/dev/shm", shm_source))
    for dest, host in sorted((volumes or {}).items()):
        dest = clean_container_path(dest, "image volume")
        if dest not in taken:
            binds.append(_Bind(dest, host))
    return binds


def mounts(config, privileged, etc_files, shm_source, readonly_rootfs, volumes, host_paths=None,
           sysfs_bind=False):
    """(mounts list, rootfsPropagation or "") for the spec."""
    binds = cri_binds(config, host_paths) + extra_binds(config, etc_files, shm_source, readonly_rootfs, volumes)
    replaced = {b.container_path for b in binds}
    out = []
    for m in default_mounts(privileged, sysfs_bind):
        dest = m["destination"]
        if dest in replaced or ("/dev" in replaced and dest.startswith("/dev/")):
            continue
        out.append(m)
    rootfs_propagation = ""
    for b in sorted(binds, key=_Bind.depth):
        options = ["rbind", PROPAGATION[b.propagation]]
        if b.propagation == BIDIRECTIONAL:
            rootfs_propagation = "rshared"
        elif b.propagation == HOST_TO_CONTAINER and rootfs_propagation != "rshared":
            rootfs_propagation = "rslave"
        options.append("rro" if b.rro else "ro" if b.readonly else "rw")
        out.append({"destination": b.container_path, "type": "bind", "source": b.host_path, "options": options})
    return out, rootfs_propagation


# ------------------------------------------------------------------ devices

DEVICE_ACCESS = set("rwm")


def devices(config, resolved, host_devices, privileged):
    """(linux.devices, linux.resources.devices) for the CRI devices and, when privileged, all host devices.

    ``resolved`` maps each CRI device's host_path to the HostDevice list found
    there (hostfacts.lookup_devices: one for a device node, every device below a
    directory); ``host_devices`` lists /dev for privileged containers.
    """
    nodes = []
    rules = [{"allow": False, "access": "rwm"}]
    if privileged:
        if host_devices is None:
            raise ValueError("container_spec: a privileged container needs host_devices (hostfacts.host_devices())")
        nodes.extend(_node(d, d.path) for d in host_devices)
        rules = [{"allow": True, "access": "rwm"}]
    for i, dev in enumerate(config.devices):
        field = "%s.devices[%d]" % (FIELD, i)
        dest = clean_container_path(dev.container_path, "devices[%d].container_path" % i)
        perms = dev.permissions or "rwm"
        if not set(perms) <= DEVICE_ACCESS:
            raise InvalidArgument("%s.permissions: %r is not a combination of r, w and m" % (field, dev.permissions))
        found = (resolved or {}).get(dev.host_path)
        if found is None:
            raise ValueError("container_spec: device %s was not resolved (hostfacts.lookup_devices)" % dev.host_path)
        for d in found:
            rel = posixpath.relpath(d.path, dev.host_path) if d.path != dev.host_path else ""
            path = posixpath.join(dest, rel) if rel else dest
            nodes = [n for n in nodes if n["path"] != path]
            nodes.append(_node(d, path))
            rules.append({"allow": True, "type": d.type, "major": d.major, "minor": d.minor, "access": perms})
    return nodes, rules


def _node(d, path):
    return {"path": path, "type": d.type, "major": d.major, "minor": d.minor,
            "fileMode": d.file_mode, "uid": d.uid, "gid": d.gid}
