"""One target under atheris (libFuzzer), in a process of its own.

    python -m tests.fuzz.libfuzzer NAME [libFuzzer flags] [corpus dirs]

The gantry modules are imported under ``atheris.instrument_imports`` so that
libFuzzer sees their line and branch coverage; the harness itself is not
instrumented.  libFuzzer exits non-zero on a crash, an input slower than
``-timeout`` or a process larger than ``-rss_limit_mb``, after writing the input
to ``-artifact_prefix``.  A target with a ``mutator`` (protobuf inputs: protomut.py)
has libFuzzer use it instead of its byte-level mutations.
"""
import hashlib
import importlib
import sys


def main(argv):
    import atheris

    name, flags = argv[0], argv[1:]
    with atheris.instrument_imports(include=["gantry"]):
        target = importlib.import_module("tests.fuzz.fuzz_%s" % name).TARGET
    prefix = next((f.split("=", 1)[1] for f in flags if f.startswith("-artifact_prefix=")), None)

    def one(data):
        try:
            target.run(data)
        except BaseException:
            if prefix:   # libFuzzer writes it too, but not when the process dies while reporting
                with open("%scrash-%s" % (prefix, hashlib.sha1(data).hexdigest()), "wb") as f:
                    f.write(data)
            raise

    extra = {"custom_mutator": target.mutator} if target.mutator is not None else {}
    atheris.Setup([sys.argv[0]] + flags, one, **extra)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv[1:])
