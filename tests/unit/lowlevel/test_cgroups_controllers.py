"""Per-controller tables: linux.resources section -> [(file, value)]."""
import pytest
from gantry.lowlevel.cgroups import blkio, cpu, cpuset, freezer, hugetlb, memory, pids
from gantry.lowlevel.cgroups.errors import CgroupError

CPU_V1 = [
    ({}, []),
    ({"shares": 512}, [("cpu.shares", "512")]),
    ({"quota": 50000, "period": 100000}, [("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", "50000")]),
    ({"quota": -1}, [("cpu.cfs_quota_us", "-1")]),
    ({"realtimePeriod": 1000000, "realtimeRuntime": 950000},
     [("cpu.rt_period_us", "1000000"), ("cpu.rt_runtime_us", "950000")]),
    ({"idle": 1, "burst": 1000}, [("cpu.cfs_burst_us", "1000"), ("cpu.idle", "1")]),
]

CPU_V2 = [
    ({}, []),
    ({"shares": 1024}, [("cpu.weight", "39")]),
    ({"shares": 2}, [("cpu.weight", "1")]),
    ({"shares": 262144}, [("cpu.weight", "10000")]),
    ({"quota": 50000, "period": 200000}, [("cpu.max", "50000 200000")]),
    ({"quota": 50000}, [("cpu.max", "50000 100000")]),
    ({"quota": -1, "period": 100000}, [("cpu.max", "max 100000")]),
    ({"burst": 500, "idle": 0}, [("cpu.idle", "0"), ("cpu.max.burst", "500")]),
]


@pytest.mark.parametrize("section,files", CPU_V1)
def test_cpu_v1(section, files):
    assert cpu.v1(section) == files


@pytest.mark.parametrize("section,files", CPU_V2)
def test_cpu_v2(section, files):
    assert cpu.v2(section) == files


def test_cpu_v2_realtime_is_refused():
    with pytest.raises(CgroupError, match="realtime"):
        cpu.v2({"realtimeRuntime": 1000})


def test_cpuset_stats():
    files = {"cpuset.effective_cpus": "0-2,5\n", "cpuset.effective_mems": "0\n", "cpuset.cpu_exclusive": "0\n",
             "cpuset.sched_relax_domain_level": "-1\n"}
    assert cpuset.stats(files.get) == {"cpus": [0, 1, 2, 5], "mems": [0], "cpu_exclusive": 0,
                                       "sched_relax_domain_level": -1}
    assert cpuset.parse_list("") == []


def test_cpuset_both_versions():
    assert cpuset.v1({"cpus": "0-1", "mems": "0"}) == [("cpuset.cpus", "0-1"), ("cpuset.mems", "0")]
    assert cpuset.v2({"cpus": "1"}) == [("cpuset.cpus", "1")]
    assert cpuset.v1({"shares": 5}) == []


MEMORY_V1 = [
    ({"limit": 1 << 20}, [("memory.limit_in_bytes", "1048576")]),
    ({"limit": 100, "swap": 200, "reservation": 50},
     [("memory.limit_in_bytes", "100"), ("memory.memsw.limit_in_bytes", "200"),
      ("memory.soft_limit_in_bytes", "50")]),
    ({"kernel": 1000, "kernelTCP": 2000},
     [("memory.kmem.limit_in_bytes", "1000"), ("memory.kmem.tcp.limit_in_bytes", "2000")]),
    ({"swappiness": 0}, [("memory.swappiness", "0")]),
    ({"disableOOMKiller": True}, [("memory.oom_control", "1")]),
    ({"disableOOMKiller": False}, []),
    ({"useHierarchy": True}, [("memory.use_hierarchy", "1")]),
    ({"limit": -1, "swap": -1}, [("memory.limit_in_bytes", "-1"), ("memory.memsw.limit_in_bytes", "-1")]),
    ({"limit": -1}, [("memory.limit_in_bytes", "-1"), ("memory.memsw.limit_in_bytes", "-1")]),
]


@pytest.mark.parametrize("section,files", MEMORY_V1)
def test_memory_v1(section, files):
    assert memory.v1(section) == files


def test_memory_v1_swappiness_range():
    with pytest.raises(CgroupError, match="swappiness"):
        memory.v1({"swappiness": 101})


def test_memory_v1_order_raises_memsw_first_when_growing():
    files = memory.v1({"limit": 300, "swap": 600})
    assert [f[0] for f in memory.v1_order(files, current_memsw=200)] == [
        "memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]
    assert [f[0] for f in memory.v1_order(files, current_memsw=1000)] == [
        "memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]
    # going unlimited: memsw first whatever the current value
    assert [f[0] for f in memory.v1_order(memory.v1({"limit": -1}), current_memsw=None)] == [
        "memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]


MEMORY_V2 = [
    ({"limit": 100}, [("memory.max", "100")]),
    ({"limit": -1}, [("memory.swap.max", "max"), ("memory.max", "max")]),
    ({"limit": 100, "swap": 300}, [("memory.swap.max", "200"), ("memory.max", "100")]),
    ({"limit": 100, "swap": -1}, [("memory.swap.max", "max"), ("memory.max", "100")]),
    ({"limit": 100, "swap": 100}, [("memory.swap.max", "0"), ("memory.max", "100")]),
    ({"reservation": 50}, [("memory.low", "50")]),
    ({"kernel": 5, "kernelTCP": 5}, []),
]


@pytest.mark.parametrize("section,files", MEMORY_V2)
def test_memory_v2(section, files):
    assert memory.v2(section) == files


@pytest.mark.parametrize("section,match", [
    ({"swap": 100}, "needs a memory limit"),
    ({"limit": 200, "swap": 100}, "below the memory limit"),
    ({"limit": -1, "swap": 100}, "unlimited"),
    ({"swappiness": 10}, "swappiness"),
    ({"disableOOMKiller": True}, "oom_control"),
])
def test_memory_v2_errors(section, match):
    with pytest.raises(CgroupError, match=match):
        memory.v2(section)


def test_oom_counters():
    assert memory.oom_kills_v1("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n") == 3
    assert memory.under_oom_v1("oom_kill_disable 1\nunder_oom 1\n")
    assert memory.oom_kills_v2("low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\noom_group_kill 0\n") == 1
    assert memory.oom_kills_v2(None) == 0


@pytest.mark.parametrize("limit,files", [(0, []), (10, [("pids.max", "10")]), (-1, [("pids.max", "max")])])
def test_pids(limit, files):
    assert pids.v1({"limit": limit}) == files
    assert pids.v2({"limit": limit}) == files


def test_pids_stats():
    files = {"pids.current": "3\n", "pids.max": "max\n"}
    assert pids.stats(files.get) == {"current": 3, "limit": 0}
    files["pids.max"] = "20\n"
    assert pids.stats(files.get) == {"current": 3, "limit": 20}


BLKIO = {"weight": 500, "weightDevice": [{"major": 8, "minor": 0, "weight": 300}],
         "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
         "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 100}]}


def test_blkio_v1_cfq_files():
    assert blkio.v1(BLKIO) == [
        ("blkio.weight", "500"), ("blkio.weight_device", "8:0 300"),
        ("blkio.throttle.read_bps_device", "8:0 1048576"), ("blkio.throttle.write_iops_device", "8:16 100")]


def test_blkio_v1_falls_back_to_bfq():
    available = {"blkio.bfq.weight", "blkio.bfq.weight_device", "blkio.throttle.read_bps_device",
                 "blkio.throttle.write_iops_device"}
    assert blkio.v1(BLKIO, available)[:2] == [("blkio.bfq.weight", "500"), ("blkio.bfq.weight_device", "8:0 300")]


def test_blkio_v1_without_weight_files_names_the_file():
    with pytest.raises(CgroupError, match="blkio.weight does not exist"):
        blkio.v1({"weight": 10}, available={"blkio.throttle.read_bps_device"})
    with pytest.raises(CgroupError, match="blkio.leaf_weight does not exist"):
        blkio.v1({"leafWeight": 10}, available={"blkio.bfq.weight"})


def test_blkio_v2():
    assert blkio.v2(BLKIO) == [
        ("io.weight", "default 4950"), ("io.weight", "8:0 2930"),
        ("io.max", "8:0 rbps=1048576"), ("io.max", "8:16 wiops=100")]
    assert blkio.v2({"weight": 500}, available={"io.bfq.weight"}) == [("io.bfq.weight", "500")]
    assert blkio.weight_to_io(10) == 1 and blkio.weight_to_io(1000) == 10000


def test_blkio_stats_parse():
    v1 = "8:0 Read 4096\n8:0 Write 0\nTotal 4096\n"
    assert blkio.stats_v1({"blkio.throttle.io_service_bytes_recursive": v1}.get)["ioServiceBytesRecursive"] == [
        {"major": 8, "minor": 0, "op": "Read", "value": 4096}, {"major": 8, "minor": 0, "op": "Write", "value": 0}]
    v2 = blkio.stats_v2({"io.stat": "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n"}.get)
    assert v2["ioServicedRecursive"] == [{"major": 8, "minor": 0, "op": "Read", "value": 1},
                                         {"major": 8, "minor": 0, "op": "Write", "value": 2}]


def test_hugetlb():
    limits = [{"pageSize": "2MB", "limit": 4194304}, {"pageSize": "1GB", "limit": 0}]
    assert hugetlb.v1(limits) == [("hugetlb.2MB.limit_in_bytes", "4194304"), ("hugetlb.1GB.limit_in_bytes", "0")]
    assert hugetlb.v2(limits) == [("hugetlb.2MB.max", "4194304"), ("hugetlb.1GB.max", "0")]
    with pytest.raises(CgroupError, match="page size"):
        hugetlb.v1([{"pageSize": "2M", "limit": 1}])
    assert [hugetlb.size_name(k) for k in (2048, 1048576, 64)] == ["2MB", "1GB", "64KB"]


def test_hugetlb_page_sizes(tmp_path):
    (tmp_path / "hugepages-2048kB").mkdir()
    (tmp_path / "hugepages-1048576kB").mkdir()
    assert hugetlb.page_sizes(str(tmp_path)) == ["1GB", "2MB"]


def test_freezer():
    assert freezer.v1_write(True) == ("freezer.state", "FROZEN")
    assert freezer.v2_write(False) == ("cgroup.freeze", "0")
    assert freezer.v1_state("FREEZING\n") == "thawed"
    assert freezer.v1_state("FROZEN\n") == "frozen"
    assert freezer.v2_state("populated 1\nfrozen 1\n") == "frozen"
    assert freezer.v2_state("populated 1\nfrozen 0\n") == "thawed"


def test_cpu_stats_v1_and_v2():
    files = {"cpuacct.usage": "300\n", "cpuacct.usage_percpu": "100 200 \n", "cpuacct.usage_sys": "50\n",
             "cpuacct.usage_user": "250\n", "cpu.stat": "nr_periods 4\nnr_throttled 1\nthrottled_time 99\n"}
    st = cpu.stats_v1(files.get)
    assert st["usage"]["total"] == 300 and st["usage"]["percpu"] == [100, 200]
    assert st["throttling"] == {"periods": 4, "throttledPeriods": 1, "throttledTime": 99}
    st = cpu.stats_v2({"cpu.stat": "usage_usec 3\nuser_usec 2\nsystem_usec 1\nnr_periods 0\n"}.get)
    assert st["usage"] == {"total": 3000, "kernel": 1000, "user": 2000}
