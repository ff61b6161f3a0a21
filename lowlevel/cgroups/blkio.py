"""blkio (v1) / io (v2) controller: linux.resources.blockIO.

v1 writes blkio.weight and friends.  Kernels without CFQ (all current ones)
have no blkio.weight; BFQ's blkio.bfq.weight / blkio.bfq.weight_device are
used instead when present, as runc does.  When neither exists the error names
the missing file.  There is no BFQ leaf weight, so leafWeight then fails.

v2: io.weight (v1 weight 10..1000 mapped to 1..10000 with runc's formula,
or io.bfq.weight with the weight unchanged when present) and io.max.
``available`` is the set of file names in the cgroup directory (None: don't check).
"""
from .errors import CgroupError

THROTTLES = (("throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps"),
             ("throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps"),
             ("throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops"),
             ("throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops"))


def _pick(available, *names):
    if available is None:
        return names[0]
    for name in names:
        if name in available:
            return name
    raise CgroupError("blkio: %s does not exist on this kernel (no CFQ/BFQ weight support)" % names[0])


def _dev(entry):
    return "%d:%d" % (entry["major"], entry["minor"])


def v1(blkio, available=None):
    blkio = blkio or {}
    files = []
    if blkio.get("weight"):
        files.append((_pick(available, "blkio.weight", "blkio.bfq.weight"), str(blkio["weight"])))
    if blkio.get("leafWeight"):
        files.append((_pick(available, "blkio.leaf_weight"), str(blkio["leafWeight"])))
    for entry in blkio.get("weightDevice") or ():
        if entry.get("weight"):
            name = _pick(available, "blkio.weight_device", "blkio.bfq.weight_device")
            files.append((name, "%s %d" % (_dev(entry), entry["weight"])))
        if entry.get("leafWeight"):
            files.append((_pick(available, "blkio.leaf_weight_device"),
                          "%s %d" % (_dev(entry), entry["leafWeight"])))
    for key, filename, _ in THROTTLES:
        for entry in blkio.get(key) or ():
            files.append((_pick(available, filename), "%s %d" % (_dev(entry), entry["rate"])))
    return files


def weight_to_io(weight):
    """blkio weight [10, 1000] -> io.weight [1, 10000]."""
    return 1 + (weight - 10) * 9999 // 990


def v2(blkio, available=None):
    blkio = blkio or {}
    files = []
    bfq = available is not None and "io.bfq.weight" in available
    if blkio.get("leafWeight") or any(e.get("leafWeight") for e in blkio.get("weightDevice") or ()):
        raise CgroupError("io: leafWeight has no cgroup v2 file")
    if blkio.get("weight"):
        files.append(("io.bfq.weight", str(blkio["weight"])) if bfq
                     else (_pick(available, "io.weight"), "default %d" % weight_to_io(blkio["weight"])))
    for entry in blkio.get("weightDevice") or ():
        if entry.get("weight"):
            files.append(("io.bfq.weight", "%s %d" % (_dev(entry), entry["weight"])) if bfq
                         else (_pick(available, "io.weight"), "%s %d" % (_dev(entry), weight_to_io(entry["weight"]))))
    for key, _, io_key in THROTTLES:
        for entry in blkio.get(key) or ():
            files.append((_pick(available, "io.max"), "%s %s=%d" % (_dev(entry), io_key, entry["rate"])))
    return files


def _entries_v1(text):
    out = []
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 3 and ":" in parts[0]:
            major, minor = parts[0].split(":")
            out.append({"major": int(major), "minor": int(minor), "op": parts[1], "value": int(parts[2])})
        elif len(parts) == 2 and ":" in parts[0]:
            major, minor = parts[0].split(":")
            out.append({"major": int(major), "minor": int(minor), "op": "", "value": int(parts[1])})
    return out


def stats_v1(read):
    # CFQ-era recursive files first, then what throttling and BFQ provide.
    def first(*names):
        for name in names:
            text = read(name)
            if text is not None:
                return _entries_v1(text)
        return []
    out = {"ioServiceBytesRecursive": first("blkio.io_service_bytes_recursive",
                                            "blkio.bfq.io_service_bytes_recursive",
                                            "blkio.throttle.io_service_bytes_recursive"),
           "ioServicedRecursive": first("blkio.io_serviced_recursive", "blkio.bfq.io_serviced_recursive",
                                        "blkio.throttle.io_serviced_recursive")}
    return {k: v for k, v in out.items() if v}   # runc leaves empty lists out


def stats_v2(read):
    names = {"rbytes": ("ioServiceBytesRecursive", "Read"), "wbytes": ("ioServiceBytesRecursive", "Write"),
             "rios": ("ioServicedRecursive", "Read"), "wios": ("ioServicedRecursive", "Write")}
    out = {"ioServiceBytesRecursive": [], "ioServicedRecursive": []}
    for line in (read("io.stat") or "").splitlines():
        parts = line.split()
        if not parts or ":" not in parts[0]:
            continue
        major, minor = (int(x) for x in parts[0].split(":"))
        for kv in parts[1:]:
            key, _, value = kv.partition("=")
            if key in names:
                field, op = names[key]
                out[field].append({"major": major, "minor": minor, "op": op, "value": int(value)})
    return {k: v for k, v in out.items() if v}
