"""memory controller: linux.resources.memory.

OCI ``swap`` is memory+swap (v1's memory.memsw.limit_in_bytes).  v2 has a
separate swap limit, so it gets swap - limit, with runc's rules for -1 and 0.
``kernel`` and ``kernelTCP`` are deprecated in the runtime spec; v1 still
writes them (the files exist here), v2 has no such files and skips them.
On v1, ``swap`` and ``limit`` must be written in an order that keeps
memsw >= limit at every moment: ``v1_order`` says which comes first.

OOM: v1 memory.oom_control (under_oom, oom_kill), v2 memory.events (oom_kill).
"""
from . import keyed
from .errors import CgroupError


def _limit(value):
    return "max" if value == -1 else str(value)


def v1(memory):
    memory = memory or {}
    files = []
    if memory.get("limit"):
        files.append(("memory.limit_in_bytes", str(memory["limit"])))
    if memory.get("swap"):
        files.append(("memory.memsw.limit_in_bytes", str(memory["swap"])))
    elif memory.get("limit") == -1:
        files.append(("memory.memsw.limit_in_bytes", "-1"))   # unlimited memory means unlimited swap (runc)
    if memory.get("reservation"):
        files.append(("memory.soft_limit_in_bytes", str(memory["reservation"])))
    if memory.get("kernel"):
        files.append(("memory.kmem.limit_in_bytes", str(memory["kernel"])))
    if memory.get("kernelTCP"):
        files.append(("memory.kmem.tcp.limit_in_bytes", str(memory["kernelTCP"])))
    if memory.get("swappiness") is not None:
        swappiness = memory["swappiness"]
        if not 0 <= swappiness <= 100:
            raise CgroupError("memory.swappiness: %d is outside 0..100" % swappiness)
        files.append(("memory.swappiness", str(swappiness)))
    if memory.get("disableOOMKiller"):
        files.append(("memory.oom_control", "1"))
    if memory.get("useHierarchy") is not None:
        files.append(("memory.use_hierarchy", "1" if memory["useHierarchy"] else "0"))
    return files


def v1_order(files, current_memsw):
    """Put memsw before limit when the new limit would exceed the current memsw."""
    names = [name for name, _ in files]
    if "memory.limit_in_bytes" not in names or "memory.memsw.limit_in_bytes" not in names:
        return files
    limit = int(dict(files)["memory.limit_in_bytes"])
    if limit == -1 or (current_memsw is not None and limit > current_memsw):
        memsw = [f for f in files if f[0] == "memory.memsw.limit_in_bytes"]
        return memsw + [f for f in files if f[0] != "memory.memsw.limit_in_bytes"]
    return files


def swap_v2(swap, limit):
    """OCI memory+swap -> v2 memory.swap.max, or None to leave it alone."""
    if limit == -1 and not swap:
        return "max"   # "memory unlimited" alone means swap too, as on v1 (runc's rule)
    if not swap and not limit:
        return None
    if swap == -1:
        return "max"
    if not swap:
        return None
    if limit == -1:
        raise CgroupError("memory.swap.max: swap %d with unlimited memory is meaningless; use -1" % swap)
    if not limit:
        raise CgroupError("memory.swap.max: a swap limit needs a memory limit")
    if swap < limit:
        raise CgroupError("memory.swap.max: memory+swap %d is below the memory limit %d" % (swap, limit))
    return str(swap - limit)


def v2(memory):
    memory = memory or {}
    files = []
    swap = swap_v2(memory.get("swap") or 0, memory.get("limit") or 0)
    if swap is not None:
        files.append(("memory.swap.max", swap))
    if memory.get("limit"):
        files.append(("memory.max", _limit(memory["limit"])))
    if memory.get("reservation"):
        files.append(("memory.low", _limit(memory["reservation"])))
    if memory.get("swappiness") is not None:
        raise CgroupError("memory.swappiness: cgroup v2 has no per-cgroup swappiness file")
    if memory.get("disableOOMKiller"):
        raise CgroupError("memory.oom_control: disableOOMKiller is not available on cgroup v2")
    return files


def _num(text):
    text = (text or "").strip()
    if not text or text == "max":
        return 2 ** 64 - 1 if text == "max" else 0
    return int(text)


def _entry_v1(read, prefix):
    return {"limit": _num(read(prefix + "limit_in_bytes")), "usage": _num(read(prefix + "usage_in_bytes")),
            "max": _num(read(prefix + "max_usage_in_bytes")), "failcnt": _num(read(prefix + "failcnt"))}


def stats_v1(read):
    raw = keyed.parse(read("memory.stat"))
    return {"cache": raw.get("total_cache", raw.get("cache", 0)),
            "usage": _entry_v1(read, "memory."),
            "swap": _entry_v1(read, "memory.memsw."),
            "kernel": _entry_v1(read, "memory.kmem."),
            "kernelTCP": _entry_v1(read, "memory.kmem.tcp."),
            "raw": raw}


def stats_v2(read):
    raw = keyed.parse(read("memory.stat"))
    events = keyed.parse(read("memory.events"))
    usage = {"limit": _num(read("memory.max")), "usage": _num(read("memory.current")),
             "max": _num(read("memory.peak")), "failcnt": events.get("max", 0)}
    swap = {"limit": _num(read("memory.swap.max")), "usage": _num(read("memory.swap.current")),
            "max": _num(read("memory.swap.peak")), "failcnt": events.get("swap_max", 0)}
    return {"cache": raw.get("file", 0), "usage": usage, "swap": swap,
            "kernel": {"limit": 0, "usage": raw.get("kernel", 0), "failcnt": 0}, "raw": raw}


def oom_kills_v1(oom_control_text):
    """oom_kill count from memory.oom_control (0 when the kernel does not report it)."""
    return keyed.parse(oom_control_text).get("oom_kill", 0)


def under_oom_v1(oom_control_text):
    return keyed.parse(oom_control_text).get("under_oom", 0) == 1


def oom_kills_v2(events_text):
    """oom_kill count from memory.events."""
    return keyed.parse(events_text).get("oom_kill", 0)
