"""`gantry-oci events`: cgroup statistics of a container, once (--stats) or every --interval.

The stream (no --stats) also reports OOM kills as runc does, one ``{"type": "oom", "id": ...}`` line per
kill, found by polling the cgroup's OOM counter (v1 memory.oom_control, v2 memory.events) every
OOM_POLL seconds between the stats lines; it ends when the container stops or is deleted.
"""
import json
import sys
import time

from . import container

OOM_POLL = 0.1


def _parse_interval(text):
    if text is None:
        return 5.0
    t = text.strip()
    for suffix, mult in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if t.endswith(suffix):
            return float(t[: -len(suffix)]) * mult
    return float(t)


def stats_event(record):
    manager = container.manager_from(record)
    if manager is None:
        raise container.RuntimeFailure("events %s: the container has no cgroups" % record["id"])
    return {"type": "stats", "id": record["id"], "data": manager.stats()}


def run(store, container_id, once, interval):
    record, _ = container.load(store, container_id, "events")
    if once:
        sys.stdout.write(json.dumps(stats_event(record)) + "\n")
        return 0
    import gc
    gc.enable()   # off for the start-up (cli.main); the stream lasts as long as the container
    period = _parse_interval(interval)
    manager = container.manager_from(record)
    seen = _oom_kills(manager)
    while True:
        try:
            record, status = container.load(store, container_id, "events")
        except Exception:
            status = "deleted"
        if status in ("stopped", "deleted"):
            _report_ooms(container_id, seen, _oom_kills(manager))   # an OOM kill may have ended it
            return 0
        sys.stdout.write(json.dumps(stats_event(record)) + "\n")
        sys.stdout.flush()
        deadline = time.monotonic() + period
        while True:
            seen = _report_ooms(container_id, seen, _oom_kills(manager))
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(OOM_POLL, left))


def _report_ooms(container_id, seen, now):
    """Write one oom event per kill counted since ``seen``; returns the new count to compare with."""
    if seen is not None and now is not None and now > seen:
        line = json.dumps({"type": "oom", "id": container_id}) + "\n"
        sys.stdout.write(line * (now - seen))
        sys.stdout.flush()
    return now if now is not None else seen


def _oom_kills(manager):
    """The cgroup's OOM kill count, or None when it cannot be read (no memory controller, cgroup gone)."""
    try:
        return manager.oom_kills() if manager is not None else None
    except (OSError, ValueError, KeyError):
        return None
