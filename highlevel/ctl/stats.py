"""stats: container resource usage, refreshed every --interval like ``docker stats``.

CPU % comes from two samples of ``usage_core_nano_seconds`` (100 % = one core busy);
the first screen uses the runtime's own ``usage_nano_cores`` when it gives one.
"""
import time

from gantry.api import cri_pb2

from . import resolve
from .output import emit, human_size, message_dict, short_id

CLEAR = "\x1b[H\x1b[2J"


def _value(wrapper_holder, field):
    return getattr(wrapper_holder, field).value if wrapper_holder.HasField(field) else None


def cpu_percent(prev, cur):
    """CPU % between two CpuUsage samples (None when it cannot be told)."""
    if prev is not None:
        a, b = _value(prev, "usage_core_nano_seconds"), _value(cur, "usage_core_nano_seconds")
        dt = cur.timestamp - prev.timestamp
        if a is not None and b is not None and dt > 0:
            return max(0.0, (b - a) * 100.0 / dt)
    nano_cores = _value(cur, "usage_nano_cores")
    return nano_cores / 1e7 if nano_cores is not None else None


def stats_rows(stats, names, previous):
    rows = [("CONTAINER", "NAME", "CPU %", "MEM", "DISK", "INODES")]
    for s in stats:
        cid = s.attributes.id
        cpu = cpu_percent(previous.get(cid), s.cpu) if s.HasField("cpu") else None
        mem = _value(s.memory, "working_set_bytes") if s.HasField("memory") else None
        disk = _value(s.writable_layer, "used_bytes") if s.HasField("writable_layer") else None
        inodes = _value(s.writable_layer, "inodes_used") if s.HasField("writable_layer") else None
        rows.append((short_id(cid), names.get(cid, s.attributes.metadata.name),
                     "-" if cpu is None else "%.2f" % cpu, "-" if mem is None else human_size(mem),
                     "-" if disk is None else human_size(disk), "-" if inodes is None else str(inodes)))
    return rows


def sample(client, args, ids):
    req = cri_pb2.ListContainerStatsRequest()
    if args.pod:
        req.filter.pod_sandbox_id = resolve.pod_id(client, args.pod)
    stats = client.call("stats", client.runtime.ListContainerStats, req).stats
    if ids:
        stats = [s for s in stats if s.attributes.id in ids]
    return sorted(stats, key=lambda s: s.attributes.metadata.name)


def cmd_stats(client, args, out):
    ctrs = resolve.containers(client)
    running = {c.id for c in ctrs if c.state == cri_pb2.CONTAINER_RUNNING}
    names = {c.id: c.metadata.name for c in ctrs}
    ids = {resolve.container_id(client, ref) for ref in args.containers} or (None if args.all else running)
    stats = sample(client, args, ids)
    if args.output != "table":
        return emit(out, args.output, {"stats": [message_dict(s) for s in stats]})
    live = not args.no_stream
    tty = out.isatty()
    previous = {}
    # a CPU figure needs two samples (unless the runtime gives usage_nano_cores)
    previous = {s.attributes.id: s.cpu for s in stats}
    time.sleep(min(args.interval, 0.5))
    stats = sample(client, args, ids)
    while True:
        from .output import table

        text = table(stats_rows(stats, names, previous)) + "\n"
        out.write((CLEAR if tty else "") + text + ("" if tty or not live else "\n"))
        out.flush()
        if not live:
            return
        previous = {s.attributes.id: s.cpu for s in stats}
        time.sleep(args.interval)
        stats = sample(client, args, ids)


