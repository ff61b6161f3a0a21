"""bench/streaming's pure part: medians, ratios and the text of the report.

A run's figures are ``{measure: {peer: [value, ...]}}``: latencies in seconds (lower is better),
throughputs in bytes per second (higher is better).  Nothing here does I/O;
tests/unit/bench/test_streaming_report.py checks it on made-up numbers.
"""
import math
import statistics

# measure -> (label, kind): "latency" (seconds, shown in ms) or "throughput" (bytes/s, shown in MB/s)
MEASURES = (
    ("execsync", "ExecSync true (call -> exit code)", "latency"),
    ("exec_spdy", "exec true over SPDY v4 (Exec -> status)", "latency"),
    ("exec_ws", "exec true over WebSocket v4 (Exec -> status)", "latency"),
    ("exec_spdy_first", "the container's first exec, SPDY (1 sample)", "latency"),
    ("echo_spdy", "1-byte echo through exec cat, SPDY", "latency"),
    ("echo_ws", "1-byte echo through exec cat, WebSocket", "latency"),
    ("pf_spdy", "port-forward download, SPDY", "throughput"),
    ("pf_ws", "port-forward download, WebSocket ?port=", "throughput"),
)
# issue 10: round trips <= containerd's, throughput >= 0.5 x containerd's
TARGETS = {"latency": 1.0, "throughput": 0.5}
MB = 1e6


def median(xs):
    return statistics.median(xs) if xs else math.nan


def ratio(a, b):
    return a / b if b and not math.isnan(a) and not math.isnan(b) else math.nan


def met(kind, r):
    """Whether a gantryd/base ratio meets the issue's target for this kind of measure."""
    if math.isnan(r):
        return None
    return r <= TARGETS[kind] if kind == "latency" else r >= TARGETS[kind]


def table(figures, peers=("gantryd", "containerd"), base="containerd"):
    """Lines: one row per measure with each peer's median (ms or MB/s), the ratio to base and the verdict."""
    other = [p for p in peers if p != base]
    head = "%-46s" % "measure (median)" + "".join("%14s" % p for p in peers)
    head += "".join("%12s" % ("%s/%s" % (p[:4], base[:4])) for p in other) + "  target"
    lines = [head]
    for key, label, kind in MEASURES:
        if key not in figures:
            continue
        meds = {p: median(figures[key].get(p, [])) for p in peers}
        unit = 1000.0 if kind == "latency" else 1 / MB
        cells = "".join("%9.2f %-4s" % (meds[p] * unit, "ms" if kind == "latency" else "MB/s") for p in peers)
        row = "%-46s" % label + cells
        for p in other:
            r = ratio(meds[p], meds[base])
            verdict = {True: "met", False: "MISSED", None: "n/a"}[met(kind, r)]
            row += "%12.2f  %s %s" % (r, ("<=" if kind == "latency" else ">=") + "%.1f" % TARGETS[kind], verdict)
        lines.append(row)
    counts = {key: {p: len(v) for p, v in figures[key].items()} for key in figures}
    lines.append("samples: " + "; ".join("%s %s" % (k, ", ".join("%s %d" % pc for pc in c.items()))
                                         for k, c in counts.items()))
    lines.append("(1 MB = 10^6 bytes)")
    return lines
