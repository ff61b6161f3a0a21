"""The kernel's "flat keyed" cgroup files ("key value" per line: cpu.stat, memory.stat,
memory.events, memory.oom_control, cgroup.events, hugetlb.*.events)."""


def parse(text):
    """{key: int} for the lines whose value is an integer; other lines are left out."""
    out = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out
