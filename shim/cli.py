"""Command line of gantry-shim.

    gantry-shim start --id ID --bundle DIR --runtime PATH [--runtime-root DIR] --state-dir DIR
                      [--log-path FILE] [--terminal] [--stdin]
        Start the container's shim, detached; print its API address once it serves.
        A second start for the same state dir prints the running shim's address.
    gantry-shim delete --id ID --bundle DIR --state-dir DIR [--runtime PATH] [--runtime-root DIR]
        Clean up after a shim that is gone: `runtime delete --force`, unmount the
        bundle's rootfs, print the exit status found in the state dir, remove it.
    gantry-shim call ADDRESS METHOD [JSON]
        Invoke one shim API call (shim.proto) and print the reply as JSON
        (Attach: one JSON line per output message).  In JSON, a bytes field
        (Exec.spec, Update.resources) may be given as a JSON object.
    gantry-shim template --socket PATH
        Serve the Template API: fork warm shims on request (used by gantryd).
"""
import base64
import gc
import json
import os
import socket
import sys

USAGE_TEXT = __doc__.split("\n", 2)[2]


STATE_DIR_TEXT = """state dir (one per container, made 0711 if missing; the shim owns it):
    shim.lock    flock held by the shim for its whole life (a second start finds it)
    shim.sock    the API socket, mode 0600
    address      the socket's path, written atomically once it serves
    shim.pid     the shim's pid
    exit         {"pid", "status", "exited_at_ns", "reason"} the moment the init exits
                 (temp + fsync + rename; it outlives the shim)
    shim.log     the shim's own stderr (errors, OOM events)
    runtime.log  the OCI runtime's --log
It is removed when the container is deleted (Delete, or gantry-shim delete)."""


def container_arguments(parser, runtime_required):
    """The flags start and delete share: which container, where, and which runtime."""
    parser.add_argument("--id", required=True, help="container id, as the runtime knows it")
    parser.add_argument("--bundle", required=True, help="OCI bundle directory (config.json, rootfs)")
    parser.add_argument("--state-dir", required=True, help="the shim's directory (layout below)")
    parser.add_argument("--runtime", required=runtime_required, default="gantry-oci",
                        help="OCI runtime binary: gantry-oci, runc, crun (path or name)" +
                        ("" if runtime_required else "; default: gantry-oci"))
    parser.add_argument("--runtime-root", default="", help="passed to the runtime as --root (default: its own)")


def _parser():
    import argparse  # not at module level: the template never needs it
    import textwrap
    raw = argparse.RawDescriptionHelpFormatter

    def add(name, help, description, **kw):
        return sub.add_parser(name, help=help, description=textwrap.fill(description, 78), formatter_class=raw, **kw)
    p = argparse.ArgumentParser(prog="gantry-shim", description="One shim per container: it forks the OCI "
                                "runtime and stays the container's parent.", epilog=USAGE_TEXT, formatter_class=raw)
    sub = p.add_subparsers(dest="command", required=True)
    start = add(
        "start", "start a detached shim and print its address", epilog=STATE_DIR_TEXT, description="Start the container's shim, detached (own session; it survives SIGKILL of its starter and "
                    "of the starter's process group), and print its API address once it serves; exit 0.  The "
                    "container is not created yet: call Create and Start on the address.  A second start for "
                    "the same state dir prints the running shim's address.")
    container_arguments(start, runtime_required=True)
    start.add_argument("--log-path", default="", help="CRI log file for stdout/stderr (default: none)")
    start.add_argument("--terminal", action="store_true", help="give the init a pty (then there is only stdout)")
    start.add_argument("--stdin", action="store_true", help="keep the init's stdin open for Attach clients")
    delete = add(
        "delete", "clean up after a shim that is gone", epilog=STATE_DIR_TEXT, description="Clean up after a shim that is gone (refused while it runs: call its Delete): `runtime "
                    "delete --force ID`, unmount the bundle's rootfs if it is a mount, print "
                    '{"id", "exit_status", "exited_at_ns", "reason"} from the exit file as JSON (255 and '
                    'reason "exit status unknown" without one), remove the state dir.  Exit 1 if a step failed.')
    container_arguments(delete, runtime_required=False)
    call = add(
        "call", "invoke one API call, print the reply as JSON", description="Invoke one call of the shim API (shim.proto: service Shim, or Template's Spawn on a "
                    "template socket) and print the reply as JSON; an error is printed as CODE: message on "
                    "stderr with exit 1.  Attach prints one JSON line per output message until the process "
                    "ends.  A bytes field (Exec.spec, Update.resources) may be given as a JSON object.",
        epilog="example: gantry-shim call /run/gantry/shims/c1/shim.sock State '{\"execId\": \"\"}'")
    call.add_argument("address", help="the shim's socket (the content of <state dir>/address)")
    call.add_argument("method", help="the call's name: Create, Start, State, Kill, Wait, Delete, Exec, ...")
    call.add_argument("json", nargs="?", default="{}", help="the request message as JSON (default: {})")
    template = add(
        "template", "serve the Template API (fork shims on request)", description="Serve the Template API on a unix socket: a warm, single-threaded process that forks a "
                    "detached shim for each Spawn request (how gantryd starts shims: 2-3 MiB and a few ms "
                    "each, instead of a fresh interpreter's 12 MiB and 130 ms).  Prints the socket path once "
                    "it serves; gets SIGTERM when the process that started it dies; its shims survive it.")
    template.add_argument("--socket", required=True, help="path of the socket to serve (mode 0600)")
    return p


def cmd_start(a):
    from . import detach
    from .service import Config
    cfg = Config(a.id, a.bundle, a.runtime, a.state_dir, runtime_root=a.runtime_root, log_path=a.log_path,
                 terminal=a.terminal, stdin=a.stdin)
    try:
        address, _, _ = detach.spawn(cfg)
    except (detach.SpawnError, OSError) as e:
        sys.stderr.write("gantry-shim start: %s\n" % e)
        return 1
    sys.stdout.write(address + "\n")
    return 0


def _bundle_rootfs(bundle):
    """The rootfs path config.json names (relative to the bundle), else <bundle>/rootfs."""
    try:
        with open(os.path.join(bundle, "config.json")) as f:
            path = json.load(f)["root"]["path"]
    except (OSError, ValueError, KeyError, TypeError):
        path = "rootfs"
    return os.path.join(bundle, path)


def _umount_if_mounted(path):
    import ctypes
    real = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    if real not in points:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.umount2(real.encode(), 2) != 0:  # MNT_DETACH
        raise OSError(ctypes.get_errno(), "umount %s" % real)
    return True


def cmd_delete(a):
    import fcntl

    from gantry.api import shimstate

    from . import daemon
    from .runtime import Runtime, RuntimeFailed
    lock = os.path.join(a.state_dir, daemon.LOCK)
    if os.path.exists(lock):
        with open(lock) as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                sys.stderr.write("gantry-shim delete: %s: the shim is still running; call its Delete\n" % a.state_dir)
                return 1
    errors = []
    runtime = Runtime(a.runtime, a.runtime_root)
    try:
        runtime.run(runtime.delete_argv(a.id, force=True))
    except RuntimeFailed as e:
        if "not exist" not in str(e) and "not found" not in str(e):
            errors.append(str(e))
    try:
        _umount_if_mounted(_bundle_rootfs(a.bundle))
    except OSError as e:
        errors.append(str(e))
    record = shimstate.read_exit(a.state_dir)
    out = {"id": a.id, "exit_status": record["status"] if record else 255,
           "exited_at_ns": record.get("exited_at_ns", 0) if record else 0,
           "reason": record.get("reason", "") if record else "exit status unknown"}
    daemon.remove_state(a.state_dir)
    sys.stdout.write(json.dumps(out) + "\n")
    for e in errors:
        sys.stderr.write("gantry-shim delete: %s\n" % e)
    return 1 if errors else 0


def _bytes_fields_from_objects(message_cls, obj):
    """Let operators write bytes fields (Exec.spec, Update.resources) as JSON objects."""
    for field in message_cls.DESCRIPTOR.fields:
        v = obj.get(field.name)
        if field.type == field.TYPE_BYTES and isinstance(v, (dict, list)):
            obj[field.name] = base64.b64encode(json.dumps(v).encode()).decode()
    return obj


def cmd_call(a):
    from gantry.api import framing, shimcalls
    from google.protobuf import json_format
    calls = dict(shimcalls.CALLS, **shimcalls.TEMPLATE_CALLS)
    spec = calls.get(a.method)
    if spec is None:
        sys.stderr.write("gantry-shim call: unknown method %r (one of %s)\n" % (a.method, ", ".join(sorted(calls))))
        return 1
    try:
        obj = _bytes_fields_from_objects(spec.request, json.loads(a.json))
        request = json_format.ParseDict(obj, spec.request())
    except (ValueError, json_format.ParseError) as e:
        sys.stderr.write("gantry-shim call: %s: bad request JSON: %s\n" % (a.method, e))
        return 1
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(a.address)
    except OSError as e:
        sys.stderr.write("gantry-shim call: connect %s: %s\n" % (a.address, e))
        return 1
    sock.sendall(framing.request(1, a.method, request.SerializeToString()))
    decoder = framing.Decoder()
    while True:
        data = sock.recv(framing.RECV_SIZE)
        if not data:
            sys.stderr.write("gantry-shim call: %s: connection closed by the shim\n" % a.method)
            return 1
        for f in decoder.feed(data):
            if f.kind == framing.ERROR:
                sys.stderr.write("gantry-shim call: %s: %s: %s\n" % (
                    a.method, framing.CODE_NAMES.get(f.code, f.code), f.payload.decode("utf-8", "replace")))
                return 1
            if f.kind == framing.END:
                return 0
            if f.kind in (framing.RESPONSE, framing.DATA):
                if spec.streaming and f.kind == framing.RESPONSE:
                    continue  # "attached"
                message = spec.response.FromString(f.payload)
                text = json_format.MessageToJson(message, always_print_fields_with_no_presence=True,
                                                 indent=None if spec.streaming else 2)
                sys.stdout.write(text + "\n")
                sys.stdout.flush()
                if not spec.streaming:
                    return 0


def cmd_template(a):
    from . import template
    template.serve(a.socket)
    return 0


def main(argv=None):
    # Before the heavy imports: a process that forks shims must not leave freed "holes" in
    # the pages its children share, so the collector stays off until each child turns it on
    # (see the gc.freeze documentation); short-lived commands do not need it either.
    gc.disable()
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 3 and argv[0] == "template" and argv[1] == "--socket":
        from . import template  # the template: no argument parser kept in its memory
        template.serve(argv[2])
        return 0
    args = _parser().parse_args(argv)
    return {"start": cmd_start, "delete": cmd_delete, "call": cmd_call, "template": cmd_template}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
