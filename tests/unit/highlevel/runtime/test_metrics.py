"""CRI metrics: the builder (runtime/metrics.py) and the text parsers of podmetrics.py and stats.py."""
import os

import pytest
from gantry.api import cri_pb2, shim_pb2
from gantry.highlevel.runtime import metrics, podmetrics, stats

IDENT = ("app", "c" * 64, "busybox:1.36", "c" * 64, "default", "web")
TS = 1_700_000_123_456_789_000


def full_stats(**over):
    fields = dict(
        cpu_usage_ns=3_900_000_000, cpu_user_ns=2_500_000_000, cpu_system_ns=1_400_000_000, cpu_periods=40,
        cpu_throttled_periods=10, cpu_throttled_ns=2_000_000_001, cpu_shares=1024, cpu_period_us=100000,
        cpu_quota_us=20000, memory_usage_bytes=16384, memory_working_set_bytes=14336, memory_limit_bytes=67108864,
        memory_cache_bytes=4096, memory_rss_bytes=8192, memory_mapped_file_bytes=1024, memory_swap_bytes=512,
        memory_failcnt=4, memory_max_usage_bytes=20480, memory_kernel_bytes=777, memory_pgfault=1000,
        memory_pgmajfault=3, memory_hierarchy_pgfault=2000, memory_hierarchy_pgmajfault=7,
        memory_reservation_bytes=0, memory_swap_limit_bytes=67108864, pids_current=3, pids_limit=1024,
        oom_kills=1, timestamp_ns=TS,
        block_devices=[{"major": 8, "minor": 16, "read_bytes": 4096, "write_bytes": 8192, "read_ops": 1,
                        "write_ops": 2},
                       {"major": 7, "minor": 3, "read_bytes": 5, "read_ops": 1}],
        hugetlb=[{"page_size": "2MB", "usage_bytes": 2097152, "max_usage_bytes": 4194304}],
        cpu_pressure={"some_total_us": 3_500_000, "full_total_us": 0})
    fields.update(over)
    return shim_pb2.StatsResponse(**fields)


def sample(**over):
    s = metrics.ContainerSample(
        ident=IDENT, stats=full_stats(), processes=2, threads=5, fds=9, sockets=1,
        fs=metrics.FsUsage(device="/dev/vda1", usage_bytes=12288, inodes_used=3, limit_bytes=10 << 30,
                           inodes_total=1000, inodes_free=400),
        devices={(8, 16): "/dev/sdb"}, started_ns=1_700_000_000_900_000_000, ulimits={"max_open_files": 1024})
    for k, v in over.items():
        setattr(s, k, v)
    return s


def by_name(ms):
    out = {}
    for m in ms:
        out.setdefault(m.name, []).append(m)
    return out


def values(ms, name):
    return {tuple(m.label_values[len(IDENT):]): m.value.value for m in by_name(ms)[name]}


# the names cAdvisor gives these metrics on the kubelet's /metrics/cadvisor
CADVISOR_NAMES = """container_blkio_device_usage_total container_cpu_cfs_periods_total
container_cpu_cfs_throttled_periods_total container_cpu_cfs_throttled_seconds_total container_cpu_system_seconds_total
container_cpu_usage_seconds_total container_cpu_user_seconds_total container_file_descriptors
container_fs_inodes_free container_fs_inodes_total container_fs_limit_bytes container_fs_reads_bytes_total
container_fs_reads_total container_fs_usage_bytes container_fs_writes_bytes_total container_fs_writes_total
container_hugetlb_max_usage_bytes container_hugetlb_usage_bytes container_last_seen container_memory_cache
container_memory_failcnt container_memory_failures_total container_memory_kernel_usage container_memory_mapped_file
container_memory_max_usage_bytes container_memory_rss container_memory_swap container_memory_usage_bytes
container_memory_working_set_bytes container_network_receive_bytes_total container_network_receive_errors_total
container_network_receive_packets_dropped_total container_network_receive_packets_total
container_network_transmit_bytes_total container_network_transmit_errors_total
container_network_transmit_packets_dropped_total container_network_transmit_packets_total
container_oom_events_total container_pressure_cpu_stalled_seconds_total container_pressure_cpu_waiting_seconds_total
container_pressure_io_stalled_seconds_total container_pressure_io_waiting_seconds_total
container_pressure_memory_stalled_seconds_total container_pressure_memory_waiting_seconds_total
container_processes container_sockets container_spec_cpu_period container_spec_cpu_quota container_spec_cpu_shares
container_spec_memory_limit_bytes container_spec_memory_reservation_limit_bytes
container_spec_memory_swap_limit_bytes container_start_time_seconds container_threads container_threads_max
container_ulimits_soft""".split()


def test_descriptors_cover_the_cadvisor_names_once_with_help_and_labels():
    descs = metrics.descriptors()
    names = [d.name for d in descs]
    assert len(names) == len(set(names))
    assert set(names) == set(CADVISOR_NAMES)
    for d in descs:
        assert d.help and tuple(d.label_keys[:6]) == metrics.IDENTITY


def test_every_metric_has_as_many_label_values_as_its_descriptor_has_keys():
    keys = {d.name: len(d.label_keys) for d in metrics.descriptors()}
    ms = metrics.container_metrics(sample(), TS) + metrics.pod_metrics(IDENT, {"eth0": {}}, TS)
    assert ms and all(len(m.label_values) == keys[m.name] for m in ms)
    assert all(m.timestamp == TS for m in ms)


def test_container_values():
    ms = metrics.container_metrics(sample(), TS)
    one = {name: values(ms, name).get(()) for name in by_name(ms)}
    assert one["container_cpu_usage_seconds_total"] == 3        # whole seconds: CRI values are integers
    assert (one["container_cpu_user_seconds_total"], one["container_cpu_system_seconds_total"]) == (2, 1)
    assert (one["container_cpu_cfs_periods_total"], one["container_cpu_cfs_throttled_periods_total"],
            one["container_cpu_cfs_throttled_seconds_total"]) == (40, 10, 2)
    assert (one["container_spec_cpu_period"], one["container_spec_cpu_quota"], one["container_spec_cpu_shares"]) \
        == (100000, 20000, 1024)
    assert (one["container_memory_usage_bytes"], one["container_memory_working_set_bytes"],
            one["container_memory_rss"], one["container_memory_cache"], one["container_memory_mapped_file"],
            one["container_memory_swap"], one["container_memory_kernel_usage"],
            one["container_memory_max_usage_bytes"], one["container_memory_failcnt"]) \
        == (16384, 14336, 8192, 4096, 1024, 512, 777, 20480, 4)
    assert (one["container_spec_memory_limit_bytes"], one["container_spec_memory_reservation_limit_bytes"],
            one["container_spec_memory_swap_limit_bytes"], one["container_oom_events_total"]) \
        == (67108864, 0, 67108864, 1)
    assert (one["container_processes"], one["container_threads"], one["container_threads_max"],
            one["container_file_descriptors"], one["container_sockets"]) == (2, 5, 1024, 9, 1)
    assert one["container_start_time_seconds"] == 1_700_000_000
    assert one["container_last_seen"] == TS // 10**9
    assert one["container_pressure_cpu_waiting_seconds_total"] == 3
    assert one["container_pressure_cpu_stalled_seconds_total"] == 0
    assert values(ms, "container_memory_failures_total") == {
        ("pgfault", "container"): 1000, ("pgmajfault", "container"): 3,
        ("pgfault", "hierarchy"): 2000, ("pgmajfault", "hierarchy"): 7}
    assert values(ms, "container_hugetlb_usage_bytes") == {("2MB",): 2097152}
    assert values(ms, "container_hugetlb_max_usage_bytes") == {("2MB",): 4194304}
    assert values(ms, "container_ulimits_soft") == {("max_open_files",): 1024}
    assert values(ms, "container_fs_usage_bytes") == {("/dev/vda1",): 12288}
    assert values(ms, "container_fs_limit_bytes") == {("/dev/vda1",): 10 << 30}
    assert (values(ms, "container_fs_inodes_total"), values(ms, "container_fs_inodes_free")) \
        == ({("/dev/vda1",): 1000}, {("/dev/vda1",): 400})


def test_block_io_per_device_named_from_sysfs_or_by_number():
    ms = metrics.container_metrics(sample(), TS)
    assert values(ms, "container_blkio_device_usage_total") == {
        ("/dev/sdb", "8", "16", "Read"): 4096, ("/dev/sdb", "8", "16", "Write"): 8192,
        ("/dev/sdb", "8", "16", "Discard"): 0,
        ("7:3", "7", "3", "Read"): 5, ("7:3", "7", "3", "Write"): 0, ("7:3", "7", "3", "Discard"): 0}
    assert values(ms, "container_fs_reads_bytes_total") == {("/dev/sdb",): 4096, ("7:3",): 5}
    assert values(ms, "container_fs_writes_total") == {("/dev/sdb",): 2, ("7:3",): 0}


def test_what_a_sample_cannot_give_is_left_out_not_zero():
    st = full_stats(cpu_quota_us=0, hugetlb=[])
    st.ClearField("cpu_pressure")
    names = set(by_name(metrics.container_metrics(sample(stats=st, ulimits={}, started_ns=0), TS)))
    for absent in ("container_spec_cpu_quota", "container_hugetlb_usage_bytes", "container_ulimits_soft",
                   "container_pressure_cpu_waiting_seconds_total", "container_start_time_seconds"):
        assert absent not in names
    bare = by_name(metrics.container_metrics(sample(stats=None, fs=None), TS))
    assert "container_cpu_usage_seconds_total" not in bare and "container_fs_usage_bytes" not in bare
    assert "container_processes" in bare and "container_last_seen" in bare


def test_metric_types():
    ms = by_name(metrics.container_metrics(sample(), TS))
    assert ms["container_cpu_usage_seconds_total"][0].metric_type == cri_pb2.COUNTER
    assert ms["container_memory_usage_bytes"][0].metric_type == cri_pb2.GAUGE


NET_DEV = """Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0       0          0
  eth0: 1000000    900    1    2    0     0          0         0   500000     400    3    4    0     0       0          0
"""


def test_net_dev_counters_and_the_short_form():
    c = stats.net_dev_counters(NET_DEV)
    assert c["eth0"] == {"rx_bytes": 1000000, "rx_packets": 900, "rx_errors": 1, "rx_dropped": 2,
                         "tx_bytes": 500000, "tx_packets": 400, "tx_errors": 3, "tx_dropped": 4}
    assert stats.parse_net_dev(NET_DEV) == {"lo": (140, 0, 140, 0), "eth0": (1000000, 1, 500000, 3)}


def test_pod_network_metrics_per_interface():
    ident = ("POD", "p" * 64, "", "p" * 64, "default", "web")
    ms = metrics.pod_metrics(ident, stats.net_dev_counters(NET_DEV), TS)
    assert len(ms) == 16 and all(m.metric_type == cri_pb2.COUNTER for m in ms)
    got = {(m.name, m.label_values[-1]): m.value.value for m in ms}
    assert got[("container_network_receive_bytes_total", "eth0")] == 1000000
    assert got[("container_network_transmit_packets_dropped_total", "eth0")] == 4
    assert got[("container_network_receive_packets_total", "lo")] == 2


LIMITS = """Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 1048576              files
"""


@pytest.mark.parametrize("text,value", [
    (LIMITS, {"max_open_files": 1024}),
    (LIMITS.replace("1024      ", "unlimited "), {}),
    ("", {}),
])
def test_parse_limits(text, value):
    assert podmetrics.parse_limits(text) == value


def test_parse_uevent_devname():
    assert podmetrics.parse_uevent_devname("MAJOR=8\nMINOR=16\nDEVNAME=sdb\nDEVTYPE=disk\n") == "/dev/sdb"
    assert podmetrics.parse_uevent_devname("MAJOR=8\n") is None


def test_mount_source():
    mi = ("22 1 253:1 / / rw,relatime - ext4 /dev/vda1 rw\n"
          "30 22 0:25 / /proc rw - proc proc rw\n"
          "40 22 253:1 /var/x /mnt rw - ext4 /dev/vda1 rw\n")
    assert podmetrics.mount_source(mi, 253, 1) == "/dev/vda1"
    assert podmetrics.mount_source(mi, 0, 25) == "proc"
    assert podmetrics.mount_source(mi, 9, 9) is None


def test_count_processes_over_a_fake_proc(tmp_path):
    for pid, fds, tasks in ((10, ["/dev/null", "socket:[123]", "pipe:[4]"], [10, 11, 12]), (11, ["socket:[9]"], [11])):
        (tmp_path / str(pid) / "fd").mkdir(parents=True)
        for i, target in enumerate(fds):
            os.symlink(target, tmp_path / str(pid) / "fd" / str(i))
        for t in tasks:
            (tmp_path / str(pid) / "task" / str(t)).mkdir(parents=True)
    assert podmetrics.count_processes([10, 11, 99], proc=str(tmp_path)) == (2, 4, 4, 2)


def test_pod_net_pid_checks_the_namespace_not_just_the_pid(tmp_path):
    from types import SimpleNamespace as NS

    me = os.getpid()
    own = "/proc/%d/ns/net" % me
    ctr = NS(pid=me)
    assert podmetrics.pod_net_pid(NS(namespaces={"network": own}, infra={"pid": me}), []) == me
    assert podmetrics.pod_net_pid(NS(namespaces={"network": own}, infra={}), [NS(pid=0), ctr]) == me
    other = tmp_path / "net"
    other.write_text("")    # a pinned namespace no live process of ours is in
    assert podmetrics.pod_net_pid(NS(namespaces={"network": str(other)}, infra={"pid": me}), [ctr]) == 0
    assert podmetrics.pod_net_pid(NS(namespaces={}, infra={"pid": me}), [ctr]) == 0     # host network
