"""Where a container's cgroups are, and what they say (v1, v2 and hybrid).

``locate(pid)`` reads /proc/PID/cgroup and /proc/self/mountinfo (so a private
mount namespace where the unified hierarchy is unmounted is seen as it is)
and returns a ``Cgroups`` with the directory of each controller.  Reading
files only: the runtime creates and removes the cgroups.
"""
import os
import time

from . import cgroupstats


def _mounts(mountinfo_text):
    """{controller or "unified": mount point} of the cgroup filesystems."""
    mounts = {}
    for line in mountinfo_text.splitlines():
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or len(rfields) < 3:
            continue
        root, point, fstype = fields[3], fields[4], rfields[0]
        if root != "/":
            continue
        if fstype == "cgroup2":
            mounts.setdefault("unified", point)
        elif fstype == "cgroup":
            for opt in rfields[2].split(","):
                if opt in ("cpu", "cpuacct", "memory", "pids", "freezer", "cpuset", "blkio", "devices",
                       "hugetlb"):
                    mounts.setdefault(opt, point)
    return mounts


def parse(proc_cgroup_text, mountinfo_text):
    """{controller: directory} for one process (pure)."""
    mounts = _mounts(mountinfo_text)
    dirs, unified = {}, None
    for line in proc_cgroup_text.splitlines():
        hid, controllers, path = line.split(":", 2)
        if hid == "0" and controllers == "":
            unified = path
            continue
        for c in controllers.split(","):
            if c in mounts:
                dirs[c] = os.path.join(mounts[c], path.lstrip("/"))
    # on a hybrid host a process left in the unified root has no cgroup2 directory of its own
    # (the root's pressure files would be the whole host's)
    if unified is not None and "unified" in mounts and not (dirs and unified == "/"):
        dirs["unified"] = mounts["unified"] + unified
    return dirs


def _read(path):
    with open(path) as f:
        return f.read()


class CgroupFiles:
    """The files of the controller directories ``dirs``, as cgroupstats reads them."""

    def __init__(self, dirs):
        self.dirs = dirs

    def read(self, controller, name):
        d = self.dirs.get(controller)
        if not d:
            return None
        try:
            return _read(os.path.join(d, name))
        except OSError:
            return None

    def names(self, controller):
        d = self.dirs.get(controller)
        try:
            return os.listdir(d) if d else []
        except OSError:
            return []


class Cgroups:
    def __init__(self, dirs):
        self.dirs = dirs
        self.version = "v1" if "memory" in dirs else "v2"

    @classmethod
    def locate(cls, pid):
        try:
            return cls(parse(_read("/proc/%d/cgroup" % pid), _read("/proc/self/mountinfo")))
        except OSError:
            return None

    def exists(self):
        d = self.dirs.get("memory") or self.dirs.get("unified")
        return bool(d) and os.path.isdir(d)

    def oom_kills(self):
        files = CgroupFiles(self.dirs)
        if self.version == "v1":
            return cgroupstats.parse_keyed(files.read("memory", "memory.oom_control")).get("oom_kill", 0)
        return cgroupstats.parse_keyed(files.read("unified", "memory.events")).get("oom_kill", 0)

    def oom_control_path(self):
        """v1's memory.oom_control (it takes OOM notifications), or None."""
        return os.path.join(self.dirs["memory"], "memory.oom_control") if self.version == "v1" else None

    def procs_dir(self):
        for c in ("pids", "memory", "freezer", "unified"):
            if c in self.dirs and os.path.isdir(self.dirs[c]):
                return self.dirs[c]
        return None

    def pids(self):
        d = self.procs_dir()
        if not d:
            return []
        try:
            return [int(x) for x in _read(os.path.join(d, "cgroup.procs")).split()]
        except OSError:
            return []

    def stats(self):
        """Every StatsResponse field the cgroup files give (shim/cgroupstats.py)."""
        files = CgroupFiles(self.dirs)
        s = cgroupstats.stats_v1(files) if self.version == "v1" else cgroupstats.stats_v2(files)
        s["cgroup_version"] = self.version
        s["timestamp_ns"] = time.time_ns()
        return s
