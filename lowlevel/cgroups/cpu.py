"""cpu controller: linux.resources.cpu shares/quota/period/burst/realtime/idle.

cpuset (cpus, mems) lives in cpuset.py.  v2 converts shares to cpu.weight
with runc's formula, so the same config gives the same weight under both.
"""
from . import keyed
from .errors import CgroupError

DEFAULT_PERIOD = 100000


def shares_to_weight(shares):
    """cgroup v1 shares [2, 262144] -> v2 weight [1, 10000]; 0 stays 'unset'."""
    if not shares:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def v1(cpu):
    cpu = cpu or {}
    files = []
    if cpu.get("shares"):
        files.append(("cpu.shares", str(cpu["shares"])))
    # period first: a quota larger than the old period's budget is refused otherwise
    if cpu.get("period"):
        files.append(("cpu.cfs_period_us", str(cpu["period"])))
    if cpu.get("quota"):
        files.append(("cpu.cfs_quota_us", str(cpu["quota"])))
    if cpu.get("burst") is not None:
        files.append(("cpu.cfs_burst_us", str(cpu["burst"])))
    if cpu.get("realtimePeriod"):
        files.append(("cpu.rt_period_us", str(cpu["realtimePeriod"])))
    if cpu.get("realtimeRuntime"):
        files.append(("cpu.rt_runtime_us", str(cpu["realtimeRuntime"])))
    if cpu.get("idle") is not None:
        files.append(("cpu.idle", str(cpu["idle"])))
    return files


def v2(cpu):
    cpu = cpu or {}
    if cpu.get("realtimePeriod") or cpu.get("realtimeRuntime"):
        raise CgroupError("cpu realtimePeriod/realtimeRuntime: not supported on cgroup v2 (no cpu.rt_* files)")
    files = []
    if cpu.get("idle") is not None:
        files.append(("cpu.idle", str(cpu["idle"])))
    if cpu.get("shares"):
        files.append(("cpu.weight", str(shares_to_weight(cpu["shares"]))))
    quota, period = cpu.get("quota") or 0, cpu.get("period") or 0
    if quota or period:
        files.append(("cpu.max", "%s %d" % (quota if quota > 0 else "max", period or DEFAULT_PERIOD)))
    if cpu.get("burst") is not None:
        files.append(("cpu.max.burst", str(cpu["burst"])))
    return files


def _ints(text):
    return [int(x) for x in (text or "").split()]


def stats_v1(read):
    """runc's cpu stats from cpuacct.* and cpu.stat (nanoseconds, like runc)."""
    usage = {"total": int(read("cpuacct.usage") or 0),
             "percpu": _ints(read("cpuacct.usage_percpu")),
             "percpu_kernel": _ints(read("cpuacct.usage_percpu_sys")),
             "percpu_user": _ints(read("cpuacct.usage_percpu_user")),
             "kernel": int(read("cpuacct.usage_sys") or 0),
             "user": int(read("cpuacct.usage_user") or 0)}
    st = keyed.parse(read("cpu.stat"))
    throttling = {"periods": st.get("nr_periods", 0), "throttledPeriods": st.get("nr_throttled", 0),
                  "throttledTime": st.get("throttled_time", 0)}
    return {"usage": usage, "throttling": throttling}


def stats_v2(read):
    st = keyed.parse(read("cpu.stat"))
    usage = {"total": st.get("usage_usec", 0) * 1000, "kernel": st.get("system_usec", 0) * 1000,
             "user": st.get("user_usec", 0) * 1000}
    throttling = {"periods": st.get("nr_periods", 0), "throttledPeriods": st.get("nr_throttled", 0),
                  "throttledTime": st.get("throttled_usec", 0) * 1000}
    return {"usage": usage, "throttling": throttling}
