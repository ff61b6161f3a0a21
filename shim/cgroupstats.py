"""What a container's cgroup files say, as one flat dict (pure: texts in, numbers out).

    stats_v1(files) / stats_v2(files) -> {StatsResponse field: value}

``files`` is any object with ``read(controller, name) -> str | None`` (None:
no such file) and ``names(controller) -> [file names]``; shim/cgroup.py gives
one over the real directories, the unit tests one over a dict.  Controllers
are named as in /proc/PID/cgroup ("cpu", "cpuacct", "memory", "pids",
"blkio", "hugetlb") plus "unified" for the cgroup2 directory, which on a
hybrid host still carries the pressure files.

Conventions of the result: a limit that is not set ("max", v1's page-rounded
LONG_MAX, a quota of -1) is 0; a file that is missing counts as 0 (an older
kernel, a controller not mounted); times are nanoseconds unless the key says
``_us``.  ``block_devices``, ``hugetlb`` are lists of dicts and the pressure
keys dicts, shaped like their proto messages.
"""
UNLIMITED_V1 = 1 << 62  # v1 reports "no limit" as a page-rounded LONG_MAX
USER_HZ = 100           # unit of cpuacct.stat (fixed by the kernel ABI)


# -- parsers of single files ---------------------------------------------------------------------
def parse_int(text):
    """A one-number file; "max" and v1's LONG_MAX (no limit), -1, garbage and None are 0."""
    if text is None:
        return 0
    text = text.strip()
    try:
        value = int(text)
    except ValueError:
        return 0
    return 0 if value < 0 or value >= UNLIMITED_V1 else value


def parse_keyed(text):
    """"key value" lines (memory.stat, cpu.stat, memory.events) -> {key: int}."""
    out = {}
    for line in (text or "").splitlines():
        key, _, value = line.partition(" ")
        try:
            out[key] = int(value)
        except ValueError:
            pass
    return out


def parse_blkio_v1(text):
    """v1 blkio files ("8:0 Read 4096" lines) -> {(major, minor): {"read": n, ...}}."""
    out = {}
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) != 3 or ":" not in fields[0]:
            continue        # the closing "Total N" line
        major, _, minor = fields[0].partition(":")
        try:
            out.setdefault((int(major), int(minor)), {})[fields[1].lower()] = int(fields[2])
        except ValueError:
            continue
    return out


def parse_io_stat(text):
    """v2 io.stat ("8:0 rbytes=1 wbytes=2 rios=3 ...") -> {(major, minor): {"rbytes": 1, ...}}."""
    out = {}
    for line in (text or "").splitlines():
        fields = line.split()
        if not fields or ":" not in fields[0]:
            continue
        major, _, minor = fields[0].partition(":")
        try:
            dev = out.setdefault((int(major), int(minor)), {})
        except ValueError:
            continue
        for kv in fields[1:]:
            key, _, value = kv.partition("=")
            try:
                dev[key] = int(value)
            except ValueError:
                pass
    return out


def parse_psi(text):
    """A *.pressure file -> {"some_total_us": n, "full_total_us": n}, or None without the file."""
    if text is None:
        return None
    out = {"some_total_us": 0, "full_total_us": 0}
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0] not in ("some", "full"):
            continue
        for kv in fields[1:]:
            key, _, value = kv.partition("=")
            if key == "total" and value.isdigit():
                out[fields[0] + "_total_us"] = int(value)
    return out


def parse_cpu_max(text):
    """v2 cpu.max ("max 100000" / "20000 100000") -> (quota_us or 0, period_us)."""
    fields = (text or "").split()
    quota = int(fields[0]) if fields and fields[0].isdigit() else 0
    period = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
    return quota, period


def weight_to_shares(weight):
    """v2 cpu.weight (1..10000) back to v1 shares (2..262144), the inverse of the usual mapping."""
    if weight <= 0:
        return 0
    return 2 + (weight - 1) * 262142 // 9999


def hugepage_sizes(names, suffix):
    """Page sizes of the hugetlb.<size>.<suffix> files among ``names``, sorted."""
    sizes = set()
    for name in names:
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == "hugetlb" and parts[2] == suffix:
            sizes.add(parts[1])
    return sorted(sizes)


# -- v1 -------------------------------------------------------------------------------------------
BLKIO_V1_BYTES = ("blkio.io_service_bytes_recursive", "blkio.bfq.io_service_bytes_recursive",
                  "blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_service_bytes")
BLKIO_V1_OPS = ("blkio.io_serviced_recursive", "blkio.bfq.io_serviced_recursive",
                "blkio.throttle.io_serviced_recursive", "blkio.throttle.io_serviced")


def _first_blkio(files, candidates):
    """The first blkio file with per-device lines (CFQ/BFQ files exist but stay empty otherwise)."""
    for name in candidates:
        parsed = parse_blkio_v1(files.read("blkio", name))
        if parsed:
            return parsed
    return {}


def block_devices_v1(files):
    nbytes, ops = _first_blkio(files, BLKIO_V1_BYTES), _first_blkio(files, BLKIO_V1_OPS)
    out = []
    for dev in sorted(set(nbytes) | set(ops)):
        b, o = nbytes.get(dev, {}), ops.get(dev, {})
        out.append({"major": dev[0], "minor": dev[1], "read_bytes": b.get("read", 0),
                    "write_bytes": b.get("write", 0), "discard_bytes": b.get("discard", 0),
                    "read_ops": o.get("read", 0), "write_ops": o.get("write", 0), "discard_ops": o.get("discard", 0)})
    return out


def hugetlb_v1(files):
    out = []
    for size in hugepage_sizes(files.names("hugetlb"), "usage_in_bytes"):
        def one(what, size=size):
            return parse_int(files.read("hugetlb", "hugetlb.%s.%s" % (size, what)))
        out.append({"page_size": size, "usage_bytes": one("usage_in_bytes"),
                    "max_usage_bytes": one("max_usage_in_bytes"), "failcnt": one("failcnt")})
    return out


def _cpu_user_system_v1(files):
    user, system = files.read("cpuacct", "cpuacct.usage_user"), files.read("cpuacct", "cpuacct.usage_sys")
    if user is not None and system is not None:
        return parse_int(user), parse_int(system)
    ticks = parse_keyed(files.read("cpuacct", "cpuacct.stat"))
    scale = 1_000_000_000 // USER_HZ
    return ticks.get("user", 0) * scale, ticks.get("system", 0) * scale


def stats_v1(files):
    def mem(name):
        return parse_int(files.read("memory", name))

    memstat = parse_keyed(files.read("memory", "memory.stat"))
    cpustat = parse_keyed(files.read("cpu", "cpu.stat"))
    usage = mem("memory.usage_in_bytes")
    user, system = _cpu_user_system_v1(files)
    s = {
        "cpu_usage_ns": parse_int(files.read("cpuacct", "cpuacct.usage")),
        "cpu_user_ns": user, "cpu_system_ns": system,
        "cpu_periods": cpustat.get("nr_periods", 0), "cpu_throttled_periods": cpustat.get("nr_throttled", 0),
        "cpu_throttled_ns": cpustat.get("throttled_time", 0),
        "cpu_shares": parse_int(files.read("cpu", "cpu.shares")),
        "cpu_period_us": parse_int(files.read("cpu", "cpu.cfs_period_us")),
        "cpu_quota_us": parse_int(files.read("cpu", "cpu.cfs_quota_us")),
        "memory_usage_bytes": usage,
        "memory_limit_bytes": mem("memory.limit_in_bytes"),
        "memory_working_set_bytes": max(0, usage - memstat.get("total_inactive_file", 0)),
        "memory_cache_bytes": memstat.get("total_cache", 0),
        "memory_rss_bytes": memstat.get("total_rss", 0),
        "memory_mapped_file_bytes": memstat.get("total_mapped_file", 0),
        "memory_swap_bytes": memstat.get("total_swap", 0),
        "memory_failcnt": mem("memory.failcnt"),
        "memory_max_usage_bytes": mem("memory.max_usage_in_bytes"),
        "memory_kernel_bytes": mem("memory.kmem.usage_in_bytes"),
        "memory_pgfault": memstat.get("pgfault", 0), "memory_pgmajfault": memstat.get("pgmajfault", 0),
        "memory_hierarchy_pgfault": memstat.get("total_pgfault", 0),
        "memory_hierarchy_pgmajfault": memstat.get("total_pgmajfault", 0),
        "memory_reservation_bytes": mem("memory.soft_limit_in_bytes"),
        "memory_swap_limit_bytes": mem("memory.memsw.limit_in_bytes"),
        "pids_current": parse_int(files.read("pids", "pids.current")),
        "pids_limit": parse_int(files.read("pids", "pids.max")),
        "oom_kills": parse_keyed(files.read("memory", "memory.oom_control")).get("oom_kill", 0),
        "block_devices": block_devices_v1(files),
        "hugetlb": hugetlb_v1(files),
    }
    s.update(pressure(files))
    return s


# -- v2 -------------------------------------------------------------------------------------------
def block_devices_v2(files):
    out = []
    for (major, minor), d in sorted(parse_io_stat(files.read("unified", "io.stat")).items()):
        out.append({"major": major, "minor": minor, "read_bytes": d.get("rbytes", 0),
                    "write_bytes": d.get("wbytes", 0), "discard_bytes": d.get("dbytes", 0),
                    "read_ops": d.get("rios", 0), "write_ops": d.get("wios", 0), "discard_ops": d.get("dios", 0)})
    return out


def hugetlb_v2(files):
    out = []
    for size in hugepage_sizes(files.names("unified"), "current"):
        base = "hugetlb.%s." % size
        out.append({"page_size": size, "usage_bytes": parse_int(files.read("unified", base + "current")),
                    "max_usage_bytes": 0,
                    "failcnt": parse_keyed(files.read("unified", base + "events")).get("max", 0)})
    return out


def stats_v2(files):
    def one(name):
        return parse_int(files.read("unified", name))

    def keyed(name):
        return parse_keyed(files.read("unified", name))

    memstat, cpustat, events = keyed("memory.stat"), keyed("cpu.stat"), keyed("memory.events")
    usage = one("memory.current")
    quota, period = parse_cpu_max(files.read("unified", "cpu.max"))
    kernel = memstat.get("kernel", memstat.get("kernel_stack", 0) + memstat.get("slab", 0))
    s = {
        "cpu_usage_ns": cpustat.get("usage_usec", 0) * 1000,
        "cpu_user_ns": cpustat.get("user_usec", 0) * 1000, "cpu_system_ns": cpustat.get("system_usec", 0) * 1000,
        "cpu_periods": cpustat.get("nr_periods", 0), "cpu_throttled_periods": cpustat.get("nr_throttled", 0),
        "cpu_throttled_ns": cpustat.get("throttled_usec", 0) * 1000,
        "cpu_shares": weight_to_shares(one("cpu.weight")), "cpu_period_us": period, "cpu_quota_us": quota,
        "memory_usage_bytes": usage,
        "memory_limit_bytes": one("memory.max"),
        "memory_working_set_bytes": max(0, usage - memstat.get("inactive_file", 0)),
        "memory_cache_bytes": memstat.get("file", 0),
        "memory_rss_bytes": memstat.get("anon", 0),
        "memory_mapped_file_bytes": memstat.get("file_mapped", 0),
        "memory_swap_bytes": one("memory.swap.current"),
        "memory_failcnt": events.get("max", 0),
        "memory_max_usage_bytes": one("memory.peak"),
        "memory_kernel_bytes": kernel,
        "memory_pgfault": memstat.get("pgfault", 0), "memory_pgmajfault": memstat.get("pgmajfault", 0),
        "memory_hierarchy_pgfault": memstat.get("pgfault", 0),
        "memory_hierarchy_pgmajfault": memstat.get("pgmajfault", 0),
        "memory_reservation_bytes": one("memory.low"),
        "memory_swap_limit_bytes": one("memory.swap.max"),
        "pids_current": one("pids.current"),
        "pids_limit": one("pids.max"),
        "oom_kills": events.get("oom_kill", 0),
        "block_devices": block_devices_v2(files),
        "hugetlb": hugetlb_v2(files),
    }
    s.update(pressure(files))
    return s


def pressure(files):
    """The PSI totals of the unified cgroup, for the kinds whose file exists."""
    out = {}
    for kind in ("cpu", "io", "memory"):
        psi = parse_psi(files.read("unified", "%s.pressure" % kind))
        if psi is not None:
            out["%s_pressure" % kind] = psi
    return out
