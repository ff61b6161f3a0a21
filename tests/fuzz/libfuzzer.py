"""One target under atheris (libFuzzer), in a process of its own.

    python -m tests.fuzz.libfuzzer NAME [libFuzzer flags] [corpus dirs]

The gantry modules are imported under ``atheris.instrument_imports`` so that
libFuzzer sees their line and branch coverage; the harness itself is not
instrumented.  libFuzzer exits non-zero on a crash, an input slower than
``-timeout`` or a process larger than ``-rss_limit_mb``, after writing the input
to ``-artifact_prefix``.
"""
import importlib
import sys


def main(argv):
    import atheris

    name, flags = argv[0], argv[1:]
    with atheris.instrument_imports(include=["gantry"]):
        target = importlib.import_module("tests.fuzz.fuzz_%s" % name).TARGET
    atheris.Setup([sys.argv[0]] + flags, target.run)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv[1:])
