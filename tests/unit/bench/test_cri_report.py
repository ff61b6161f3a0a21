"""bench/cri's pure part (bench/cri/report.py): statistics and report text on made-up timings."""
import math

import pytest

from bench.cri import report


def cycle(scale=1.0, **override):
    t = {s: 0.010 * scale for s in report.STEPS}
    t.update(override)
    return t


@pytest.mark.parametrize("xs, med, p", [
    ([], math.nan, math.nan),
    ([3.0], 3.0, 3.0),
    ([1.0, 2.0, 3.0, 4.0], 2.5, 4.0),
    (list(range(1, 11)), 5.5, 9),
    (list(range(1, 21)), 10.5, 18),
])
def test_median_p90(xs, med, p):
    assert (math.isnan(report.median(xs)) and math.isnan(med)) or report.median(xs) == med
    assert (math.isnan(report.p90(xs)) and math.isnan(p)) or report.p90(xs) == p


def test_ratio_of_nothing_is_nan():
    assert report.ratio(1.0, 2.0) == 0.5
    assert math.isnan(report.ratio(1.0, 0.0))
    assert math.isnan(report.ratio(math.nan, 1.0))


def test_totals_leave_out_exec_and_incomplete_cycles():
    full = cycle(ExecSync=1.0)
    partial = {"RunPodSandbox": 5.0}
    assert report.totals([full, partial]) == [pytest.approx(0.070)]
    assert report.totals([full], report.STEPS) == [pytest.approx(1.070)]


def test_summary_is_median_of_totals_not_total_of_medians():
    # two cycles whose slow steps differ: the sum of step medians would be lower than any real cycle
    a = cycle(RunPodSandbox=1.0)
    b = cycle(CreateContainer=1.0)
    c = cycle(StopPodSandbox=1.0)
    s = report.summarize([a, b, c])
    assert s["RunPodSandbox"] == pytest.approx(0.010)
    assert s["total"] == pytest.approx(1.060)
    assert s["total+exec"] == pytest.approx(1.070)
    assert math.isnan(s["cpu"])
    assert report.summarize([dict(a, cpu=0.3), dict(b, cpu=0.1), c])["cpu"] == pytest.approx(0.2)


def test_cycle_table_ratios_and_target():
    lines = report.cycle_table({"gantryd": [cycle(0.5)] * 3, "gantryd/runc": [cycle(2.0)], "containerd": [cycle()] * 3})
    head, rows = lines[0], {line.split()[0]: line.split() for line in lines[1:]}
    assert head.split()[3:] == ["gantryd", "gantryd/runc", "containerd", "gantryd/ctrd", "runc/ctrd"]
    assert rows["total"][1:] == ["35.0", "140.0", "70.0", "0.50", "2.00"]
    assert rows["ExecSync"][1:4] == ["5.0", "20.0", "10.0"]
    assert lines[11].split()[:3] == ["CPU", "ms", "(all)"] and lines[11].split()[3] == "nan"
    assert "target gantryd total <= 0.7 x containerd's: met (0.50)" in lines
    assert "target gantryd/runc total <= 0.7 x containerd's: MISSED (2.00)" in lines
    assert "cycles per column: gantryd 3, gantryd/runc 1, containerd 3" in lines


def test_cycle_table_without_the_base_has_no_ratios():
    lines = report.cycle_table({"gantryd": [cycle()]})
    assert len(lines[0].split()) == 4
    assert not any(line.startswith("target") for line in lines)


def test_concurrent_lines():
    lines = report.concurrent_lines({"gantryd": {"wall": 0.6, "each": [0.2, 0.4, 0.6], "cpu": 0.25},
                                     "containerd": {"wall": 1.2, "each": [0.5, 1.0, 1.2]}}, 3)
    assert lines[0].startswith("3 pods at once")
    assert lines[1].split() == ["gantryd", "600ms", "400ms", "600ms", "250ms"]
    assert lines[2].split()[-1] == "nanms"
    assert lines[-1] == "ratio gantryd/containerd all running: 0.50"


def test_runtime_pss_per_pod_counts_every_process_once():
    MiB = report.MiB
    m = {"daemon_idle": (40 * MiB, 50 * MiB), "daemon_busy": (42 * MiB, 52 * MiB), "pods": 4,
         "runtime": {"template": [(6 * MiB, 9 * MiB)], "shim": [(2 * MiB, 8 * MiB)] * 4, "pause": []}}
    assert report.runtime_pss_per_pod(m) == pytest.approx(3.5 * MiB)
    lines = report.memory_lines({"gantryd": m})
    assert lines[1].split()[:8] == ["gantryd", "40.0", "/", "50.0", "42.0", "/", "52.0", "3.50"]
    assert "4 shim 2.00 MiB PSS each (median)" in lines[2]
    assert "pause" not in lines[2]
    assert math.isnan(report.runtime_pss_per_pod(dict(m, pods=0)))


RAW = """\
Thread._bootstrap (threading.py:1002);_worker (concurrent/futures/thread.py:83);RuntimeService.RemoveContainer (highlevel/cri/runtime_service.py:129);Containers.remove (highlevel/runtime/containers.py:299);Shims.release (highlevel/runtime/shims.py:87);run (subprocess.py:550) 30
Thread._bootstrap (threading.py:1002);RuntimeService.RemoveContainer (highlevel/cri/runtime_service.py:129);Containers.remove (highlevel/runtime/containers.py:299);Shims.release (highlevel/runtime/shims.py:87);run (subprocess.py:548) 10
Thread._bootstrap (threading.py:1002);RuntimeService.RemoveContainer (highlevel/cri/runtime_service.py:129);Containers.remove (highlevel/runtime/containers.py:300) 5
Thread._bootstrap (threading.py:1002);RuntimeService.ExecSync (highlevel/cri/runtime_service.py:178);exec_sync (highlevel/runtime/execsync.py:43);ShimClient.start (highlevel/shimclient.py:197);ShimClient.call (highlevel/shimclient.py:187);select (selectors.py:469) 20
Thread._bootstrap (threading.py:1002);Thread.run (threading.py:982);_wait (highlevel/runtime/shims.py:110) 999
garbage line
"""


def test_profile_breakdown_groups_by_deepest_own_frame_and_callee():
    from bench.cri import profile
    data = profile.breakdown(RAW)
    assert set(data) == {"RemoveContainer", "ExecSync"}
    assert data["RemoveContainer"] == {
        "Containers.remove > Shims.release > run (subprocess.py)": 40,
        "Containers.remove": 5}
    assert data["ExecSync"] == {"exec_sync > ShimClient.start": 20}
    lines = profile.breakdown_lines(RAW, {"RemoveContainer": 2, "ExecSync": 4, "CreateContainer": 3}, rate=250)
    assert lines == [
        "RemoveContainer: 90.0 ms per call sampled",
        "    80.0 ms  Containers.remove > Shims.release > run (subprocess.py)",
        "    10.0 ms  Containers.remove",
        "ExecSync: 20.0 ms per call sampled",
        "    20.0 ms  exec_sync > ShimClient.start",
    ]
