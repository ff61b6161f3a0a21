"""The one place the shim template leans on CPython internals, each falling back to the plain path.

The template (template.py) makes forked shims cheap with two tricks that depend on how
CPython 3.11 works inside, not on any documented API:

- warm-up (warmup.py): run a shim's code paths once so the interpreter's in-place bytecode
  specialisation happens in the template, before the fork, not in every shim's copy;
- heap fill (heapfill.py): occupy the allocator's free small-object slots, read from
  ``sys._debugmallocstats()``, so a shim's new objects land on pages of its own.

Both only change memory sharing and speed.  ``run`` takes each one only when
``GANTRY_NO_TRICKS`` is unset, and turns any failure into a line on stderr and the plain
path: a Python upgrade may cost speed, never correctness (tests/integration/shim/
test_no_tricks.py runs shims from a template both ways).
"""
import os
import sys

ENV = "GANTRY_NO_TRICKS"


def enabled():
    return not os.environ.get(ENV)


def run(name, fn, *args):
    """fn(*args) when tricks are enabled; None when disabled or when it fails (said on stderr)."""
    if not enabled():
        return None
    try:
        return fn(*args)
    except Exception as e:   # a changed interpreter internal: go on without the trick
        try:
            sys.stderr.write("gantry-shim: start-up trick %s skipped: %s: %s\n" % (name, type(e).__name__, e))
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        return None
