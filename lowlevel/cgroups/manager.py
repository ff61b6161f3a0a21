"""One container's cgroups across whatever hierarchies the machine has.

Lifecycle (the runtime drives it):

    m = manager_for(spec["linux"], container_id)   # where: no I/O but reading the layout
    m.create()                                       # mkdir everywhere, init cpuset, enable v2 controllers
    m.add(init_pid)                                  # the init joins every hierarchy
    m.apply(spec["linux"]["resources"])              # limits; again later for `update`
    state["cgroups"] = m.paths()                     # JSON; from_state(paths) rebuilds the manager
    m.freeze() / m.thaw() / m.state()                # pause / resume
    m.stats(), m.pids(), m.oom_kills()
    m.destroy()                                      # after the processes are gone; idempotent

Writes are routed by the file's prefix: "memory.limit_in_bytes" goes to the
memory hierarchy's directory.  Each controller has a home: its v1 hierarchy if
it is mounted there, otherwise the cgroup2 directory if the cgroup2 root offers
it (see layout.py for the hybrid case).

Devices are written on the first apply() after create() even when the config
has no device rules (the always-allowed list still applies, as with runc);
later apply() calls (update) touch devices only when "devices" is given.
"""
import os
import time

from . import fs
from .errors import CgroupError
from .layout import HYBRID, V1, V2, detect
from .paths import directory, inner_path

FREEZE_TIMEOUT = 5.0


def _own_cgroups():
    from .layout import parse_proc_cgroup
    with open("/proc/self/cgroup") as f:
        return parse_proc_cgroup(f.read())


def manager_for(spec_linux, container_id, layout=None, own=None):
    """The Manager for a container, from linux.cgroupsPath (rules in paths.py)."""
    spec_linux = spec_linux or {}
    layout = layout or detect()
    own = _own_cgroups() if own is None else own
    inner = inner_path(spec_linux.get("cgroupsPath") or "", container_id)
    v1_paths = {}
    for key, mount in layout.v1.items():
        v1_paths[key] = directory(mount.mountpoint, mount.root, own.get(key, "/"), inner)
    unified = unified_root = None
    v2 = set()
    if layout.unified is not None:
        unified_root = layout.unified.mountpoint
        unified = directory(unified_root, layout.unified.root, own.get("", "/"), inner)
        v2 = {c for c in layout.unified_controllers if c not in layout.v1}
    return Manager(layout.mode, v1_paths, unified, v2, unified_root,
                   linux_devices=spec_linux.get("devices") or ())


def from_state(paths):
    """Rebuild the Manager from what paths() returned."""
    return Manager(paths["mode"], dict(paths.get("v1") or {}), paths.get("unified"),
                   set(paths.get("v2") or ()), paths.get("unified_root"),
                   linux_devices=paths.get("linux_devices") or ())


class Manager:
    def __init__(self, mode, v1_paths, unified, v2_controllers, unified_root=None, linux_devices=()):
        self.mode = mode
        self.v1 = v1_paths
        self.unified = unified
        self.unified_root = unified_root
        self.v2_controllers = set(v2_controllers)
        self.linux_devices = [dict(type=d.get("type", "c"), major=d.get("major", 0), minor=d.get("minor", 0))
                              for d in linux_devices]
        self._fresh = False
        self.sys = None   # the Syscalls object for bpf(); tests set a fake

    # ------------------------------------------------------------------ where
    def paths(self):
        return {"mode": self.mode, "v1": dict(self.v1), "unified": self.unified,
                "unified_root": self.unified_root, "v2": sorted(self.v2_controllers),
                "linux_devices": self.linux_devices}

    def home(self, controller):
        """V1, V2 or None for a controller ("io" is blkio's v2 name)."""
        if controller in self.v1:
            return V1
        if self.unified is None:
            return None
        if controller in ("freezer", "devices"):
            return V2  # built into cgroup2: cgroup.freeze, BPF device programs
        return V2 if {"blkio": "io"}.get(controller, controller) in self.v2_controllers else None

    def dirs(self):
        """Every directory add() writes a pid into."""
        return self._dirs()

    def _dirs(self):
        dirs = sorted(set(self.v1.values()))
        if self.unified:
            dirs.append(self.unified)
        return dirs

    def _dir_for(self, filename, home):
        prefix = filename.split(".", 1)[0]
        if home == V2:
            return self.unified
        path = self.v1.get(prefix)
        if path is None:
            raise CgroupError("write %s: the %s controller is not mounted" % (filename, prefix))
        return path

    def _write_all(self, files, home):
        for name, value in files:
            fs.write(self._dir_for(name, home), name, value)

    def _read_v1(self, name):
        path = self.v1.get(name.split(".", 1)[0])
        return fs.read(path, name) if path else None

    def _read_v2(self, name):
        return fs.read(self.unified, name) if self.unified else None

    # ---------------------------------------------------------------- create
    def create(self):
        for path in sorted(set(self.v1.values())):
            fs.makedirs(path)
        if "cpuset" in self.v1:
            _init_cpuset(self.v1["cpuset"])
        if self.unified:
            if self.mode == V2:
                self._enable_v2_controllers(self.v2_controllers)
            fs.makedirs(self.unified)
        self._fresh = True

    def _enable_v2_controllers(self, wanted):
        """+controller in cgroup.subtree_control from the cgroup2 root down to our parent.

        Pure v2: every available controller at create, as runc does.  Hybrid: only the one a
        limit needs, when it is applied, so the host's cgroup2 tree is otherwise left alone.
        """
        wanted = set(wanted)
        root = self.unified_root or _cgroup2_root(self.unified)
        rel = os.path.relpath(os.path.dirname(self.unified), root)
        parts = [] if rel == "." else rel.split(os.sep)
        current = root
        for part in [None] + parts:
            if part is not None:
                current = os.path.join(current, part)
                fs.makedirs(current)
            available = set((fs.read(current, "cgroup.controllers") or "").split())
            enabled = set((fs.read(current, "cgroup.subtree_control") or "").split())
            missing = (wanted & available) - enabled
            if missing:
                try:
                    fs.write(current, "cgroup.subtree_control", " ".join("+" + c for c in sorted(missing)))
                except CgroupError:
                    pass  # a busy parent (processes in it): limits on those controllers will name the file

    def add(self, pid):
        for path in self._dirs():
            fs.write(path, "cgroup.procs", str(pid))

    # ----------------------------------------------------------------- apply
    def apply(self, resources):
        # controllers load on demand, each only when its section is there: start-up time counts
        resources = resources or {}
        cpu_res = resources.get("cpu") or {}
        if any(k in cpu_res for k in ("shares", "quota", "period", "burst", "realtimePeriod",
                                      "realtimeRuntime", "idle")):
            from . import cpu
            self._apply("cpu", cpu.v1, cpu.v2, cpu_res)
        if cpu_res.get("cpus") or cpu_res.get("mems"):
            from . import cpuset
            self._apply("cpuset", cpuset.v1, cpuset.v2, cpu_res)
        if resources.get("memory"):
            self._apply_memory(resources["memory"])
        if resources.get("pids"):
            from . import pids
            self._apply("pids", pids.v1, pids.v2, resources["pids"])
        if resources.get("blockIO"):
            self._apply_blkio(resources["blockIO"])
        if resources.get("hugepageLimits"):
            from . import hugetlb
            self._apply("hugetlb", hugetlb.v1, hugetlb.v2, resources["hugepageLimits"])
        if resources.get("network"):
            self._apply_network(resources["network"])
        if resources.get("rdma"):
            self._apply("rdma", _rdma, _rdma, resources["rdma"])
        if "devices" in resources or self._fresh:
            self._apply_devices(resources.get("devices") or ())
        if resources.get("unified"):
            self._apply_unified(resources["unified"])
        self._fresh = False

    def _home_or_fail(self, controller, what):
        home = self.home(controller)
        if home is None:
            raise CgroupError("%s: the %s controller is not available (not mounted in any hierarchy)"
                              % (what, controller))
        return home

    def _apply(self, controller, to_v1, to_v2, section):
        home = self._home_or_fail(controller, "linux.resources")
        if home == V2 and self.mode == HYBRID:
            self._enable_v2_controllers({controller})
        self._write_all((to_v1 if home == V1 else to_v2)(section), home)

    def _apply_memory(self, section):
        from . import memory
        home = self._home_or_fail("memory", "linux.resources.memory")
        if section.get("checkBeforeUpdate") and section.get("limit", 0) > 0:
            usage = (self._read_v1("memory.usage_in_bytes") if home == V1 else self._read_v2("memory.current"))
            if usage and int(usage) > section["limit"]:
                raise CgroupError("memory limit %d: below the current usage %d (checkBeforeUpdate)"
                                  % (section["limit"], int(usage)))
        if home == V2:
            self._write_all(memory.v2(section), V2)
            return
        files = memory.v1(section)
        current = self._read_v1("memory.memsw.limit_in_bytes")
        self._write_all(memory.v1_order(files, int(current) if current else None), V1)

    def _apply_blkio(self, section):
        from . import blkio
        home = self._home_or_fail("blkio", "linux.resources.blockIO")
        if home == V1:
            self._write_all(blkio.v1(section, fs.listing(self.v1["blkio"])), V1)
        else:
            self._write_all(blkio.v2(section, fs.listing(self.unified)), V2)

    def _apply_network(self, section):
        files = []
        if section.get("classID") is not None:
            files.append(("net_cls.classid", str(section["classID"])))
        for prio in section.get("priorities") or ():
            files.append(("net_prio.ifpriomap", "%s %d" % (prio["name"], prio["priority"])))
        for name, _ in files:
            if name.split(".")[0] not in self.v1:
                raise CgroupError("linux.resources.network: %s needs the v1 %s controller, which is not mounted"
                                  % (name, name.split(".")[0]))
        self._write_all(files, V1)

    def _apply_devices(self, rules):
        from . import devices
        effective = devices.effective_rules(rules, self.linux_devices)
        if "devices" in self.v1:
            self._write_all(devices.v1(effective, self._read_v1("devices.list")), V1)
        elif self.unified:
            from . import devices_bpf
            if self.sys is None:
                from ..syscalls import get
                self.sys = get()
            devices_bpf.attach(self.sys, self.unified, effective)
        elif rules:
            raise CgroupError("linux.resources.devices: no devices controller and no cgroup2 to attach a filter")

    def _apply_unified(self, section):
        if not self.unified:
            raise CgroupError("linux.resources.unified: there is no cgroup2 hierarchy on this machine")
        for key, value in section.items():
            if "/" in key or key.startswith("."):
                raise CgroupError("linux.resources.unified: %r is not a cgroup file name" % key)
            controller = key.split(".", 1)[0]
            if self.mode == HYBRID and controller in self.v2_controllers:
                self._enable_v2_controllers({controller})
            fs.write(self.unified, key, str(value))

    # ---------------------------------------------------------------- freeze
    def _freezer(self):
        if "freezer" in self.v1:
            return V1
        if self.unified:
            return V2
        raise CgroupError("freeze: no freezer controller and no cgroup2 hierarchy")

    def freeze(self):
        self._set_frozen(True)

    def thaw(self):
        self._set_frozen(False)

    def _set_frozen(self, frozen):
        from . import freezer
        home = self._freezer()
        name, value = freezer.v1_write(frozen) if home == V1 else freezer.v2_write(frozen)
        target = "frozen" if frozen else "thawed"
        deadline = time.monotonic() + FREEZE_TIMEOUT
        while True:
            # v1 can stop in FREEZING when a task is in an uninterruptible sleep: write again
            fs.write(self.v1["freezer"] if home == V1 else self.unified, name, value)
            if self.state() == target:
                return
            if time.monotonic() > deadline:
                raise CgroupError("%s %s: still %s after %.0fs" % (name, value, self.state(), FREEZE_TIMEOUT))
            time.sleep(0.005)

    def state(self):
        from . import freezer
        if self._freezer() == V1:
            return freezer.v1_state(self._read_v1("freezer.state"))
        return freezer.v2_state(self._read_v2("cgroup.events"))

    # ----------------------------------------------------------------- stats
    def stats(self):
        """Resource usage in the shape of runc's `events --stats` "data" object."""
        from . import blkio, cpu, cpuset, hugetlb, memory, pids
        out = {"cpu": {}, "cpuset": {}, "memory": {}, "pids": {}, "blkio": {}, "hugetlb": {}, "intel_rdt": {},
               "network_interfaces": None}
        readers = {V1: self._read_v1, V2: self._read_v2}
        sizes = hugetlb.page_sizes()
        table = (   # section, controller, v1 reader, v2 reader
            ("cpu", "cpu", cpu.stats_v1, cpu.stats_v2),
            ("cpuset", "cpuset", cpuset.stats, cpuset.stats),
            ("memory", "memory", memory.stats_v1, memory.stats_v2),
            ("pids", "pids", pids.stats, pids.stats),
            ("blkio", "blkio", blkio.stats_v1, blkio.stats_v2),
            ("hugetlb", "hugetlb", lambda r: hugetlb.stats_v1(r, sizes), lambda r: hugetlb.stats_v2(r, sizes)),
        )
        for section, controller, from_v1, from_v2 in table:
            home = self.home(controller)
            if controller == "cpu" and home is None and self.unified:
                home = V2   # cpu.stat exists in every cgroup2 directory, controller enabled or not
            if home:
                out[section] = (from_v1 if home == V1 else from_v2)(readers[home])
        return out

    def oom_kills(self):
        """How many processes the OOM killer has killed in this cgroup."""
        from . import memory
        if self.home("memory") == V1:
            return memory.oom_kills_v1(self._read_v1("memory.oom_control"))
        return memory.oom_kills_v2(self._read_v2("memory.events"))

    def oom_source(self):
        """(path, format) the shim can poll for OOM kills without importing us."""
        if self.home("memory") == V1:
            return os.path.join(self.v1["memory"], "memory.oom_control"), "oom_kill"
        return os.path.join(self.unified, "memory.events"), "oom_kill"

    # ----------------------------------------------------------- processes
    def pids(self):
        """Every process in the container's cgroup and its sub-cgroups."""
        base = self.unified if self.mode == V2 else (
            self.v1.get("pids") or self.v1.get("freezer") or self.v1.get("memory") or
            (sorted(self.v1.values())[0] if self.v1 else self.unified))
        found = []
        for root, _, _ in os.walk(base):
            found.extend(fs.procs(root))
        return found

    def signal_all(self, sig):
        """Send ``sig`` to every process, frozen meanwhile so none can fork away.

        SIGKILL goes through cgroup2's cgroup.kill when the container has a cgroup2
        directory (v2, and hybrid too: it joins the cgroup2 hierarchy): the kernel kills
        every member at once, forks in flight included.
        """
        if sig == 9 and self.unified and os.path.exists(os.path.join(self.unified, "cgroup.kill")):
            try:
                fs.write(self.unified, "cgroup.kill", "1")
                return
            except CgroupError:
                pass   # fall back to freeze + kill
        frozen = False
        try:
            try:
                self.freeze()
                frozen = True
            except CgroupError:
                pass
            for pid in self.pids():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        finally:
            if frozen:
                self.thaw()

    # --------------------------------------------------------------- destroy
    def destroy(self):
        """Remove every directory; safe to repeat (after kill -9 of a previous try)."""
        from . import freezer
        if "freezer" in self.v1 and os.path.isdir(self.v1["freezer"]):
            try:
                fs.write(self.v1["freezer"], *freezer.v1_write(False))
            except CgroupError:
                pass
        errors = []
        for path in self._dirs():
            try:
                fs.remove_tree(path)
            except CgroupError as err:
                errors.append(str(err))
        if errors:
            raise CgroupError("; ".join(errors))


def _rdma(section):
    files = []
    for device, limit in (section or {}).items():
        parts = []
        if limit.get("hcaHandles") is not None:
            parts.append("hca_handle=%d" % limit["hcaHandles"])
        if limit.get("hcaObjects") is not None:
            parts.append("hca_object=%d" % limit["hcaObjects"])
        if parts:
            files.append(("rdma.max", "%s %s" % (device, " ".join(parts))))
    return files


def _init_cpuset(path):
    """Fill empty cpuset.cpus/mems from the parent at each level, top down."""
    levels, current = [], path
    while current != "/" and fs.read(current, "cpuset.cpus") is not None:
        if (fs.read(current, "cpuset.cpus") or "").strip():
            break
        levels.append(current)
        current = os.path.dirname(current)
    for level in reversed(levels):
        parent = os.path.dirname(level)
        for name in ("cpuset.cpus", "cpuset.mems"):
            if not (fs.read(level, name) or "").strip():
                value = (fs.read(parent, name) or "").strip()
                if value:
                    fs.write(level, name, value)


def _cgroup2_root(path):
    """The mountpoint of the cgroup2 hierarchy holding ``path`` (walks up to the fs boundary)."""
    current = path
    while not os.path.isdir(current) and current != "/":
        current = os.path.dirname(current)
    while True:
        parent = os.path.dirname(current)
        if parent == current or fs.read(parent, "cgroup.controllers") is None:
            return current
        current = parent


__all__ = ["Manager", "manager_for", "from_state", "HYBRID", "V1", "V2"]
