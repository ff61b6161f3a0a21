"""What the host tells the spec generator (small I/O helpers; specgen itself stays pure).

    SpecDefaults(all_caps=current_capabilities(), swap_limit=swap_limit_supported(),
                 hugetlb=hugetlb_supported(), cgroup_namespace=cgroup_unified(), node_hostname=...)
    container_spec(..., devices=lookup_devices(config), host_devices=host_devices() if privileged else None,
                   read_profile=read_seccomp_profile)

- ``current_capabilities``: the bounding set of gantryd, by name: what "add
  ALL" and privileged containers get (containerd uses its own current set; a
  host without CAP_SYS_RESOURCE cannot hand it out).
- ``host_devices``: every device node under /dev, as containerd and runc list
  them for privileged containers (pts, shm, fd, mqueue and console skipped).
- ``lookup_devices``: the device nodes each CRI device's host_path names (a
  device, or every device below a directory); symlinks resolved.
- ``read_seccomp_profile``: a Localhost profile file (JSON object, size-limited).
"""
import errno
import json
import os
import stat

from ..errors import InvalidArgument, NotFound
from .specgen import HostDevice
from .specsecurity import KNOWN_CAPS

SKIPPED_DIRS = {"pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"}
MAX_PROFILE = 1 << 20
MAX_DEVICE_WALK = 4096    # entries below a CRI device directory (found by tests/fuzz: /proc walked the host)


def capabilities_from_mask(mask):
    """Capability names of a bit mask (pure)."""
    return [name for bit, name in enumerate(KNOWN_CAPS) if mask >> bit & 1]


def current_capabilities(status_path="/proc/self/status"):
    with open(status_path) as f:
        for line in f:
            if line.startswith("CapBnd:"):
                return capabilities_from_mask(int(line.split()[1], 16))
    raise OSError(errno.EINVAL, "no CapBnd line in %s" % status_path)


def device_at(path):
    """The HostDevice of a device node (lstat: a symlink is not one), or None for any other file."""
    st = os.lstat(path)
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        return None
    return HostDevice(path, kind, os.major(st.st_rdev), os.minor(st.st_rdev), stat.S_IMODE(st.st_mode),
                      st.st_uid, st.st_gid)


class _Budget:
    """Entries a directory walk may still visit (a CRI device path of / or /proc must not walk the host)."""

    def __init__(self, entries):
        self.left = entries


def _devices_below(directory, budget=None):
    out = []
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        if budget is not None:
            budget.left -= 1
            if budget.left < 0:
                raise OverflowError(directory)
        if entry.is_dir(follow_symlinks=False):
            if entry.name not in SKIPPED_DIRS:
                out.extend(_devices_below(entry.path, budget))
            continue
        if entry.name == "console":
            continue
        try:
            dev = device_at(entry.path)
        except FileNotFoundError:
            continue
        if dev is not None:
            out.append(dev)
    return out


def host_devices(dev="/dev"):
    return _devices_below(dev)


def lookup_devices(config):
    """{host_path: [HostDevice]} for the CRI devices of a ContainerConfig."""
    out = {}
    for i, d in enumerate(config.devices):
        field = "CreateContainer config.devices[%d].host_path" % i
        if not d.host_path.startswith("/"):
            raise InvalidArgument("%s: %r must be an absolute path" % (field, d.host_path))
        if "\0" in d.host_path:
            raise InvalidArgument("%s: %r holds a NUL byte" % (field, d.host_path))
        path = os.path.realpath(d.host_path)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise NotFound("%s: %s does not exist" % (field, d.host_path)) from None
        if stat.S_ISDIR(st.st_mode):
            try:
                found = _devices_below(path, _Budget(MAX_DEVICE_WALK))
            except OverflowError:
                raise InvalidArgument("%s: %s holds more than %d entries: not a device directory"
                                      % (field, d.host_path, MAX_DEVICE_WALK)) from None
            except OSError as exc:
                raise InvalidArgument("%s: listing the devices below %s: %s" % (field, d.host_path, exc)) from None
        else:
            dev = device_at(path)
            if dev is None:
                raise InvalidArgument("%s: %s is not a device node" % (field, d.host_path))
            found = [dev]
        # container paths are laid out relative to the path as given
        out[d.host_path] = [HostDevice(os.path.join(d.host_path, os.path.relpath(x.path, path))
                                       if x.path != path else d.host_path,
                                       x.type, x.major, x.minor, x.file_mode, x.uid, x.gid) for x in found]
    return out


def read_seccomp_profile(path):
    """A Localhost seccomp profile: a JSON object of at most 1 MiB (NotFound / InvalidArgument naming the file)."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_PROFILE + 1)
    except FileNotFoundError:
        raise NotFound("seccomp profile %s: does not exist" % path) from None
    except IsADirectoryError:
        raise InvalidArgument("seccomp profile %s: is a directory" % path) from None
    except (OSError, ValueError) as err:   # no permission, a NUL byte, a path too long...
        raise InvalidArgument("seccomp profile %s: cannot be read: %s" % (path, err)) from None
    if len(data) > MAX_PROFILE:
        raise InvalidArgument("seccomp profile %s: larger than %d bytes" % (path, MAX_PROFILE))
    try:
        profile = json.loads(data)
    except ValueError as err:
        raise InvalidArgument("seccomp profile %s: not JSON (%s)" % (path, err)) from None
    if not isinstance(profile, dict):
        raise InvalidArgument("seccomp profile %s: not a JSON object" % path)
    return profile


def swap_limit_supported(cgroup_root="/sys/fs/cgroup"):
    """cgroup v1: memory.memsw.limit_in_bytes exists; v2: memory.swap.max exists in our cgroup."""
    if cgroup_unified(cgroup_root):
        return os.path.exists(os.path.join(cgroup_root, "memory.swap.max")) or \
            any(os.path.exists(os.path.join(cgroup_root, d, "memory.swap.max")) for d in _child_dirs(cgroup_root))
    return os.path.exists(os.path.join(cgroup_root, "memory", "memory.memsw.limit_in_bytes"))


def _child_dirs(root):
    try:
        return [e.name for e in os.scandir(root) if e.is_dir()][:16]
    except OSError:
        return []


def hugetlb_supported(cgroup_root="/sys/fs/cgroup"):
    if cgroup_unified(cgroup_root):
        try:
            with open(os.path.join(cgroup_root, "cgroup.controllers")) as f:
                return "hugetlb" in f.read().split()
        except OSError:
            return False
    return os.path.isdir(os.path.join(cgroup_root, "hugetlb"))


def cgroup_unified(cgroup_root="/sys/fs/cgroup"):
    """Whether the host runs cgroup v2 only (then unprivileged containers get a cgroup namespace)."""
    return os.path.exists(os.path.join(cgroup_root, "cgroup.controllers"))
