"""CRI metrics (ListMetricDescriptors, ListPodSandboxMetrics): samples in, cri Metric lists out (pure).

    descriptors() -> [cri MetricDescriptor]                 every metric this module can emit
    container_metrics(sample, ts) -> [cri Metric]           one running container
    pod_metrics(ident, interfaces, ts) -> [cri Metric]      the pod's network namespace

The names are cAdvisor's, as the kubelet exposes them on /metrics/cadvisor,
so dashboards keep working when the kubelet takes them from the runtime.
Every metric carries the identity labels ``container, id, image, name,
namespace, pod`` (``name`` is the runtime's container id, like containerd's);
some add their own (``interface``, ``device``, ``pagesize``...).  Pod-level
metrics (the network of the pod's namespace) name the container ``POD``.

Values are CRI UInt64: a "_seconds" metric is truncated to whole seconds, as
the CRI cannot carry fractions.  A limit that is not set is 0.  Metrics a
sample cannot give are left out (hugetlb without hugetlb controller, pressure
without PSI files, spec_cpu_quota without a quota), not sent as zeros.
"""
from dataclasses import dataclass, field

from gantry.api import cri_pb2

IDENTITY = ("container", "id", "image", "name", "namespace", "pod")
POD_CONTAINER = "POD"
NS = 1_000_000_000
US = 1_000_000
COUNTER, GAUGE = cri_pb2.COUNTER, cri_pb2.GAUGE


@dataclass
class FsUsage:
    """The writable layer and the filesystem it lives on."""
    device: str = ""
    usage_bytes: int = 0
    inodes_used: int = 0
    limit_bytes: int = 0
    inodes_total: int = 0
    inodes_free: int = 0


@dataclass
class ContainerSample:
    ident: tuple                      # values of IDENTITY
    stats: object = None              # the shim's StatsResponse, None when it could not answer
    processes: int = 0
    threads: int = 0
    fds: int = 0
    sockets: int = 0
    fs: FsUsage = None
    devices: dict = field(default_factory=dict)   # (major, minor) -> device path for blkio labels
    started_ns: int = 0
    ulimits: dict = field(default_factory=dict)   # cAdvisor's ulimit names -> soft value


# -- what each metric reads from a sample: [(extra label values, value)] ------------------------
def _stat(attr, scale=1):
    def get(s):
        return [((), getattr(s.stats, attr) // scale)] if s.stats is not None else []
    return get


def _spec_quota(s):
    if s.stats is None or not s.stats.cpu_quota_us:
        return []
    return [((), s.stats.cpu_quota_us)]


def _failures(s):
    st = s.stats
    if st is None:
        return []
    return [(("pgfault", "container"), st.memory_pgfault), (("pgmajfault", "container"), st.memory_pgmajfault),
            (("pgfault", "hierarchy"), st.memory_hierarchy_pgfault),
            (("pgmajfault", "hierarchy"), st.memory_hierarchy_pgmajfault)]


def _hugetlb(attr):
    def get(s):
        return [((h.page_size,), getattr(h, attr)) for h in s.stats.hugetlb] if s.stats is not None else []
    return get


def _pressure(kind, which):
    def get(s):
        if s.stats is None or not s.stats.HasField(kind + "_pressure"):
            return []
        return [((), getattr(getattr(s.stats, kind + "_pressure"), which + "_total_us") // US)]
    return get


def device_name(devices, major, minor):
    return devices.get((major, minor)) or "%d:%d" % (major, minor)


def _blkio(s):
    out = []
    for d in (s.stats.block_devices if s.stats is not None else ()):
        name = device_name(s.devices, d.major, d.minor)
        for op, value in (("Read", d.read_bytes), ("Write", d.write_bytes), ("Discard", d.discard_bytes)):
            out.append(((name, str(d.major), str(d.minor), op), value))
    return out


def _per_device(attr):
    def get(s):
        return [((device_name(s.devices, d.major, d.minor),), getattr(d, attr))
                for d in (s.stats.block_devices if s.stats is not None else ())]
    return get


def _fs(attr):
    def get(s):
        return [((s.fs.device,), getattr(s.fs, attr))] if s.fs is not None else []
    return get


def _plain(attr):
    return lambda s: [((), getattr(s, attr))]


def _start_time(s):
    return [((), s.started_ns // NS)] if s.started_ns else []


def _ulimits(s):
    return [((name,), value) for name, value in sorted(s.ulimits.items())]


# name, type, extra label keys, help, reader
CONTAINER = [
    ("container_cpu_usage_seconds_total", COUNTER, (), "CPU time consumed by the container, user and "
     "system together, in seconds", _stat("cpu_usage_ns", NS)),
    ("container_cpu_user_seconds_total", COUNTER, (), "CPU time the container spent in user mode, seconds",
     _stat("cpu_user_ns", NS)),
    ("container_cpu_system_seconds_total", COUNTER, (), "CPU time the container spent in the kernel, seconds",
     _stat("cpu_system_ns", NS)),
    ("container_cpu_cfs_periods_total", COUNTER, (), "CFS bandwidth enforcement intervals that elapsed",
     _stat("cpu_periods")),
    ("container_cpu_cfs_throttled_periods_total", COUNTER, (), "CFS intervals in which the container hit its "
     "quota and was throttled", _stat("cpu_throttled_periods")),
    ("container_cpu_cfs_throttled_seconds_total", COUNTER, (), "Total time the container was held back by its "
     "CPU quota, seconds", _stat("cpu_throttled_ns", NS)),
    ("container_spec_cpu_period", GAUGE, (), "CFS period of the container's CPU quota, microseconds",
     _stat("cpu_period_us")),
    ("container_spec_cpu_quota", GAUGE, (), "CPU time the container may use per CFS period, microseconds "
     "(absent when unlimited)", _spec_quota),
    ("container_spec_cpu_shares", GAUGE, (), "Relative CPU weight of the container, in cgroup v1 shares",
     _stat("cpu_shares")),
    ("container_memory_usage_bytes", GAUGE, (), "Memory charged to the container, page cache included, bytes",
     _stat("memory_usage_bytes")),
    ("container_memory_working_set_bytes", GAUGE, (), "Memory the container cannot easily give back: usage "
     "minus inactive file pages, bytes", _stat("memory_working_set_bytes")),
    ("container_memory_rss", GAUGE, (), "Anonymous memory and swap cache of the container, bytes",
     _stat("memory_rss_bytes")),
    ("container_memory_cache", GAUGE, (), "Page cache charged to the container, bytes",
     _stat("memory_cache_bytes")),
    ("container_memory_mapped_file", GAUGE, (), "File-backed memory mapped by the container's processes, bytes",
     _stat("memory_mapped_file_bytes")),
    ("container_memory_swap", GAUGE, (), "Swap space used by the container, bytes", _stat("memory_swap_bytes")),
    ("container_memory_kernel_usage", GAUGE, (), "Kernel memory charged to the container (slabs, stacks), bytes",
     _stat("memory_kernel_bytes")),
    ("container_memory_max_usage_bytes", GAUGE, (), "Highest memory usage recorded for the container, bytes",
     _stat("memory_max_usage_bytes")),
    ("container_memory_failcnt", COUNTER, (), "Times the container's memory usage reached its limit",
     _stat("memory_failcnt")),
    ("container_memory_failures_total", COUNTER, ("failure_type", "scope"), "Page faults of the container, by "
     "kind (pgfault, pgmajfault) and scope (the container alone, or with its sub-cgroups)", _failures),
    ("container_oom_events_total", COUNTER, (), "Processes of the container killed by the out-of-memory killer",
     _stat("oom_kills")),
    ("container_spec_memory_limit_bytes", GAUGE, (), "Memory limit of the container, bytes (0: none)",
     _stat("memory_limit_bytes")),
    ("container_spec_memory_reservation_limit_bytes", GAUGE, (), "Memory the container is guaranteed under "
     "pressure (soft limit), bytes (0: none)", _stat("memory_reservation_bytes")),
    ("container_spec_memory_swap_limit_bytes", GAUGE, (), "Swap limit of the container as its cgroup states it "
     "(v1: memory plus swap), bytes (0: none)", _stat("memory_swap_limit_bytes")),
    ("container_hugetlb_usage_bytes", GAUGE, ("pagesize",), "Huge pages in use by the container, bytes, per "
     "page size", _hugetlb("usage_bytes")),
    ("container_hugetlb_max_usage_bytes", GAUGE, ("pagesize",), "Highest huge page usage recorded for the "
     "container, bytes, per page size", _hugetlb("max_usage_bytes")),
    ("container_pressure_cpu_waiting_seconds_total", COUNTER, (), "Time some task of the container waited for "
     "a CPU, seconds", _pressure("cpu", "some")),
    ("container_pressure_cpu_stalled_seconds_total", COUNTER, (), "Time all runnable tasks of the container "
     "waited for a CPU at once, seconds", _pressure("cpu", "full")),
    ("container_pressure_memory_waiting_seconds_total", COUNTER, (), "Time some task of the container was "
     "stalled on memory, seconds", _pressure("memory", "some")),
    ("container_pressure_memory_stalled_seconds_total", COUNTER, (), "Time all tasks of the container were "
     "stalled on memory at once, seconds", _pressure("memory", "full")),
    ("container_pressure_io_waiting_seconds_total", COUNTER, (), "Time some task of the container was stalled "
     "on block I/O, seconds", _pressure("io", "some")),
    ("container_pressure_io_stalled_seconds_total", COUNTER, (), "Time all tasks of the container were "
     "stalled on block I/O at once, seconds", _pressure("io", "full")),
    ("container_blkio_device_usage_total", COUNTER, ("device", "major", "minor", "operation"), "Bytes the "
     "container transferred to or from a block device, by operation", _blkio),
    ("container_fs_reads_bytes_total", COUNTER, ("device",), "Bytes the container read from a block device",
     _per_device("read_bytes")),
    ("container_fs_writes_bytes_total", COUNTER, ("device",), "Bytes the container wrote to a block device",
     _per_device("write_bytes")),
    ("container_fs_reads_total", COUNTER, ("device",), "Read requests the container completed on a block device",
     _per_device("read_ops")),
    ("container_fs_writes_total", COUNTER, ("device",), "Write requests the container completed on a block "
     "device", _per_device("write_ops")),
    ("container_fs_usage_bytes", GAUGE, ("device",), "Bytes used by the container's writable layer",
     _fs("usage_bytes")),
    ("container_fs_limit_bytes", GAUGE, ("device",), "Size of the filesystem holding the container's writable "
     "layer, bytes", _fs("limit_bytes")),
    ("container_fs_inodes_total", GAUGE, ("device",), "Inodes of the filesystem holding the container's "
     "writable layer", _fs("inodes_total")),
    ("container_fs_inodes_free", GAUGE, ("device",), "Free inodes of the filesystem holding the container's "
     "writable layer", _fs("inodes_free")),
    ("container_processes", GAUGE, (), "Processes running in the container", _plain("processes")),
    ("container_threads", GAUGE, (), "Threads running in the container", _plain("threads")),
    ("container_threads_max", GAUGE, (), "Most tasks the container may have (its pids limit; 0: none)",
     _stat("pids_limit")),
    ("container_file_descriptors", GAUGE, (), "Open file descriptors of the container's processes",
     _plain("fds")),
    ("container_sockets", GAUGE, (), "Open sockets of the container's processes", _plain("sockets")),
    ("container_ulimits_soft", GAUGE, ("ulimit",), "Soft resource limits of the container's init process",
     _ulimits),
    ("container_start_time_seconds", GAUGE, (), "When the container started, unix time in seconds",
     _start_time),
    ("container_last_seen", GAUGE, (), "When the runtime last saw the container, unix time in seconds",
     None),
]

# name, type, help, index in an interface's counters (stats.net_dev_counters)
NETWORK = [
    ("container_network_receive_bytes_total", "Bytes received", "rx_bytes"),
    ("container_network_receive_packets_total", "Packets received", "rx_packets"),
    ("container_network_receive_errors_total", "Errors while receiving", "rx_errors"),
    ("container_network_receive_packets_dropped_total", "Packets dropped while receiving", "rx_dropped"),
    ("container_network_transmit_bytes_total", "Bytes transmitted", "tx_bytes"),
    ("container_network_transmit_packets_total", "Packets transmitted", "tx_packets"),
    ("container_network_transmit_errors_total", "Errors while transmitting", "tx_errors"),
    ("container_network_transmit_packets_dropped_total", "Packets dropped while transmitting", "tx_dropped"),
]


def descriptors():
    out = [cri_pb2.MetricDescriptor(name=name, help=help_text, label_keys=IDENTITY + extra)
           for name, _, extra, help_text, _ in CONTAINER]
    out += [cri_pb2.MetricDescriptor(name=name, help=help_text + " on a network interface of the pod",
                                     label_keys=IDENTITY + ("interface",))
            for name, help_text, _ in NETWORK]
    return out


def _metric(name, kind, labels, value, ts):
    m = cri_pb2.Metric(name=name, timestamp=ts, metric_type=kind, label_values=labels)
    m.value.value = int(value)
    return m


def container_metrics(sample, ts):
    """The metrics of one container sampled at ``ts`` (unix ns)."""
    ident = tuple(sample.ident)
    out = []
    for name, kind, _, _, reader in CONTAINER:
        if reader is None:      # container_last_seen: the sample's own time
            out.append(_metric(name, kind, ident, ts // NS, ts))
            continue
        for extra, value in reader(sample):
            out.append(_metric(name, kind, ident + tuple(extra), value, ts))
    return out


def pod_metrics(ident, interfaces, ts):
    """Network metrics of the pod: ``interfaces`` is {name: {counter: value}} of its namespace."""
    out = []
    for iface, counters in sorted(interfaces.items()):
        for name, _, key in NETWORK:
            out.append(_metric(name, COUNTER, tuple(ident) + (iface,), counters.get(key, 0), ts))
    return out
