"""hugetlb controller: linux.resources.hugepageLimits [{pageSize: "2MB", limit}].

v1 hugetlb.<size>.limit_in_bytes, v2 hugetlb.<size>.max.  Page sizes are
named like the kernel's files ("2MB", "1GB"); ``page_sizes`` lists them
from /sys/kernel/mm/hugepages (hugepages-2048kB -> 2MB).
"""
import os

from . import keyed
from .errors import CgroupError


def _check(limits):
    for entry in limits or ():
        size = entry.get("pageSize", "")
        if not (isinstance(size, str) and size[-2:] in ("KB", "MB", "GB") and size[:-2].isdigit()):
            raise CgroupError("hugepageLimits: page size %r is not like 2MB or 1GB" % size)


def v1(limits):
    _check(limits)
    return [("hugetlb.%s.limit_in_bytes" % e["pageSize"], str(e.get("limit", 0))) for e in limits or ()]


def v2(limits):
    _check(limits)
    return [("hugetlb.%s.max" % e["pageSize"], str(e.get("limit", 0))) for e in limits or ()]


def size_name(kb):
    for unit, div in (("GB", 1 << 20), ("MB", 1 << 10)):
        if kb % div == 0:
            return "%d%s" % (kb // div, unit)
    return "%dKB" % kb


def page_sizes(root="/sys/kernel/mm/hugepages"):
    try:
        names = os.listdir(root)
    except OSError:
        return []
    return sorted(size_name(int(n[len("hugepages-"):-2])) for n in names
                  if n.startswith("hugepages-") and n.endswith("kB"))


def stats_v1(read, sizes):
    out = {}
    for size in sizes:
        usage = read("hugetlb.%s.usage_in_bytes" % size)
        if usage is None:
            continue
        out[size] = {"usage": int(usage), "max": int(read("hugetlb.%s.max_usage_in_bytes" % size) or 0),
                     "failcnt": int(read("hugetlb.%s.failcnt" % size) or 0)}
    return out


def stats_v2(read, sizes):
    out = {}
    for size in sizes:
        usage = read("hugetlb.%s.current" % size)
        if usage is None:
            continue
        failcnt = keyed.parse(read("hugetlb.%s.events" % size)).get("max", 0)
        out[size] = {"usage": int(usage), "max": 0, "failcnt": failcnt}
    return out
