"""`gantry-oci events`: cgroup statistics of a container, once (--stats) or every --interval."""
import json
import sys
import time

from . import container


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
    period = _parse_interval(interval)
    while True:
        try:
            record, status = container.load(store, container_id, "events")
        except Exception:
            return 0   # stopped or deleted: the stream ends
        sys.stdout.write(json.dumps(stats_event(record)) + "\n")
        sys.stdout.flush()
        time.sleep(period)
