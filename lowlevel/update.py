"""`gantry-oci update`: new resource limits for a live container (--resources FILE|- or flags)."""
import json
import sys

from . import container

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30,
          "t": 1 << 40, "tb": 1 << 40}

# flag key -> (section, field, parser)
FLAGS = {
    "cpu_shares": ("cpu", "shares", int), "cpu_period": ("cpu", "period", int), "cpu_quota": ("cpu", "quota", int),
    "cpu_rt_period": ("cpu", "realtimePeriod", int), "cpu_rt_runtime": ("cpu", "realtimeRuntime", int),
    "cpuset_cpus": ("cpu", "cpus", str), "cpuset_mems": ("cpu", "mems", str),
    "memory": ("memory", "limit", "bytes"), "memory_reservation": ("memory", "reservation", "bytes"),
    "memory_swap": ("memory", "swap", "bytes"), "kernel_memory": ("memory", "kernel", "bytes"),
    "kernel_memory_tcp": ("memory", "kernelTCP", "bytes"), "pids_limit": ("pids", "limit", int),
    "blkio_weight": ("blockIO", "weight", int),
}


def parse_bytes(text):
    t = text.strip().lower()
    if t == "-1":
        return -1
    num = t.rstrip("bkmgt")
    unit = t[len(num):]
    if unit not in _UNITS:
        raise ValueError("bad size %r" % text)
    return int(float(num) * _UNITS[unit])


def resources_from(opts):
    if opts.get("resources"):
        src = opts["resources"]
        try:
            data = sys.stdin.read() if src == "-" else open(src).read()
            res = json.loads(data)
        except (OSError, ValueError) as e:
            raise ValueError("--resources %s: %s" % (src, e)) from None
        if not isinstance(res, dict):
            raise ValueError("--resources %s: not a JSON object" % src)
        return res
    res = {}
    for key, (section, field, kind) in FLAGS.items():
        if opts.get(key) is None:
            continue
        value = parse_bytes(opts[key]) if kind == "bytes" else kind(opts[key])
        res.setdefault(section, {})[field] = value
    for key in ("l3_cache_schema", "mem_bw_schema"):
        if opts.get(key):
            raise ValueError("--%s: Intel RDT is not supported" % key.replace("_", "-"))
    return res


def run(store, container_id, opts):
    record, _ = container.load(store, container_id, "update")
    res = resources_from(opts)
    manager = container.manager_from(record)
    if manager is None:
        raise container.RuntimeFailure("update %s: the container has no cgroups" % container_id)
    manager.apply(res)
    linux = record.setdefault("config", {}).setdefault("linux", {})
    current = linux.setdefault("resources", {})
    for section, values in res.items():
        if isinstance(values, dict) and isinstance(current.get(section), dict):
            current[section].update(values)
        else:
            current[section] = values
    store.write(record)
