"""The fuzzing harness framework: targets, one-input runs, corpus replay.

A target is one module ``tests/fuzz/fuzz_<name>.py`` defining ``TARGET = Target(...)``:
its ``check(data)`` feeds one input (bytes) to the code under test and asserts the
module's invariants; exceptions listed in ``allowed`` are the module's documented
errors and may escape; anything else (KeyError, TypeError, RecursionError, a failed
assert) is a crash.  Adding a target is adding that one file (and, best, a few seed
files in ``tests/fuzz/corpus/<name>/``): the runner (``python -m tests.fuzz``) and the
replay test (``tests/fuzz/test_corpus.py``) find it by its file name.

Per-input bounds apply everywhere an input runs: under atheris libFuzzer enforces
them (``-timeout``, ``-rss_limit_mb``); in a replay ``replay_one`` measures the
time and the peak of Python allocations (tracemalloc).
"""
import importlib
import os
import time
import tracemalloc
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS_DIR = os.path.join(HERE, "corpus")
MAX_INPUT_SECONDS = float(os.environ.get("GANTRY_FUZZ_INPUT_SECONDS", "1"))
MAX_INPUT_MEMORY = 256 << 20       # peak Python allocations of one input (replay)
MAX_INPUT_BYTES = 1 << 20          # libFuzzer -max_len: inputs larger than this are not generated


@dataclass
class Target:
    name: str
    check: object                 # callable(bytes) -> None; raises on a broken invariant
    modules: tuple                # dotted names of the modules it targets (coverage report)
    allowed: tuple = ()           # documented exception types that may escape check()
    setup: object = None          # callable() run once per process before the first input
    max_len: int = 64 << 10       # default libFuzzer -max_len for this target
    notes: str = ""
    # callable(data, max_size, seed) -> bytes: a structure-aware custom mutator (protomut) given to libFuzzer
    mutator: object = None
    _ready: bool = field(default=False, repr=False)

    def run(self, data):
        """One input; documented errors are swallowed, anything else propagates."""
        if not self._ready:
            if self.setup is not None:
                self.setup()
            self._ready = True
        try:
            self.check(data)
        except self.allowed:
            pass


class InputTooSlow(AssertionError):
    pass


class InputTooHungry(AssertionError):
    pass


def target_names():
    return sorted(f[len("fuzz_"):-3] for f in os.listdir(HERE) if f.startswith("fuzz_") and f.endswith(".py"))


def load(name):
    return importlib.import_module("tests.fuzz.fuzz_%s" % name).TARGET


def corpus_files(name, extra_dirs=()):
    out = []
    for d in (os.path.join(CORPUS_DIR, name),) + tuple(extra_dirs):
        if os.path.isdir(d):
            out.extend(os.path.join(d, f) for f in sorted(os.listdir(d)) if not f.startswith("."))
    return out


def replay_one(target, path, measure_memory=True):
    """Run one corpus file; raises (with the path in the message) on a crash or a blown bound."""
    with open(path, "rb") as f:
        data = f.read()
    if measure_memory:
        tracemalloc.start()
    start = time.monotonic()
    try:
        target.run(data)
    except BaseException as e:
        raise AssertionError("fuzz target %s crashed on %s: %s: %s" % (target.name, path, type(e).__name__, e)) from e
    finally:
        elapsed = time.monotonic() - start
        peak = tracemalloc.get_traced_memory()[1] if measure_memory else 0
        if measure_memory:
            tracemalloc.stop()
    # tracemalloc slows Python down a few times: the time bound is checked against that
    limit = MAX_INPUT_SECONDS * (4 if measure_memory else 1)
    if elapsed > limit:
        raise InputTooSlow("fuzz target %s: %s took %.2f s (bound %.1f s)" % (target.name, path, elapsed, limit))
    if peak > MAX_INPUT_MEMORY:
        raise InputTooHungry("fuzz target %s: %s allocated %d MiB at peak (bound %d MiB)"
                             % (target.name, path, peak >> 20, MAX_INPUT_MEMORY >> 20))


def replay(target, paths, measure_memory=True):
    for path in paths:
        replay_one(target, path, measure_memory)
    return len(paths)
