"""bench/streaming's report on made-up figures: medians, ratios, the targets' direction per kind."""
import math

import pytest

from bench.streaming import report


@pytest.mark.parametrize("kind,r,expect", [
    ("latency", 0.8, True), ("latency", 1.0, True), ("latency", 1.2, False),
    ("throughput", 0.6, True), ("throughput", 0.5, True), ("throughput", 0.4, False),
    ("latency", math.nan, None),
])
def test_met(kind, r, expect):
    assert report.met(kind, r) is expect


def test_table_rows_units_and_verdicts():
    figures = {"execsync": {"gantryd": [0.010, 0.012, 0.030], "containerd": [0.020, 0.024, 0.022]},
               "pf_spdy": {"gantryd": [40e6, 50e6], "containerd": [200e6, 200e6]}}
    lines = report.table(figures)
    row = [line for line in lines if line.startswith("ExecSync")][0]
    assert "12.00 ms" in row and "22.00 ms" in row and "0.55" in row and row.endswith("met")
    row = [line for line in lines if line.startswith("port-forward download, SPDY")][0]
    assert "45.00 MB/s" in row and "200.00 MB/s" in row and "0.23" in row and row.endswith("MISSED")
    assert not any(line.startswith("exec true over") for line in lines)   # not measured: no row
    assert "execsync gantryd 3, containerd 3" in lines[-2]


def test_ratio_of_missing_figures_is_nan():
    assert math.isnan(report.ratio(1.0, 0)) and math.isnan(report.ratio(math.nan, 1.0))
    lines = report.table({"exec_ws": {"gantryd": [0.01], "containerd": []}})
    assert lines[1].endswith("n/a")
