"""Container and pod statistics from the shims (cgroups) and the snapshots (writable layer).

    container_stats(ctx, ctr) -> ContainerStats        (None fields: not measurable now)
    pod_network(pod, containers) -> {iface: (rx_bytes, rx_errors, tx_bytes, tx_errors)}
    net_dev_counters(text) -> {iface: {"rx_bytes": n, ...}}   (pure; the CRI metrics use all eight)

CPU, memory and pids come from the shim's Stats (the container's cgroup, v1,
v2 or hybrid); the writable layer is the size of the snapshot's upper dir.  A
pod's network counters are read from /proc/<pid>/net/dev of a process inside
the pod's network namespace (its pause process or a running container's init),
so no thread has to enter the namespace.
"""
import time
from dataclasses import dataclass

from .. import errors


@dataclass
class ContainerStats:
    timestamp_ns: int
    cpu_usage_ns: int | None = None
    memory_working_set: int | None = None
    memory_usage: int | None = None
    memory_rss: int | None = None
    pids: int | None = None
    writable_bytes: int = 0
    writable_inodes: int = 0
    oom_kills: int | None = None


def container_stats(ctx, ctr):
    stats = ContainerStats(timestamp_ns=time.time_ns())
    if ctr.state == "running":
        try:
            s = ctx.shims.client(ctr.shim_address, timeout=5).stats()
            stats.timestamp_ns = s.timestamp_ns or stats.timestamp_ns
            stats.cpu_usage_ns = s.cpu_usage_ns
            stats.memory_usage = s.memory_usage_bytes
            stats.memory_working_set = s.memory_working_set_bytes
            stats.pids = s.pids_current
            stats.oom_kills = s.oom_kills
        except errors.GantryError:
            pass        # exited a moment ago: report what is left (the writable layer)
    if ctr.snapshot_key and ctx.image_store.snapshots.exists(ctr.snapshot_key):
        try:
            stats.writable_bytes, stats.writable_inodes = ctx.image_store.snapshots.usage(ctr.snapshot_key)
        except (OSError, errors.GantryError):
            pass
    return stats


NET_DEV_FIELDS = {"rx_bytes": 0, "rx_packets": 1, "rx_errors": 2, "rx_dropped": 3,
                  "tx_bytes": 8, "tx_packets": 9, "tx_errors": 10, "tx_dropped": 11}


def net_dev_counters(text):
    """/proc/net/dev -> {iface: {"rx_bytes": n, "rx_packets": n, ... "tx_dropped": n}} (pure)."""
    out = {}
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        if not sep:
            continue
        fields = rest.split()
        if len(fields) < 12:
            continue
        out[name.strip()] = {key: int(fields[i]) for key, i in NET_DEV_FIELDS.items()}
    return out


def parse_net_dev(text):
    """/proc/net/dev -> {iface: (rx_bytes, rx_errors, tx_bytes, tx_errors)} (pure)."""
    return {name: (c["rx_bytes"], c["rx_errors"], c["tx_bytes"], c["tx_errors"])
            for name, c in net_dev_counters(text).items()}


def pod_network(pid):
    """Counters of the network namespace ``pid`` is in ({} when it is gone)."""
    if not pid:
        return {}
    try:
        with open("/proc/%d/net/dev" % pid) as f:
            return {k: v for k, v in parse_net_dev(f.read()).items() if k != "lo"}
    except OSError:
        return {}
