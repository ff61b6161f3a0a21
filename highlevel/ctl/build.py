"""gantryctl build: an image from a Dockerfile, built by gantryd (proto/build.proto), progress as it comes.

    gantryctl build [-t NAME:TAG]... [-f Dockerfile] [--build-arg K=V]... [--target STAGE]
                    [--platform OS/ARCH] [--no-cache] [--progress plain|tty] [--network none|host] CONTEXT

The context is a directory on the machine gantryd runs on: gantryctl sends its
absolute path and gantryd reads it (a remote gantryd cannot see your files).
``-f`` is read here and sent as text, so it may live outside the context.
Progress (steps, cache hits, RUN output) goes to stderr; the image id alone to
stdout, so ``id=$(gantryctl build -q .)`` works.  A failed build prints
gantryd's error (naming the Dockerfile line) and exits 1.
"""
import os
import sys
import time

from .client import CtlError

BUILD_TIMEOUT = 6 * 3600.0
BOLD, CYAN, RESET = "\033[1m", "\033[36m", "\033[0m"


def build_args(pairs, environ=os.environ):
    """``K=V`` -> {K: V}; a bare ``K`` takes its value from the environment (skipped when unset), as docker."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not key:
            raise CtlError("--build-arg %r: expected KEY=VALUE" % pair)
        if sep:
            out[key] = value
        elif key in environ:
            out[key] = environ[key]
    return out


def request_for(args, environ=os.environ):
    from gantry.api import build_pb2

    context = os.path.abspath(args.context)
    if not os.path.isdir(context):
        raise CtlError("build: context %s: not a directory" % args.context)
    text = ""
    if args.file:
        path = args.file if args.file != "-" else "/dev/stdin"
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise CtlError("build: -f %s: %s" % (args.file, e.strerror)) from None
    return build_pb2.BuildRequest(context_path=context, dockerfile_text=text, tags=args.tag,
                                  build_args=build_args(args.build_arg, environ), target=args.target or "",
                                  platform=args.platform or "", no_cache=args.no_cache, network=args.network,
                                  compression=args.compression)


class Printer:
    """Progress lines: plain (one line per event) or tty (the same, with emphasis and timings)."""

    def __init__(self, err, mode, quiet):
        self.err, self.quiet = err, quiet
        self.tty = mode == "tty" or (mode == "auto" and err.isatty())
        self.at_line_start = True

    def event(self, ev):
        if self.quiet:
            return
        which = ev.WhichOneof("event")
        if which == "step":
            s = ev.step
            if s.done:
                if s.cached:
                    self._line("#%d CACHED" % s.index)
                elif self.tty:
                    self._line("#%d DONE %.1fs" % (s.index, s.seconds))
                return
            head = "[%s] STEP %d/%d: %s" % (s.stage, s.index, s.total, s.text)
            self._line((BOLD + CYAN + head + RESET) if self.tty else head)
        elif which == "output":
            data = ev.output.data.decode("utf-8", "replace")
            self.err.write(data)
            self.at_line_start = data.endswith("\n")
            self.err.flush()

    def _line(self, text):
        if not self.at_line_start:
            self.err.write("\n")
        self.err.write(text + "\n")
        self.at_line_start = True
        self.err.flush()


def cmd_build(client, args, out):
    from gantry.api import build_pb2_grpc

    request = request_for(args)
    stub = build_pb2_grpc.BuilderStub(client.channel)
    printer = Printer(sys.stderr, args.progress, args.quiet)
    started = time.monotonic()
    result = None
    call = stub.Build(request, timeout=BUILD_TIMEOUT)
    for ev in client.stream("build", lambda _req: call, request):
        if ev.WhichOneof("event") == "result":
            result = ev.result
        else:
            printer.event(ev)
    if result is None:
        raise CtlError("build: gantryd ended the build without a result")
    if not args.quiet:
        names = ", ".join(result.tags) or "(no tag)"
        printer._line("built %s %s in %.1fs (%d layers)" % (result.image_id, names,
                                                            time.monotonic() - started, result.layers))
    out.write(result.image_id + "\n")
    return 0
