"""cpuset controller: linux.resources.cpu.cpus / mems.

A new v1 cpuset cgroup starts with empty cpus and mems and refuses tasks
until they are filled; the v1 adapter copies them from the parent on create.
"""


def v1(cpu):
    cpu = cpu or {}
    files = []
    if cpu.get("cpus"):
        files.append(("cpuset.cpus", cpu["cpus"]))
    if cpu.get("mems"):
        files.append(("cpuset.mems", cpu["mems"]))
    return files


def v2(cpu):
    return v1(cpu)


def parse_list(text):
    """"0-2,4" -> [0, 1, 2, 4] (the kernel's cpu/node list format)."""
    out = []
    for part in (text or "").strip().split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        out.extend(range(int(low), int(high or low) + 1))
    return out


_FLAGS = ("cpu_exclusive", "mem_hardwall", "mem_exclusive", "memory_migrate", "memory_spread_page",
          "memory_spread_slab", "memory_pressure", "sched_load_balance", "sched_relax_domain_level")


def stats(read):
    """runc's cpuset stats: effective cpus and mems as lists, plus the v1 flag files that exist."""
    out = {"cpus": parse_list(read("cpuset.effective_cpus") or read("cpuset.cpus")),
           "mems": parse_list(read("cpuset.effective_mems") or read("cpuset.mems"))}
    for name in _FLAGS:
        value = read("cpuset." + name)
        if value is not None and value.strip().lstrip("-").isdigit():
            out[name] = int(value)
    return out
