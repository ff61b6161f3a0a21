"""bench/cri's pure part: the statistics of the timings and the text of the report.

A run's timings are ``{column: [{step: seconds, ...}, ...]}``: one dict per cycle of a
pod + container, per column (``gantryd``, ``gantryd/runc``, ``containerd``).  Nothing
here does I/O; tests/unit/bench/test_cri_report.py checks it on made-up numbers.
"""
import math
import statistics

# The cycle, in order: the issue's seven steps plus ExecSync (reported, and totalled apart).
STEPS = ("RunPodSandbox", "CreateContainer", "StartContainer", "ExecSync", "StopContainer",
         "RemoveContainer", "StopPodSandbox", "RemovePodSandbox")
ISSUE_STEPS = tuple(s for s in STEPS if s != "ExecSync")
TARGET = 0.7          # issue 8: gantryd's total <= 0.7 x containerd's
MiB = 1024 * 1024


def median(xs):
    return statistics.median(xs) if xs else math.nan


def p90(xs):
    """The nearest-rank 90th percentile (nan for no values)."""
    if not xs:
        return math.nan
    s = sorted(xs)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


def ratio(a, b):
    return a / b if b and not math.isnan(a) and not math.isnan(b) else math.nan


def totals(cycles, steps=ISSUE_STEPS):
    """Per cycle: the sum of the given steps (a cycle missing a step is left out)."""
    return [sum(c[s] for s in steps) for c in cycles if all(s in c for s in steps)]


def summarize(cycles):
    """{step: median s, ..., "total": median of per-cycle totals of the issue's steps,
    "total+exec": the same with ExecSync, "cpu": median CPU s per cycle (nan if not measured)}.
    Medians of totals, not totals of medians."""
    out = {s: median([c[s] for c in cycles if s in c]) for s in STEPS}
    out["total"] = median(totals(cycles, ISSUE_STEPS))
    out["total+exec"] = median(totals(cycles, STEPS))
    out["cpu"] = median([c["cpu"] for c in cycles if "cpu" in c and not math.isnan(c["cpu"])])
    return out


def cycle_table(timings, base="containerd"):
    """Lines of the per-step table: medians in ms per column, then the ratio of each other
    column to ``base`` (when base is a column)."""
    cols = list(timings)
    sums = {c: summarize(timings[c]) for c in cols}
    others = [c for c in cols if c != base and base in sums]
    head = "%-18s" % "step (median ms)" + "".join("%15s" % c for c in cols)
    head += "".join("%16s" % ("%s/%s" % (_short(c), _short(base))) for c in others)
    lines = [head]
    for row in STEPS + ("total", "total+exec", "cpu"):
        label = "CPU ms (all)" if row == "cpu" else row
        line = "%-18s" % label + "".join("%15.1f" % (sums[c][row] * 1000) for c in cols)
        line += "".join("%16.2f" % ratio(sums[c][row], sums[base][row]) for c in others)
        lines.append(line)
    n = {c: len(timings[c]) for c in cols}
    lines.append("cycles per column: %s" % ", ".join("%s %d" % (c, n[c]) for c in cols))
    for c in others:
        r = ratio(sums[c]["total"], sums[base]["total"])
        lines.append("target %s total <= %.1f x %s's: %s (%.2f)" % (c, TARGET, base,
                                                                     "met" if r <= TARGET else "MISSED", r))
    return lines


def _short(column):
    return column.replace("gantryd/", "").replace("containerd", "ctrd")


def concurrent_lines(results, count, base="containerd"):
    """results: {column: {"wall": s, "each": [s per pod], "cpu": s}} -> lines."""
    lines = ["%-16s %12s %14s %14s %14s" % ("%d pods at once" % count, "all running", "per pod median",
                                             "per pod p90", "CPU (all)")]
    for c, r in results.items():
        lines.append("%-16s %10.0fms %12.0fms %12.0fms %12.0fms" % (
            c, r["wall"] * 1000, median(r["each"]) * 1000, p90(r["each"]) * 1000, r.get("cpu", math.nan) * 1000))
    for c, r in results.items():
        if c != base and base in results:
            lines.append("ratio %s/%s all running: %.2f" % (c, base, ratio(r["wall"], results[base]["wall"])))
    return lines


def memory_lines(mem):
    """mem: {column: {"daemon_idle": (pss, rss), "daemon_busy": (pss, rss), "pods": n,
    "runtime": {"kind": [(pss, rss), ...], ...}}} -> lines (MiB)."""
    lines = ["%-12s %22s %22s %26s" % ("memory MiB", "daemon idle PSS/RSS", "daemon N pods PSS/RSS",
                                        "runtime PSS per pod")]
    for c, m in mem.items():
        per_pod = runtime_pss_per_pod(m)
        lines.append("%-12s %11.1f / %-8.1f %11.1f / %-8.1f %14.2f (%d pods)" % (
            c, m["daemon_idle"][0] / MiB, m["daemon_idle"][1] / MiB, m["daemon_busy"][0] / MiB,
            m["daemon_busy"][1] / MiB, per_pod / MiB, m["pods"]))
        parts = ", ".join("%d %s %.2f MiB PSS each (median)" % (len(v), k, median([p for p, _ in v]) / MiB)
                          for k, v in sorted(m["runtime"].items()) if v)
        lines.append("%12s %s" % ("", parts or "no runtime processes found"))
    return lines


def runtime_pss_per_pod(m):
    """Sum of the PSS of every runtime process (shims, pause, a template counted once) / pods."""
    total = sum(p for procs in m["runtime"].values() for p, _ in procs)
    return total / m["pods"] if m["pods"] else math.nan
