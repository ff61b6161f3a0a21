"""Benchmark: memory and start latency of gantry-shim beside containerd-shim-runc-v2 and conmon.

    python -m bench.shim [--count 20] [--workdir /tmp/gsb] [--json FILE]

In one run, each peer starts COUNT idle busybox containers (``sleep``) with runc as the OCI runtime:

- gantry-shim, template: gantryd's way.  ``gantry-shim template`` is started once; for each
  container the clock runs from "ask the template for a shim" (Spawn) through Create and Start
  to "container running";
- gantry-shim, fresh: ``gantry-shim start`` (a fresh interpreter per shim, the standalone way),
  then Create and Start;
- containerd-shim-runc-v2: containerd 1.6 from the Debian package, on its own root, state and
  socket (CRI plugin off), ``ctr run -d --rootfs``; timed as the ``ctr run -d`` command, and also
  less the start of ctr itself (``ctr version``), which a daemon would not pay;
- conmon (Debian package, if installed): started as CRI-O starts it (sync pipe), then
  ``runc start``; timed from spawning conmon to ``runc start`` returning.

Per shim: PSS and RSS from /proc/PID/smaps_rollup once all are idle (median), and for the
template shims again after 100 State calls each (copy-on-write growth).  Targets (issue 5): PSS
per shim ≤ containerd's shim and ≤ 3 MiB; latency ≤ 50 ms.  Prints a table and the ratios.
Needs root; touches only its workdir and the processes it starts.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from gantry.highlevel import shimclient

from tests.fixtures import bundle as bundles
from tests.fixtures import busybox

BIN = os.path.dirname(sys.executable)
SHIM = os.path.join(BIN, "gantry-shim")
RUNC = shutil.which("runc") or "/usr/sbin/runc"
MiB = 1024 * 1024


def smaps(pid):
    """(PSS, RSS) in bytes of a process."""
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Pss", "Rss"):
                out[k] = int(v.split()[0]) * 1024
    return out["Pss"], out["Rss"]


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def p90(xs):
    return sorted(xs)[max(0, int(len(xs) * 0.9) - 1)] if xs else float("nan")


def make_bundle(workdir, rootfs, name, args=("sleep", "100000")):
    return bundles.write_bundle(os.path.join(workdir, name), rootfs, bundles.default_config(list(args)))


# -- gantry -------------------------------------------------------------------------------------
def _run_gantry(tdir, rootfs, count, ask, after=None):
    """count containers, each: ask(i, bundle) -> (address, shim pid), then Create and Start.
    after(res, clients), if given, measures more while they run."""
    res = {"latency_ms": [], "spawn_ms": [], "pids": []}
    clients = []
    try:
        for i in range(count):
            b = make_bundle(tdir, rootfs, "b%d" % i)
            t0 = time.perf_counter()
            address, pid = ask(i, b)
            t1 = time.perf_counter()
            c = shimclient.ShimClient(address)
            c.create()
            c.start()
            t2 = time.perf_counter()
            res["spawn_ms"].append((t1 - t0) * 1000)
            res["latency_ms"].append((t2 - t0) * 1000)
            res["pids"].append(pid)
            clients.append(c)
        time.sleep(1.0)
        mem = [smaps(p) for p in res["pids"]]
        res["pss"] = [m[0] for m in mem]
        res["rss"] = [m[1] for m in mem]
        if after:
            after(res, clients)
    finally:
        for c in clients:
            try:
                c.delete(force=True)
            except Exception as e:  # keep cleaning up
                print("cleanup: %s" % e, file=sys.stderr)
    return res


def bench_gantry_template(workdir, rootfs, count):
    tdir = os.path.join(workdir, "gt")
    os.makedirs(tdir)
    template = shimclient.start_template(os.path.join(tdir, "tpl.sock"))
    t = shimclient.TemplateClient(os.path.join(tdir, "tpl.sock"))

    def ask(i, bundle):
        r = t.spawn("gt%d" % i, bundle, RUNC, os.path.join(tdir, "s%d" % i), runtime_root=os.path.join(tdir, "rt"),
                    log_path=os.path.join(tdir, "c%d.log" % i))
        return r.address, r.pid

    def after(res, clients):
        res["template_pss"] = smaps(template.pid)[0]
        for c in clients:
            for _ in range(100):
                c.state()
        res["pss_after_100_calls"] = [smaps(p)[0] for p in res["pids"]]
    try:
        return _run_gantry(tdir, rootfs, count, ask, after)
    finally:
        template.kill()
        template.wait()


def bench_gantry_fresh(workdir, rootfs, count):
    tdir = os.path.join(workdir, "gf")
    os.makedirs(tdir)

    def ask(i, bundle):
        out = subprocess.run([SHIM, "start", "--id", "gf%d" % i, "--bundle", bundle, "--runtime", RUNC,
                              "--runtime-root", os.path.join(tdir, "rt"), "--state-dir", os.path.join(tdir, "s%d" % i),
                              "--log-path", os.path.join(tdir, "c%d.log" % i)], capture_output=True, text=True, check=True)
        address = out.stdout.strip()
        return address, shimclient.ShimClient(address).connect().shim_pid
    return _run_gantry(tdir, rootfs, count, ask)


# -- containerd ----------------------------------------------------------------------------------
CONTAINERD_CONFIG = """version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{d}/c.sock"
[ttrpc]
  address = "{d}/c.sock.ttrpc"
[debug]
  address = "{d}/debug.sock"
"""


def _pids_by_cmdline(needle, comm_prefix):
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % p) as f:
                comm = f.read().strip()
            with open("/proc/%s/cmdline" % p, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if comm.startswith(comm_prefix) and needle.encode() in cmd:
            pids.append(int(p))
    return pids


def bench_containerd(workdir, rootfs, count):
    if not shutil.which("containerd") or not shutil.which("ctr"):
        return {"skipped": "containerd or ctr not installed"}
    d = os.path.join(workdir, "ctd")
    os.makedirs(d)
    with open(os.path.join(d, "config.toml"), "w") as f:
        f.write(CONTAINERD_CONFIG.format(d=d))
    log = open(os.path.join(d, "containerd.log"), "w")
    daemon = subprocess.Popen(["containerd", "--config", os.path.join(d, "config.toml")], stdout=log, stderr=log,
                              start_new_session=True)
    ctr = ["ctr", "--address", os.path.join(d, "c.sock"), "-n", "bench"]
    res = {"latency_ms": [], "ctr_start_ms": []}
    ids = []
    try:
        deadline = time.monotonic() + 20
        while subprocess.run(ctr + ["version"], capture_output=True).returncode != 0:
            if time.monotonic() > deadline or daemon.poll() is not None:
                return {"skipped": "containerd did not start (see %s/containerd.log)" % d}
            time.sleep(0.1)
        for i in range(count):
            cid = "ctd%d" % i
            t0 = time.perf_counter()
            subprocess.run(ctr + ["version"], capture_output=True, check=True)
            t1 = time.perf_counter()
            out = subprocess.run(ctr + ["run", "-d", "--rootfs", rootfs, cid, "/bin/sleep", "100000"], capture_output=True, text=True)
            t2 = time.perf_counter()
            if out.returncode != 0:
                return {"skipped": "ctr run failed: %s" % out.stderr.strip()}
            ids.append(cid)
            res["ctr_start_ms"].append((t1 - t0) * 1000)
            res["latency_ms"].append((t2 - t1) * 1000)
        time.sleep(1.0)
        pids = _pids_by_cmdline(os.path.join(d, "c.sock"), "containerd-shim")
        res["pids"] = pids
        mem = [smaps(p) for p in pids]
        res["pss"] = [m[0] for m in mem]
        res["rss"] = [m[1] for m in mem]
        res["latency_less_ctr_ms"] = [a - b for a, b in zip(res["latency_ms"], res["ctr_start_ms"], strict=True)]
    finally:
        for cid in ids:
            subprocess.run(ctr + ["task", "kill", "-s", "SIGKILL", cid], capture_output=True)
        for cid in ids:
            for _ in range(50):
                if subprocess.run(ctr + ["task", "delete", cid], capture_output=True).returncode == 0:
                    break
                time.sleep(0.1)
            subprocess.run(ctr + ["container", "delete", cid], capture_output=True)
        daemon.terminate()
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        for pid in _pids_by_cmdline(os.path.join(d, "c.sock"), "containerd-shim"):
            os.kill(pid, signal.SIGKILL)
        log.close()
    return res


# -- conmon ----------------------------------------------------------------------------------------
def bench_conmon(workdir, rootfs, count):
    conmon = shutil.which("conmon")
    if not conmon:
        return {"skipped": "conmon not installed (Debian package conmon)"}
    d = os.path.join(workdir, "cm")
    os.makedirs(d)
    root = os.path.join(d, "rt")
    res = {"latency_ms": [], "pids": []}
    ids = []
    try:
        for i in range(count):
            cid = "cm%d" % i
            b = make_bundle(d, rootfs, "b%d" % i)
            r, w = os.pipe()
            t0 = time.perf_counter()
            subprocess.run([conmon, "--api-version", "1", "-c", cid, "-u", cid, "-n", cid, "-r", RUNC,
                            "--runtime-arg", "--root", "--runtime-arg", root, "-b", b,
                            "-p", os.path.join(d, cid + ".pid"), "-P", os.path.join(d, cid + ".conmon.pid"),
                            "-l", "k8s-file:" + os.path.join(d, cid + ".log"), "--exit-dir", d,
                            "--socket-dir-path", d, "--log-level", "error"],
                           pass_fds=[w], env=dict(os.environ, _OCI_SYNCPIPE=str(w)), check=True,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            os.close(w)
            reply = b""
            while b"}" not in reply:
                chunk = os.read(r, 4096)
                if not chunk:
                    break
                reply += chunk
            os.close(r)
            ids.append(cid)
            if b'"data"' not in reply or b"-" in reply.split(b'"data"')[1][:4]:
                return {"skipped": "conmon: runtime create failed: %r" % reply}
            subprocess.run([RUNC, "--root", root, "start", cid], check=True, capture_output=True)
            t1 = time.perf_counter()
            res["latency_ms"].append((t1 - t0) * 1000)
            with open(os.path.join(d, cid + ".conmon.pid")) as f:
                res["pids"].append(int(f.read()))
        time.sleep(1.0)
        mem = [smaps(p) for p in res["pids"]]
        res["pss"] = [m[0] for m in mem]
        res["rss"] = [m[1] for m in mem]
    finally:
        for cid in ids:
            subprocess.run([RUNC, "--root", root, "kill", cid, "KILL"], capture_output=True)
        time.sleep(0.3)
        for cid in ids:
            subprocess.run([RUNC, "--root", root, "delete", "--force", cid], capture_output=True)
        for pid in res["pids"]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return res


def report(results, count):
    rows = [("gantry-shim (template fork)", "gantry_template"), ("gantry-shim start (fresh)", "gantry_fresh"),
            ("containerd-shim-runc-v2", "containerd"), ("conmon", "conmon")]
    print("\n%d idle busybox containers per peer, runtime runc; medians (p90)\n" % count)
    print("%-30s %10s %10s %22s" % ("peer", "PSS MiB", "RSS MiB", "ask -> running, ms"))
    for label, key in rows:
        r = results.get(key, {})
        if "skipped" in r or "pss" not in r:
            print("%-30s %s" % (label, r.get("skipped", "not run")))
            continue
        print("%-30s %10.2f %10.2f %12.1f (%5.1f)" % (label, median(r["pss"]) / MiB, median(r["rss"]) / MiB,
                                                       median(r["latency_ms"]), p90(r["latency_ms"])))
    g = results.get("gantry_template", {})
    c = results.get("containerd", {})
    m = results.get("conmon", {})
    if "pss" in g:
        print("\ngantry template: spawn to a serving socket %.1f ms median; template itself %.2f MiB PSS"
              " (%.2f MiB per shim with it spread over the %d); PSS growth after 100 calls per shim %.3f MiB median" % (
                  median(g["spawn_ms"]), g["template_pss"] / MiB, (median(g["pss"]) + g["template_pss"] / count) / MiB,
                  count, median([b - a for a, b in zip(g["pss"], g["pss_after_100_calls"], strict=True)]) / MiB))
    if "pss" in c:
        print("containerd: ctr's own start %.1f ms; ctr run -d less that: %.1f ms median" % (
            median(c["ctr_start_ms"]), median(c["latency_less_ctr_ms"])))
    if "pss" in g:
        gp, gl = median(g["pss"]), median(g["latency_ms"])
        for name, r in (("containerd-shim-runc-v2", c), ("conmon", m)):
            if "pss" in r:
                print("ratio gantry/%s: PSS %.2f, latency %.2f" % (name, gp / median(r["pss"]), gl / median(r["latency_ms"])))
        ok_pss = gp <= 3 * MiB and ("pss" not in c or gp <= median(c["pss"]))
        print("targets: PSS <= containerd's shim and <= 3 MiB: %s (%.2f MiB); latency <= 50 ms: %s (%.1f ms)" % (
            "met" if ok_pss else "MISSED", gp / MiB, "met" if gl <= 50 else "MISSED", gl))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.shim", description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--workdir", default="")
    ap.add_argument("--json", default="")
    ap.add_argument("--only", default="", help="comma list of gantry_template,gantry_fresh,containerd,conmon")
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("bench.shim needs root")
    workdir = a.workdir or tempfile.mkdtemp(prefix="gsb-", dir="/tmp")
    os.makedirs(workdir, exist_ok=True)
    rootfs = busybox.cached_rootfs(workdir)
    peers = {"gantry_template": bench_gantry_template, "gantry_fresh": bench_gantry_fresh,
             "containerd": bench_containerd, "conmon": bench_conmon}
    wanted = a.only.split(",") if a.only else list(peers)
    results = {}
    try:
        for key in wanted:
            print("running %s ..." % key, file=sys.stderr)
            results[key] = peers[key](workdir, rootfs, a.count)
    finally:
        report(results, a.count)
        if a.json:
            with open(a.json, "w") as f:
                json.dump(results, f, indent=1)
        if not a.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
