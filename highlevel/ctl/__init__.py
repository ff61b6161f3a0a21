"""gantryctl: the operator's CRI client (gantryd, containerd, CRI-O: any runtime.v1 endpoint).

    cli.py         the argparse tree; HANDLERS names the function each command runs
    client.py      the gRPC channel, endpoints, CtlError (expected failures: one line, exit 1)
    output.py      tables, sizes, ages, -o json|yaml (pure)
    images.py      version, info, pull (progress.py: per-layer bars), images, inspecti, rmi
    archive.py     import/export through gantryd's image store (images/archivecli's functions)
    pods.py        runp, pods, inspectp, stopp, rmp;   configs.py: CRI configs from files and flags
    containers.py  create, start, stop, rm, ps, inspect;  resolve.py: ids, prefixes, names
    logs.py        logs;  crilog.py: the CRI log format, tail and since (pure)
    attach.py      exec, attach;  wsclient.py: the streaming URL over WebSocket (v5.channel.k8s.io)
    stats.py, events.py, run.py (docker-like run; runflags.py parses -p/-v/-e... purely), completion.py

Only the running command's module is imported (``gantryctl --help`` loads argparse alone).
"""
import sys


def one_line(text):
    """An error as one line: a peer's multi-line message joined with ``; ``."""
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


def main(argv=None):
    import importlib

    from .cli import HANDLERS, NO_CLIENT, VERSION, parse_args
    from .client import CtlError

    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.version:
        sys.stdout.write("gantryctl version %s\n" % VERSION)
        return 0
    module, func = HANDLERS[args.command].split(":")
    handler = getattr(importlib.import_module("." + module, __name__), func)
    client = None
    try:
        if args.command not in NO_CLIENT:
            from .client import Client

            client = Client(args.endpoint, args.timeout)
        return handler(client, args, sys.stdout) or 0
    except CtlError as exc:
        sys.stderr.write("gantryctl: %s\n" % one_line(str(exc)))
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("gantryctl: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    finally:
        if client is not None:
            client.close()


