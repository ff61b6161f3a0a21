"""Line coverage of each target's modules reached by replaying its corpora (committed and grown),
and, with ``--fuzz SECONDS``, each target's executions per second first.

    python -m tests.fuzz.measure [TARGET ...]              (what ``python -m tests.fuzz --coverage`` runs)
    python -m tests.fuzz.measure --fuzz 60 [--markdown] [TARGET ...]

``--fuzz`` runs atheris on each target for that long (growing build/fuzz/corpus/, as
``make fuzz`` does) and takes libFuzzer's count of executions; the coverage replay
then runs in a fresh process, started before anything of gantry is imported, so
module-level lines count too.  ``--markdown`` prints the table of tests/fuzz/README.md.
"""
import argparse
import json
import subprocess
import sys


def coverage_of(names):
    """{target: [(module, lines reached, lines)]} from a replay of both corpora under coverage.py."""
    import coverage

    cov = coverage.Coverage(data_file=None)
    cov.start()
    from . import harness
    from .__main__ import work_corpus

    targets = {n: harness.load(n) for n in names}
    for name in names:
        harness.replay(targets[name], harness.corpus_files(name, [work_corpus(name)]), measure_memory=False)
    cov.stop()
    out = {}
    for name in names:
        rows = []
        for mod in targets[name].modules:
            _, statements, _, missing, _ = cov.analysis2(sys.modules[mod].__file__)
            rows.append((mod, len(statements) - len(missing), len(statements)))
        out[name] = rows
    return out


def _pct(done, total):
    return 100.0 * done / max(1, total)


def main(argv):
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz.measure")
    ap.add_argument("targets", nargs="*")
    ap.add_argument("--fuzz", type=int, default=0, metavar="SECONDS", help="fuzz each target this long first")
    ap.add_argument("--markdown", action="store_true", help="print the README table")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)   # the child's answer
    args = ap.parse_args(argv)
    from . import harness

    names = args.targets or harness.target_names()
    if args.json:
        print(json.dumps(coverage_of(names)))
        return 0
    rates = {}
    if args.fuzz:
        from .__main__ import fuzz

        for name in names:
            ok, rate, crash, log, stats = fuzz(name, args.fuzz, harness.load(name))
            rates[name] = rate
            print("fuzzed %-14s %3d s %7.0f exec/s %s%s" % (name, args.fuzz, rate, stats,
                                                          "" if ok else "  CRASH: %s" % crash), flush=True)
    proc = subprocess.run([sys.executable, "-m", "tests.fuzz.measure", "--json"] + names,
                          stdout=subprocess.PIPE, check=True)
    covered = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    if args.markdown:
        print("| target | exec/s | module | lines reached |")
        print("|---|---:|---|---:|")
        for name in names:
            for i, (mod, done, total) in enumerate(covered[name]):
                rate = ("%.0f" % rates[name] if name in rates else "") if i == 0 else ""
                print("| %s | %s | `%s` | %d/%d (%.0f%%) |" % (name if i == 0 else "", rate,
                                                             mod.replace("gantry.", ""), done, total, _pct(done, total)))
        return 0
    print("coverage of the target modules (replay of the committed and grown corpora):")
    for name in names:
        for mod, done, total in covered[name]:
            print("  %-14s %-44s %4d/%-4d lines %5.1f%%" % (name, mod, done, total, _pct(done, total)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
