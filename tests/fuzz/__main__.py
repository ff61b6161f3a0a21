"""Replay every corpus, then fuzz every target for a bounded time (CI and by hand).

    python -m tests.fuzz [--seconds 20] [--total 600] [--replay-only] [--coverage] [TARGET ...]

For each target: the committed corpus (tests/fuzz/corpus/<name>/, regression
inputs included) and the corpus grown by earlier runs (build/fuzz/corpus/<name>/)
are replayed in this process (a crash names the file), then atheris fuzzes it
for ``--seconds`` in a child process (libFuzzer: -timeout=1 s per input,
-rss_limit_mb=2048), new interesting inputs going to build/fuzz/corpus/<name>/.
A crash is saved under build/fuzz/crashes/<name>/ and the run fails naming that
file; reproduce it with ``python -m tests.fuzz.replay FILE --target NAME``.
``--total`` caps the whole run: the per-target time shrinks to fit.
``--coverage`` reports, after the run, the lines of each target's modules
reached by replaying both corpora (needs coverage.py).
"""
import argparse
import importlib.util
import os
import re
import subprocess
import sys
import time

from . import harness

REPO = os.path.dirname(os.path.dirname(harness.HERE))
BUILD = os.path.join(REPO, "build", "fuzz")


def work_corpus(name):
    return os.path.join(BUILD, "corpus", name)


def crash_dir(name):
    return os.path.join(BUILD, "crashes", name)


def fuzz(name, seconds, target):
    """Run atheris on one target; returns (ok, executions per second, crash file or None, log tail, stats)."""
    corpus = work_corpus(name)
    crashes = crash_dir(name)
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(crashes, exist_ok=True)
    before = set(os.listdir(crashes))
    seeds = os.path.join(harness.CORPUS_DIR, name)
    cmd = [sys.executable, "-m", "tests.fuzz.libfuzzer", name,
           "-max_total_time=%d" % seconds, "-timeout=%d" % max(1, round(harness.MAX_INPUT_SECONDS)),
           "-rss_limit_mb=2048", "-max_len=%d" % target.max_len, "-print_final_stats=1",
           "-artifact_prefix=%s/" % crashes]
    dictionary = os.path.join(harness.HERE, "dicts", name + ".dict")
    if os.path.exists(dictionary):
        cmd.append("-dict=%s" % dictionary)
    cmd += [corpus] + ([seeds] if os.path.isdir(seeds) else [])
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=seconds + 120)
    log = proc.stdout.decode("utf-8", "replace")
    execs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", log)
    rate = int(execs[-1]) / seconds if execs else 0.0
    slowest = re.findall(r"stat::slowest_unit_time_sec:\s*(\d+)", log)
    rss = re.findall(r"stat::peak_rss_mb:\s*(\d+)", log)
    cov = re.findall(r"cov: (\d+) ft: (\d+)", log)
    stats = "slowest input %s s, peak rss %s MiB, libFuzzer cov %s" % (
        slowest[-1] if slowest else "?", rss[-1] if rss else "?", cov[-1][0] if cov else "?")
    new = sorted(set(os.listdir(crashes)) - before)
    written = re.findall(r"Test unit written to (\S+)", log)
    crash = written[-1] if written else (os.path.join(crashes, new[-1]) if new else None)
    return proc.returncode == 0, rate, crash, log[-6000:], stats


def coverage_report(names):
    subprocess.run([sys.executable, "-m", "tests.fuzz.measure"] + list(names), cwd=REPO, check=False)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n")[0])
    ap.add_argument("targets", nargs="*", help="target names (default: all): %s" % " ".join(harness.target_names()))
    ap.add_argument("--seconds", type=int, default=20, help="fuzzing time per target (default 20)")
    ap.add_argument("--total", type=int, default=600, help="cap on the whole run in seconds (default 600)")
    ap.add_argument("--replay-only", action="store_true", help="replay the corpora, do not fuzz")
    ap.add_argument("--coverage", action="store_true", help="report line coverage of the target modules")
    args = ap.parse_args(argv)
    names = args.targets or harness.target_names()
    unknown = set(names) - set(harness.target_names())
    if unknown:
        ap.error("unknown targets: %s" % " ".join(sorted(unknown)))
    started = time.monotonic()
    failures = []
    for name in names:
        target = harness.load(name)
        files = harness.corpus_files(name, [work_corpus(name)])
        try:
            harness.replay(target, files)
        except AssertionError as e:
            print("FAIL replay %s: %s" % (name, e), flush=True)
            failures.append(name)
            continue
        print("ok   replay %-14s %4d inputs" % (name, len(files)), flush=True)
    fuzzing = not args.replay_only
    if fuzzing and importlib.util.find_spec("atheris") is None:
        print("SKIP fuzz: atheris is not installed (pip install -e '.[dev]'; wheels exist for x86_64 "
              "and aarch64 only): the corpora were replayed, nothing was fuzzed", flush=True)
        fuzzing = False
    if fuzzing:
        for i, name in enumerate(names):
            left = args.total - (time.monotonic() - started)
            seconds = min(args.seconds, int(left / (len(names) - i)) - 5)
            if seconds < 1:
                print("SKIP fuzz   %s: --total %d s used up" % (name, args.total), flush=True)
                continue
            ok, rate, crash, log, stats = fuzz(name, seconds, harness.load(name))
            if ok:
                print("ok   fuzz   %-14s %3d s  %7.0f exec/s  (%s)" % (name, seconds, rate, stats), flush=True)
                continue
            failures.append(name)
            print(log, flush=True)
            print("FAIL fuzz   %s: crashing input saved as %s\n     reproduce: python -m tests.fuzz.replay %s "
                  "--target %s" % (name, crash, crash, name), flush=True)
    if args.coverage:
        coverage_report(names)
    if failures:
        print("fuzzing failed: %s" % " ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
