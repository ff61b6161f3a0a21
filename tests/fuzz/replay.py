"""Run one input against a target, with the traceback (reproducing a crash by hand).

    python -m tests.fuzz.replay FILE --target NAME
"""
import argparse
import sys

from . import harness


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz.replay")
    ap.add_argument("files", nargs="+")
    ap.add_argument("--target", required=True, choices=harness.target_names())
    args = ap.parse_args(argv)
    target = harness.load(args.target)
    for path in args.files:
        with open(path, "rb") as f:
            target.run(f.read())   # a crash propagates with its traceback
        print("ok %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
