"""Benchmark: gantryd vs containerd 1.6 + runc through the CRI, as a kubelet talks to them.

    python -m bench.cri [--rounds 20] [--concurrent 20] [--mem-pods 10] [--json FILE]
                        [--host-network] [--profile FILE] [--gantryd-log-level info|debug]

Needs root, containerd + runc (Debian), docker-registry and skopeo.  Everything runs on 127.0.0.1
and private directories: a docker-registry started here serves a busybox image (Debian's busybox,
tests/fixtures/busybox.py) and a pause image (gantryd's built-in pause program) that the bench
builds; containerd 1.6.20 runs with its own root/state/socket/config, its CRI plugin on a CNI
bridge + portmap conflist of its own (private bridge name, a free 10.231.x.0/24, private IPAM
dir); gantryd (``python -m gantry.highlevel.daemon``) on temp dirs.  Both are torn down after
(pods removed, mounts, bridge, portmap chains, cgroups).  One Python CRI client, one long-lived
gRPC channel per daemon, the same requests for both:

1. cycle: RunPodSandbox, CreateContainer, StartContainer, ExecSync ``true``, StopContainer
   (timeout 0), RemoveContainer, StopPodSandbox, RemovePodSandbox of busybox ``sleep 3600``, in
   three columns: gantryd (default handler gantry-oci), gantryd with handler ``runc``, containerd;
   rounds alternate who goes first; medians per step and of the per-cycle totals (the issue's
   seven steps; "total+exec" adds ExecSync); ratio to containerd (issue 8's target: <= 0.7).
2. time until 20 pods (one container each), started at once from 20 threads, are all running.
3. PSS/RSS of each daemon idle and with 10 running pods, and the PSS of the runtime processes
   per pod: containerd's shim + pause; gantryd's shims + its shim template (counted once, spread
   over the pods) + pause where a pod has one (only pods sharing a PID namespace do).

Pod network: containerd's CNI bridge + portmap; gantryd's built-in bridge (pyroute2, sqlite IPAM,
iptables host-port chains), each on a bridge and a free 10.231.x.0/24 of its own.
``--gantryd-net cni`` gives gantryd the same conflist as containerd (plugins run the same way),
``--gantryd-net none`` loopback only; ``--host-network`` runs hostNetwork pods on both sides (no
pod network at all; containerd needs one otherwise: with a loopback-only conflist its
RunPodSandbox fails, "failed to find network info").  ``--profile FILE`` then runs the cycles
once more on gantryd under py-spy (pip install py-spy) and prints where each call's time goes.
"CPU ms (all)": CPU time of the daemon and everything it started (shims, runtime commands,
containers, CNI plugins), from a cpuacct group the bench puts it in: unlike wall time, it
does not depend on what else runs on the machine.

Figures on this machine (2 cores shared with other agents' work; load never stayed < 1 during a
run), gantryd of main at 6b9e9e5, containerd 1.6.20 + runc 1.1.5, 20 rounds, medians:
2026-12-05 09:21 (load 0.95 at start, 2.5 during): total of the 7 steps gantryd 263 ms,
gantryd/runc 245, containerd 267 (ratios 0.98, 0.92; target 0.7 missed); CPU per cycle 280 /
240 / 306 ms.  Steps (gantryd / containerd): Run 22.6/77.8, Create 47.9/7.3, Start 17.2/59.3,
Exec 48.3/32.2, Stop 21.5/40.7, Remove 121.1/2.8, StopPod 22.3/62.7, RemovePod 12.4/16.1.
20 pods at once all running: 1108 vs 1627 ms (0.68).  Daemon PSS/RSS idle 48.1/65.1 MiB vs
30.4/46.9; with 10 pods 53.8/71.1 vs 35.0/51.6; runtime PSS per pod 3.68 vs 3.52 MiB.
RemoveContainer: 93 of its 121 ms is ``gantry-shim delete`` (a fresh interpreter) that
Shims.release runs on the normal path, because it checks the shim dir while the exiting shim
is still removing it; waiting for the dir (A/B at 09:13, load 3, gantryd without networking
then): total 0.89 -> 0.75 of containerd's, runc handler 0.80 -> 0.58, CPU/cycle 282 -> 150 ms.
Memory (2026-12-05): a hand-written rtnetlink instead of pyroute2 (branch perfd, not merged: pyroute2
is a dependency the project names) measured daemon idle PSS 32.1-33.2 vs containerd 44.0-44.3 MiB.
On main, with pyroute2, malloc arenas capped at 2 and the streaming HTTP side imported with the
first connection (14:10, load 3.5, 3 rounds, gantryd / containerd, MiB): idle PSS 45.1/44.4 (RSS
62.1/45.7), with 10 pods 46.9/50.3, runtime per pod 3.72/3.67 (shim 3.35 + template share vs shim
3.64).  Before (same day, 13:06): idle 43.4/44.8, 10 pods 50.0/49.8, per pod 3.72/3.63.
Then (18:05-18:08, load ~1 at the start, 2-6 during, 15 rounds): pyroute2 loaded with the first
netlink call and without its package's import-all (network/netlinklib.py), mount(2)/umount2(2)
instead of mount(8)/umount(8) children (mounts.py), exec's cgroup entry without an RCU wait.
Built-in bridge: total 141.5 vs 264.5 ms (0.53; gantryd/runc 0.45), CPU per cycle 148 vs 300 ms;
Run 19.0/78.1, Create 43.5/9.3, Start 14.7/60.0, Exec 24.3/36.0, Stop 19.9/33.8, Remove 23.1/2.7,
StopPod 17.6/61.0, RemovePod 3.0/15.3; 20 pods all running 1011 vs 1585 ms (0.64).  Memory PSS/RSS:
idle 39.6/55.2 vs 43.6/44.8, with 10 pods 42.6/58.5 vs 51.2/52.5, runtime per pod 3.84 vs 3.64.
``--gantryd-net cni`` (the same conflist and plugins as containerd): total 149.1 vs 228.7 ms (0.65;
runc 0.57), Run 24.9/68.9, StopPod 27.2/57.6; 20 pods 1001 vs 1470 ms.  RSS stays above containerd's:
a Python gRPC daemon maps libpython and grpcio's cygrpc (9 MiB of it resident after ``import grpc``),
counted whole in RSS; ``import grpc`` and the CRI stubs alone are 34 MiB RSS on this machine.
A bench run with pip's console script as gantry-oci (a later ``pip install -e .`` writes it over the
lean launcher) measured 1.10: the bench now refuses to start then (peers.lean_launcher_problem).
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

from tests.fixtures.registry import start_registry

from . import peers, profile, report, workload

COLUMNS = (("gantryd", "gantryd", ""), ("gantryd/runc", "gantryd", "runc"), ("containerd", "containerd", ""))


def load():
    return "load %.2f %.2f %.2f" % os.getloadavg()


def say(text):
    print(text, flush=True)


def run_cycles(daemons, image, logs, rounds, columns):
    timings = {c: [] for c, _, _ in columns}
    for n in range(rounds):
        order = columns[n % len(columns):] + columns[:n % len(columns)]
        line = []
        for col, who, handler in order:
            t = workload.cycle(daemons[who], image, logs, handler)
            timings[col].append(t)
            line.append("%s %.0f" % (col, sum(t[s] for s in report.ISSUE_STEPS) * 1000))
        say("round %2d (ms, 7 steps): %s   [%s]" % (n + 1, ", ".join(line), load()))
    return timings


def run_concurrent(daemons, image, logs, count, rounds):
    """Median over ``rounds`` alternating runs per daemon of the wall time; "each" from all runs."""
    runs = {"gantryd": [], "containerd": []}
    for n in range(rounds):
        for who in (("gantryd", "containerd") if n % 2 == 0 else ("containerd", "gantryd")):
            r = workload.start_many(daemons[who], image, logs, count)
            workload.remove_pods(daemons[who], r["pods"])
            runs[who].append(r)
            say("%d pods at once on %s: all running after %.0f ms   [%s]" % (count, who, r["wall"] * 1000, load()))
            time.sleep(1)
    return {who: {"wall": report.median([r["wall"] for r in rs]), "each": [e for r in rs for e in r["each"]],
                  "cpu": report.median([r["cpu"] for r in rs])} for who, rs in runs.items()}


def run_memory(daemons, image, logs, pods, idle):
    mem = {}
    for who, peer in daemons.items():
        started = [workload.start_pod(peer, image, logs)[0] for _ in range(pods)]
        time.sleep(2)
        busy, runtime = workload.memory_of(peer)
        workload.remove_pods(peer, started)
        mem[who] = {"daemon_idle": idle[who], "daemon_busy": busy, "pods": pods, "runtime": runtime}
    return mem


def run_profile(gantryd, image, logs, rounds, out):
    """``rounds`` more gantryd cycles (default handler) under py-spy; lines of the breakdown."""
    spy_bin = os.path.join(os.path.dirname(sys.executable), "py-spy")
    spy_bin = spy_bin if os.path.exists(spy_bin) else profile.Sampler.available()
    if not spy_bin:
        return ["profile: py-spy not installed (pip install py-spy)"]
    spy = profile.Sampler(gantryd.pid, out).start(spy_bin)
    time.sleep(1)                     # py-spy attaches
    for _ in range(rounds):
        workload.cycle(gantryd, image, logs)
    err = spy.stop()
    if err:
        return ["profile: py-spy failed: %s" % err]
    with open(out) as f:
        raw = f.read()
    lines = ["where gantryd's time goes (py-spy, wall clock, %d cycles, %s; raw stacks in %s):" % (rounds, load(), out)]
    return lines + profile.breakdown_lines(raw, {s: rounds for s in report.STEPS}, spy.rate)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.cri", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=2, help="untimed cycles per column first")
    ap.add_argument("--concurrent", type=int, default=20)
    ap.add_argument("--concurrent-rounds", type=int, default=3)
    ap.add_argument("--mem-pods", type=int, default=10)
    ap.add_argument("--host-network", action="store_true", help="pods in the host's network namespace on both "
                    "sides (containerd sets up no CNI network, gantryd pins no network namespace)")
    ap.add_argument("--gantryd-net", choices=("bridge", "cni", "none"), default="bridge",
                    help="gantryd's pod network: its built-in bridge (default), the same CNI conflist as "
                    "containerd's (bridge + portmap), or loopback only")
    ap.add_argument("--gantryd-log-level", choices=("debug", "info"), default="info")
    ap.add_argument("--no-runc", action="store_true", help="leave out the gantryd/runc column")
    ap.add_argument("--profile", metavar="FILE", help="then run the cycles again on gantryd under py-spy, "
                    "keep its raw stacks in FILE and print where each call's time goes")
    ap.add_argument("--keep-gantryd-log", metavar="FILE", help="copy gantryd's log here at the end")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("bench.cri: needs root (containerd, gantryd, mounts, cgroups)", file=sys.stderr)
        return 1
    lean = peers.lean_launcher_problem()
    if lean:
        print("bench.cri: %s" % lean, file=sys.stderr)
        return 1
    for tool in ("containerd", "runc", "skopeo"):
        if not shutil.which(tool):
            print("bench.cri: %s not installed" % tool, file=sys.stderr)
            return 1
    columns = [c for c in COLUMNS if not (args.no_runc and c[2] == "runc")]
    work = tempfile.mkdtemp(prefix="bcri-", dir="/tmp")
    logs = os.path.join(work, "logs")
    daemons = {}
    say("bench.cri: %s, workdir %s" % (load(), work))
    try:
        with start_registry(os.path.join(work, "registry")) as reg:
            image, pause_ref = peers.push_images(reg, work)
            g_subnet = peers.free_subnet()
            daemons["gantryd"] = peers.Gantryd(os.path.join(work, "g"), reg.host, args.gantryd_log_level,
                                               net=args.gantryd_net, subnet=g_subnet).start()
            daemons["containerd"] = peers.Containerd(os.path.join(work, "c"), reg.host, pause_ref,
                                                     subnet=peers.free_subnet(exclude=[g_subnet])).start()
            for peer in daemons.values():
                peer.host_network = args.host_network
            for peer in daemons.values():
                peer.pull(image)
            for _ in range(args.warmup):
                for _col, who, handler in columns:
                    workload.cycle(daemons[who], image, logs, handler)
            time.sleep(2)
            idle = {who: peers.smaps(peer.pid) for who, peer in daemons.items()}
            say("images pushed and pulled, %d warm-up cycles per column; %s" % (args.warmup, load()))
            timings = run_cycles(daemons, image, logs, args.rounds, columns)
            concurrent = run_concurrent(daemons, image, logs, args.concurrent, args.concurrent_rounds)
            mem = run_memory(daemons, image, logs, args.mem_pods, idle)
            say("")
            for line in report.cycle_table(timings):
                say(line)
            say("")
            for line in report.concurrent_lines(concurrent, args.concurrent):
                say(line)
            say("")
            for line in report.memory_lines(mem):
                say(line)
            say("pod network: %s; gantryd log level %s; %s" % (
                "host (hostNetwork)" if args.host_network else "containerd: CNI bridge + portmap, gantryd: %s" % {
                    "bridge": "built-in bridge", "cni": "the same CNI conflist", "none": "loopback only"}[
                    args.gantryd_net], args.gantryd_log_level, load()))
            if args.profile:
                say("")
                for line in run_profile(daemons["gantryd"], image, logs, args.rounds, args.profile):
                    say(line)
            if args.json:
                with open(args.json, "w") as f:
                    json.dump({"cycles": timings, "concurrent": concurrent, "memory": mem,
                               "summary": {c: report.summarize(t) for c, t in timings.items()}}, f, indent=1)
    finally:
        for peer in daemons.values():
            try:
                if args.keep_gantryd_log and peer.name == "gantryd":
                    with open(args.keep_gantryd_log, "w") as f:
                        f.write(peer.log_text())
                peer.stop()
            except Exception as e:   # keep cleaning up the other
                print("bench.cri: cleanup of %s: %s" % (peer.name, e), file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
