"""Run every benchmark under bench/ in one go (``make bench``).

    python -m bench [NAME ...]

Each benchmark is a sub-package with its own ``__main__`` (bench/lowlevel,
bench/shim, bench/pull, bench/unpack, bench/cri): it measures Gantry side by
side with its peers (runc, crun, containerd, conmon) in the same run and
prints the ratios.
With names, only those run.  Exits non-zero if any benchmark failed to run
(a missed target is reported in its output, not as a failure).
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def benchmarks():
    return sorted(d for d in os.listdir(HERE) if os.path.isfile(os.path.join(HERE, d, "__main__.py")))


def main(argv):
    names = argv or benchmarks()
    unknown = set(names) - set(benchmarks())
    if unknown:
        sys.stderr.write("bench: no such benchmark: %s (have: %s)\n" % (", ".join(sorted(unknown)), ", ".join(benchmarks())))
        return 1
    failed = []
    for name in names:
        print("=== bench/%s" % name, flush=True)
        rc = subprocess.call([sys.executable, "-m", "bench." + name], cwd=os.path.dirname(HERE))
        if rc != 0:
            failed.append(name)
    if failed:
        sys.stderr.write("bench: failed to run: %s\n" % ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
