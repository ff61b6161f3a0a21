"""Where a container's cgroups are, and what they say (v1, v2 and hybrid).

``locate(pid)`` reads /proc/PID/cgroup and /proc/self/mountinfo (so a private
mount namespace where the unified hierarchy is unmounted is seen as it is)
and returns a ``Cgroups`` with the directory of each controller.  Reading
files only: the runtime creates and removes the cgroups.
"""
import os
import time

UNLIMITED_V1 = 1 << 62  # v1 reports "no limit" as a page-rounded LONG_MAX


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
                if opt in ("cpu", "cpuacct", "memory", "pids", "freezer", "cpuset", "blkio", "devices"):
                    mounts.setdefault(opt, point)
    return mounts


def parse(proc_cgroup_text, mountinfo_text):
    """{controller: directory} for one process (pure)."""
    mounts = _mounts(mountinfo_text)
    dirs = {}
    for line in proc_cgroup_text.splitlines():
        hid, controllers, path = line.split(":", 2)
        if hid == "0" and controllers == "":
            if "unified" in mounts:
                dirs["unified"] = mounts["unified"] + path
            continue
        for c in controllers.split(","):
            if c in mounts:
                dirs[c] = os.path.join(mounts[c], path.lstrip("/"))
    return dirs


def _read(path):
    with open(path) as f:
        return f.read()


def _int(path, default=0):
    try:
        text = _read(path).strip()
    except OSError:
        return default
    if text == "max":
        return 0
    try:
        return int(text)
    except ValueError:
        return default


def _keyed(path):
    try:
        text = _read(path)
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        try:
            out[k] = int(v)
        except ValueError:
            pass
    return out


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
        if self.version == "v1":
            return _keyed(os.path.join(self.dirs["memory"], "memory.oom_control")).get("oom_kill", 0)
        if "unified" in self.dirs:
            return _keyed(os.path.join(self.dirs["unified"], "memory.events")).get("oom_kill", 0)
        return 0

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
        s = {"cgroup_version": self.version, "timestamp_ns": time.time_ns()}
        if self.version == "v1":
            mem, cpu, pids = self.dirs.get("memory"), self.dirs.get("cpuacct"), self.dirs.get("pids")
            s["cpu_usage_ns"] = _int(os.path.join(cpu, "cpuacct.usage")) if cpu else 0
            usage = _int(os.path.join(mem, "memory.usage_in_bytes"))
            limit = _int(os.path.join(mem, "memory.limit_in_bytes"))
            inactive = _keyed(os.path.join(mem, "memory.stat")).get("total_inactive_file", 0)
            s["memory_usage_bytes"] = usage
            s["memory_limit_bytes"] = 0 if limit >= UNLIMITED_V1 else limit
            s["memory_working_set_bytes"] = max(0, usage - inactive)
            s["pids_current"] = _int(os.path.join(pids, "pids.current")) if pids else 0
            s["pids_limit"] = _int(os.path.join(pids, "pids.max")) if pids else 0
        else:
            d = self.dirs.get("unified", "")
            s["cpu_usage_ns"] = _keyed(os.path.join(d, "cpu.stat")).get("usage_usec", 0) * 1000
            usage = _int(os.path.join(d, "memory.current"))
            s["memory_usage_bytes"] = usage
            s["memory_limit_bytes"] = _int(os.path.join(d, "memory.max"))
            s["memory_working_set_bytes"] = max(0, usage - _keyed(os.path.join(d, "memory.stat")).get("inactive_file", 0))
            s["pids_current"] = _int(os.path.join(d, "pids.current"))
            s["pids_limit"] = _int(os.path.join(d, "pids.max"))
        s["oom_kills"] = self.oom_kills()
        return s
