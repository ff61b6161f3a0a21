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


def stats(read):
    return {"cpus": (read("cpuset.effective_cpus") or "").strip(), "mems": (read("cpuset.effective_mems") or "").strip()}
