"""Namespaces: which to make, which to join, and the uid/gid maps of a user namespace."""
import os

from .syscalls import (
    CLONE_NEWCGROUP,
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWTIME,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
)

# spec type -> (clone flag, /proc/PID/ns name); the order is the order of setns():
# user first (it grants the capabilities for the rest), mount last but one, cgroup last.
KINDS = {
    "user": (CLONE_NEWUSER, "user"),
    "ipc": (CLONE_NEWIPC, "ipc"),
    "uts": (CLONE_NEWUTS, "uts"),
    "network": (CLONE_NEWNET, "net"),
    "pid": (CLONE_NEWPID, "pid"),
    "time": (CLONE_NEWTIME, "time"),
    "mount": (CLONE_NEWNS, "mnt"),
    "cgroup": (CLONE_NEWCGROUP, "cgroup"),
}


def plan(spec_namespaces):
    """(flags to unshare, [(kind, path) to join]) from linux.namespaces, without the user namespace."""
    flags = 0
    join = []
    given = {ns["type"]: ns.get("path") or "" for ns in spec_namespaces or []}
    for kind in KINDS:
        if kind == "user" or kind not in given:
            continue
        if given[kind]:
            join.append((kind, given[kind]))
        else:
            flags |= KINDS[kind][0]
    return flags, join


def open_joins(join):
    """Open every namespace to join while host paths are still reachable."""
    fds = []
    for kind, path in join:
        try:
            fds.append((kind, os.open(path, os.O_RDONLY | os.O_CLOEXEC), path))
        except OSError as e:
            raise OSError(e.errno, "open %s namespace %s: %s" % (kind, path, e.strerror)) from None
    return fds


def enter(sys, fds):
    for kind, fd, path in fds:
        sys.setns(fd, KINDS[kind][0], what="%s %s" % (kind, path))
        os.close(fd)


def map_text(mappings):
    return "".join("%d %d %d\n" % (m["containerID"], m["hostID"], m["size"]) for m in mappings)


def write_id_maps(pid, linux):
    """Parent side: uid_map and gid_map of the child's new user namespace."""
    for name, key in (("uid_map", "uidMappings"), ("gid_map", "gidMappings")):
        path = "/proc/%d/%s" % (pid, name)
        try:
            with open(path, "w") as f:
                f.write(map_text(linux.get(key) or []))
        except OSError as e:
            raise OSError(e.errno, "write %s: %s" % (path, e.strerror)) from None


def ns_paths(pid):
    return {kind: "/proc/%d/ns/%s" % (pid, name) for kind, (_, name) in KINDS.items()}
