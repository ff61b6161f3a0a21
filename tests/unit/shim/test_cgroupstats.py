"""shim/cgroupstats.py: cgroup file texts (v1, v2) -> StatsResponse fields, from tables."""
import pytest
from gantry.api import shim_pb2
from gantry.shim import cgroup, cgroupstats


class Files:
    """{(controller, name): text} as the reader cgroupstats takes."""

    def __init__(self, table):
        self.table = table

    def read(self, controller, name):
        return self.table.get((controller, name))

    def names(self, controller):
        return [n for (c, n) in self.table if c == controller]


@pytest.mark.parametrize("text,value", [
    ("123\n", 123), ("max\n", 0), ("-1\n", 0), ("9223372036854771712\n", 0), ("", 0), (None, 0), ("x", 0),
])
def test_parse_int(text, value):
    assert cgroupstats.parse_int(text) == value


BLKIO_V1 = """8:16 Read 4096
8:16 Write 8192
8:16 Sync 12288
8:16 Async 0
8:16 Discard 512
8:16 Total 12288
253:0 Read 100
253:0 Write 0
253:0 Total 100
Total 12388
"""


def test_parse_blkio_v1():
    assert cgroupstats.parse_blkio_v1(BLKIO_V1) == {
        (8, 16): {"read": 4096, "write": 8192, "sync": 12288, "async": 0, "discard": 512, "total": 12288},
        (253, 0): {"read": 100, "write": 0, "total": 100}}
    assert cgroupstats.parse_blkio_v1("Total 0\n") == {}


def test_parse_io_stat():
    text = "8:16 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n259:0 rbytes=7 wbytes=0 rios=3 wios=0\n"
    assert cgroupstats.parse_io_stat(text) == {
        (8, 16): {"rbytes": 4096, "wbytes": 8192, "rios": 1, "wios": 2, "dbytes": 0, "dios": 0},
        (259, 0): {"rbytes": 7, "wbytes": 0, "rios": 3, "wios": 0}}


@pytest.mark.parametrize("text,value", [
    ("some avg10=0.00 avg60=0.10 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=56\n",
     {"some_total_us": 1234, "full_total_us": 56}),
    ("some avg10=0.00 avg60=0.00 avg300=0.00 total=9\n", {"some_total_us": 9, "full_total_us": 0}),
    (None, None),
])
def test_parse_psi(text, value):
    assert cgroupstats.parse_psi(text) == value


@pytest.mark.parametrize("text,value", [("max 100000\n", (0, 100000)), ("20000 100000\n", (20000, 100000)),
                                        ("", (0, 0))])
def test_parse_cpu_max(text, value):
    assert cgroupstats.parse_cpu_max(text) == value


@pytest.mark.parametrize("weight,shares", [(1, 2), (10000, 262144), (100, 2597), (39, 998), (0, 0)])
def test_weight_to_shares(weight, shares):
    assert cgroupstats.weight_to_shares(weight) == shares


def test_hugepage_sizes_ignore_reservation_files():
    names = ["hugetlb.2MB.current", "hugetlb.2MB.rsvd.current", "hugetlb.1GB.current", "hugetlb.2MB.max"]
    assert cgroupstats.hugepage_sizes(names, "current") == ["1GB", "2MB"]


MEMSTAT_V1 = """cache 100
rss 200
mapped_file 30
swap 0
pgfault 1000
pgmajfault 3
inactive_file 50
total_cache 4096
total_rss 8192
total_mapped_file 1024
total_swap 512
total_pgfault 2000
total_pgmajfault 7
total_inactive_file 2048
"""

V1 = {
    ("cpuacct", "cpuacct.usage"): "3000000000\n",
    ("cpuacct", "cpuacct.usage_user"): "2000000000\n",
    ("cpuacct", "cpuacct.usage_sys"): "1000000000\n",
    ("cpu", "cpu.stat"): "nr_periods 40\nnr_throttled 10\nthrottled_time 5000000\nnr_bursts 0\n",
    ("cpu", "cpu.shares"): "1024\n",
    ("cpu", "cpu.cfs_period_us"): "100000\n",
    ("cpu", "cpu.cfs_quota_us"): "20000\n",
    ("memory", "memory.usage_in_bytes"): "16384\n",
    ("memory", "memory.limit_in_bytes"): "67108864\n",
    ("memory", "memory.max_usage_in_bytes"): "20480\n",
    ("memory", "memory.failcnt"): "4\n",
    ("memory", "memory.kmem.usage_in_bytes"): "777\n",
    ("memory", "memory.soft_limit_in_bytes"): "9223372036854771712\n",
    ("memory", "memory.memsw.limit_in_bytes"): "67108864\n",
    ("memory", "memory.stat"): MEMSTAT_V1,
    ("memory", "memory.oom_control"): "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
    ("pids", "pids.current"): "3\n",
    ("pids", "pids.max"): "max\n",
    ("blkio", "blkio.io_service_bytes_recursive"): "Total 0\n",     # CFQ file present but empty
    ("blkio", "blkio.throttle.io_service_bytes_recursive"): BLKIO_V1,
    ("blkio", "blkio.throttle.io_serviced_recursive"): "8:16 Read 1\n8:16 Write 2\n8:16 Discard 1\nTotal 3\n",
    ("hugetlb", "hugetlb.2MB.usage_in_bytes"): "2097152\n",
    ("hugetlb", "hugetlb.2MB.max_usage_in_bytes"): "4194304\n",
    ("hugetlb", "hugetlb.2MB.failcnt"): "1\n",
    ("hugetlb", "hugetlb.2MB.limit_in_bytes"): "9223372036854771712\n",
    ("unified", "cpu.pressure"): "some avg10=0.00 avg60=0.00 avg300=0.00 total=11\n"
                                 "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
}


def test_stats_v1():
    s = cgroupstats.stats_v1(Files(V1))
    assert {k: s[k] for k in ("cpu_usage_ns", "cpu_user_ns", "cpu_system_ns", "cpu_periods",
                              "cpu_throttled_periods", "cpu_throttled_ns", "cpu_shares", "cpu_period_us",
                              "cpu_quota_us")} == {
        "cpu_usage_ns": 3_000_000_000, "cpu_user_ns": 2_000_000_000, "cpu_system_ns": 1_000_000_000,
        "cpu_periods": 40, "cpu_throttled_periods": 10, "cpu_throttled_ns": 5_000_000, "cpu_shares": 1024,
        "cpu_period_us": 100000, "cpu_quota_us": 20000}
    assert s["memory_working_set_bytes"] == 16384 - 2048
    assert (s["memory_cache_bytes"], s["memory_rss_bytes"], s["memory_mapped_file_bytes"], s["memory_swap_bytes"]) \
        == (4096, 8192, 1024, 512)
    assert (s["memory_failcnt"], s["memory_max_usage_bytes"], s["memory_kernel_bytes"]) == (4, 20480, 777)
    assert (s["memory_pgfault"], s["memory_pgmajfault"], s["memory_hierarchy_pgfault"],
            s["memory_hierarchy_pgmajfault"]) == (1000, 3, 2000, 7)
    assert (s["memory_reservation_bytes"], s["memory_swap_limit_bytes"]) == (0, 67108864)
    assert (s["pids_current"], s["pids_limit"], s["oom_kills"]) == (3, 0, 2)
    assert s["block_devices"] == [
        {"major": 8, "minor": 16, "read_bytes": 4096, "write_bytes": 8192, "discard_bytes": 512,
         "read_ops": 1, "write_ops": 2, "discard_ops": 1},
        {"major": 253, "minor": 0, "read_bytes": 100, "write_bytes": 0, "discard_bytes": 0,
         "read_ops": 0, "write_ops": 0, "discard_ops": 0}]
    assert s["hugetlb"] == [{"page_size": "2MB", "usage_bytes": 2097152, "max_usage_bytes": 4194304, "failcnt": 1}]
    assert s["cpu_pressure"] == {"some_total_us": 11, "full_total_us": 0}
    assert "io_pressure" not in s and "memory_pressure" not in s
    shim_pb2.StatsResponse(**s)     # every key is a field, every value fits


def test_stats_v1_cpu_split_from_cpuacct_stat_ticks():
    table = {k: v for k, v in V1.items() if k[1] not in ("cpuacct.usage_user", "cpuacct.usage_sys")}
    table[("cpuacct", "cpuacct.stat")] = "user 150\nsystem 25\n"
    s = cgroupstats.stats_v1(Files(table))
    assert (s["cpu_user_ns"], s["cpu_system_ns"]) == (1_500_000_000, 250_000_000)


V2 = {
    ("unified", "cpu.stat"): "usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\n"
                             "nr_periods 40\nnr_throttled 10\nthrottled_usec 5000\n",
    ("unified", "cpu.max"): "20000 100000\n",
    ("unified", "cpu.weight"): "39\n",
    ("unified", "memory.current"): "16384\n",
    ("unified", "memory.max"): "67108864\n",
    ("unified", "memory.peak"): "20480\n",
    ("unified", "memory.low"): "4096\n",
    ("unified", "memory.swap.current"): "512\n",
    ("unified", "memory.swap.max"): "max\n",
    ("unified", "memory.stat"): "anon 8192\nfile 4096\nkernel 777\nfile_mapped 1024\n"
                                "inactive_file 2048\npgfault 2000\npgmajfault 7\n",
    ("unified", "memory.events"): "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n",
    ("unified", "pids.current"): "3\n",
    ("unified", "pids.max"): "1024\n",
    ("unified", "io.stat"): "8:16 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=512 dios=1\n",
    ("unified", "hugetlb.2MB.current"): "2097152\n",
    ("unified", "hugetlb.2MB.events"): "max 1\n",
    ("unified", "hugetlb.2MB.rsvd.current"): "0\n",
    ("unified", "io.pressure"): "some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n"
                                "full avg10=0.00 avg60=0.00 avg300=0.00 total=3\n",
}


def test_stats_v2():
    s = cgroupstats.stats_v2(Files(V2))
    assert (s["cpu_usage_ns"], s["cpu_user_ns"], s["cpu_system_ns"]) == (3_000_000_000, 2_000_000_000, 1_000_000_000)
    assert (s["cpu_periods"], s["cpu_throttled_periods"], s["cpu_throttled_ns"]) == (40, 10, 5_000_000)
    assert (s["cpu_shares"], s["cpu_period_us"], s["cpu_quota_us"]) == (998, 100000, 20000)
    assert (s["memory_usage_bytes"], s["memory_limit_bytes"], s["memory_working_set_bytes"]) == (16384, 67108864, 14336)
    assert (s["memory_cache_bytes"], s["memory_rss_bytes"], s["memory_mapped_file_bytes"], s["memory_swap_bytes"]) \
        == (4096, 8192, 1024, 512)
    assert (s["memory_failcnt"], s["memory_max_usage_bytes"], s["memory_kernel_bytes"]) == (4, 20480, 777)
    assert (s["memory_pgfault"], s["memory_pgmajfault"], s["memory_hierarchy_pgfault"],
            s["memory_hierarchy_pgmajfault"]) == (2000, 7, 2000, 7)
    assert (s["memory_reservation_bytes"], s["memory_swap_limit_bytes"]) == (4096, 0)
    assert (s["pids_current"], s["pids_limit"], s["oom_kills"]) == (3, 1024, 1)
    assert s["block_devices"] == [{"major": 8, "minor": 16, "read_bytes": 4096, "write_bytes": 8192,
                                   "discard_bytes": 512, "read_ops": 1, "write_ops": 2, "discard_ops": 1}]
    assert s["hugetlb"] == [{"page_size": "2MB", "usage_bytes": 2097152, "max_usage_bytes": 0, "failcnt": 1}]
    assert s["io_pressure"] == {"some_total_us": 5, "full_total_us": 3}
    shim_pb2.StatsResponse(**s)


def test_v2_kernel_usage_without_the_kernel_key():
    table = dict(V2)
    table[("unified", "memory.stat")] = "kernel_stack 100\nslab 900\n"
    assert cgroupstats.stats_v2(Files(table))["memory_kernel_bytes"] == 1000


def test_missing_files_are_zero_not_errors():
    for fn in (cgroupstats.stats_v1, cgroupstats.stats_v2):
        s = fn(Files({}))
        assert s["cpu_usage_ns"] == 0 and s["block_devices"] == [] and s["hugetlb"] == []
        assert not any(k.endswith("_pressure") for k in s)


def test_cgroups_stats_reads_the_directories(tmp_path):
    mem, cpu = tmp_path / "memory", tmp_path / "cpu"
    mem.mkdir()
    cpu.mkdir()
    (mem / "memory.usage_in_bytes").write_text("1000\n")
    (mem / "memory.stat").write_text("total_inactive_file 100\ntotal_rss 600\n")
    (cpu / "cpu.stat").write_text("nr_periods 5\nnr_throttled 1\nthrottled_time 10\n")
    s = cgroup.Cgroups({"memory": str(mem), "cpu": str(cpu)}).stats()
    assert s["cgroup_version"] == "v1" and s["timestamp_ns"] > 0
    assert (s["memory_working_set_bytes"], s["memory_rss_bytes"], s["cpu_periods"]) == (900, 600, 5)
    shim_pb2.StatsResponse(**s)
