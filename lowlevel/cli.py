"""Command line of gantry-oci (runc-compatible): one function per subcommand.

Imports are local to each command: `gantry-oci state` must not pay for what
`create` needs.  Every failure ends as one message on stderr (and in --log)
and exit status 1.
"""
import os
import sys

VERSION = "0.1.0"
SPEC_VERSION = "1.2.0"

class Ctx:
    def __init__(self, glob):
        from .log import Log
        from .state import DEFAULT_ROOT, Store
        self.glob = glob
        self.store = Store(glob.get("root") or DEFAULT_ROOT)
        self.log = Log(glob.get("log"), glob.get("log_format") or "text", bool(glob.get("debug")))
        self._sys = None

    @property
    def sys(self):
        if self._sys is None:
            from . import syscalls
            self._sys = syscalls.get()
        return self._sys


def _one_id(pos, command):
    if not pos:
        raise ValueError('"%s" requires a container id' % command)
    return pos[0]


def _int(opts, key, default=0):
    v = opts.get(key)
    return default if v is None else int(v)


# --------------------------------------------------------------- commands

def cmd_create(ctx, opts, pos):
    from . import container
    container.create(ctx.sys, ctx.store, _one_id(pos, "create"), opts.get("bundle"), opts.get("pid_file"),
                     opts.get("console_socket"), no_pivot=opts.get("no_pivot", False),
                     preserve_fds=_int(opts, "preserve_fds"), log=ctx.log,
                     no_new_keyring=opts.get("no_new_keyring", False))
    return 0


def cmd_start(ctx, opts, pos):
    from . import container
    container.start(ctx.store, _one_id(pos, "start"), log=ctx.log)
    return 0


def cmd_run(ctx, opts, pos):
    from . import container, foreground
    cid = _one_id(pos, "run")
    detach = opts.get("detach", False)
    relay = forwarder = None
    if not detach:
        from .process.parent import become_subreaper
        become_subreaper(ctx.sys)
        forwarder = foreground.Forwarder()   # from now on: a signal must not kill us, only the container
    from . import spec
    cfg = spec.load(os.path.abspath(opts.get("bundle") or "."))
    console_fd = None
    if (cfg.get("process") or {}).get("terminal") and not opts.get("console_socket"):
        if detach:
            raise ValueError("process.terminal with --detach needs --console-socket")
        relay, console_fd = foreground.console_pair()
    record = container.create(ctx.sys, ctx.store, cid, opts.get("bundle"), opts.get("pid_file"),
                              opts.get("console_socket"), console_fd=console_fd,
                              no_pivot=opts.get("no_pivot", False), preserve_fds=_int(opts, "preserve_fds"),
                              log=ctx.log, cfg=cfg, no_new_keyring=opts.get("no_new_keyring", False))
    if forwarder is not None:
        forwarder.attach(record["pid"])
    try:
        master = foreground.receive_master(relay) if relay is not None else None
        container.start(ctx.store, cid, log=ctx.log, record=record)
    except BaseException:
        container.delete(ctx.store, cid, force=True, log=ctx.log)
        raise
    if detach:
        return 0
    code = foreground.wait(record["pid"], master, forwarder)
    if not opts.get("keep"):
        container.delete(ctx.store, cid, force=True, log=ctx.log, record=record)
    return code


def cmd_state(ctx, opts, pos):
    from . import container
    from . import state as st
    from .jsonio import dumps_pretty
    record = ctx.store.read(_one_id(pos, "state"))
    current = container.current_status(ctx.store, record)
    sys.stdout.write(dumps_pretty(st.oci_state(record, current)) + "\n")
    return 0


def parse_signal(text):
    import signal
    t = (text or "TERM").upper()
    if t.isdigit():
        return int(t)
    if not t.startswith("SIG"):
        t = "SIG" + t
    try:
        return int(signal.Signals[t])
    except KeyError:
        raise ValueError("unknown signal %r" % text) from None


def cmd_kill(ctx, opts, pos):
    from . import container
    cid = _one_id(pos, "kill")
    container.kill(ctx.store, cid, parse_signal(pos[1] if len(pos) > 1 else None), opts.get("all", False))
    return 0


def cmd_delete(ctx, opts, pos):
    from . import container
    container.delete(ctx.store, _one_id(pos, "delete"), force=opts.get("force", False), log=ctx.log)
    return 0


def cmd_pause(ctx, opts, pos):
    from . import container
    container.pause(ctx.store, _one_id(pos, "pause"))
    return 0


def cmd_resume(ctx, opts, pos):
    from . import container
    container.resume(ctx.store, _one_id(pos, "resume"))
    return 0


def cmd_list(ctx, opts, pos):
    import json

    from . import container
    from . import state as st
    rows = []
    for cid in ctx.store.ids():
        try:
            record = ctx.store.read(cid)
        except st.StateError:
            continue
        rows.append(st.oci_state(record, container.current_status(ctx.store, record)))
    if opts.get("quiet"):
        sys.stdout.write("".join(r["id"] + "\n" for r in rows))
    elif (opts.get("format") or "table") == "json":
        sys.stdout.write(json.dumps(rows) + "\n")
    else:
        table = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")] + [
            (r["id"], str(r["pid"]), r["status"], r["bundle"], r["created"], r["owner"] or "root") for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(6)]
        for row in table:
            sys.stdout.write("   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")
    return 0


def cmd_ps(ctx, opts, pos):
    import json

    from . import container
    pids = container.processes(ctx.store, _one_id(pos, "ps"))
    if (opts.get("format") or "table") == "json":
        sys.stdout.write(json.dumps(pids) + "\n")
        return 0
    import subprocess
    out = subprocess.run(["ps"] + (pos[1:] or ["-ef"]), capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    if not lines:
        return 0
    header = lines[0].split()
    if "PID" not in header:
        raise ValueError("ps output has no PID column")
    col = header.index("PID")
    sys.stdout.write(lines[0] + "\n")
    wanted = set(pids)
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > col and fields[col].isdigit() and int(fields[col]) in wanted:
            sys.stdout.write(line + "\n")
    return 0


def cmd_events(ctx, opts, pos):
    from . import events
    return events.run(ctx.store, _one_id(pos, "events"), opts.get("stats", False), opts.get("interval"))


def cmd_update(ctx, opts, pos):
    from . import update
    update.run(ctx.store, _one_id(pos, "update"), opts)
    return 0


def cmd_exec(ctx, opts, pos):
    from . import execute
    return execute.run(ctx.sys, ctx.store, _one_id(pos, "exec"), opts, pos[1:], ctx.log)


def cmd_spec(ctx, opts, pos):
    from . import template
    template.write(opts.get("bundle") or ".", rootless=opts.get("rootless", False))
    return 0


def cmd_features(ctx, opts, pos):
    import json

    from . import features
    sys.stdout.write(json.dumps(features.document(), indent=2) + "\n")
    return 0


COMMANDS = {
    "create": cmd_create, "start": cmd_start, "run": cmd_run, "state": cmd_state, "kill": cmd_kill,
    "delete": cmd_delete, "exec": cmd_exec, "list": cmd_list, "ps": cmd_ps, "pause": cmd_pause,
    "resume": cmd_resume, "events": cmd_events, "update": cmd_update, "spec": cmd_spec,
    "features": cmd_features,
}


def main(argv=None):
    # A command is a few ms of imports and setup that leaves no garbage cycles worth a collection
    # (~10 young-generation passes per create; in the forked init each also dirties shared pages).
    # The commands that may live long (run's and exec's wait, events) turn the collector back on.
    import gc
    gc.disable()
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["warm"]:   # hidden: gantry-shim's pre-started exec (warm.py); then as if started with args
        from . import warm
        try:
            argv = warm.serve()
        except (warm.BadRequest, OSError):
            return 2
        if argv is None:
            return 0
        sys.argv[1:] = argv
    from . import cliargs
    try:
        glob, command, opts, pos = cliargs.parse(argv)
    except cliargs.UsageError as e:
        sys.stderr.write("gantry-oci: %s\n" % e)
        return 1
    if glob.get("version"):
        sys.stdout.write("gantry-oci version %s\nspec: %s\npython: %s\n" % (
            VERSION, SPEC_VERSION, sys.version.split()[0]))
        return 0
    if glob.get("help") or command is None or opts.get("help"):
        from . import clihelp
        if command is None:
            sys.stdout.write(clihelp.top_help())
            return 0
        text = clihelp.command_help(command)
        if text is None:
            sys.stderr.write("gantry-oci: no help topic for %r\n" % command)
            return 3
        sys.stdout.write(text)
        return 0
    ctx = Ctx(glob)
    try:
        if glob.get("systemd_cgroup"):
            raise ValueError("--systemd-cgroup is not supported: gantry-oci manages cgroupfs paths only")
        return COMMANDS[command](ctx, opts, pos)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # one place turns every failure into a message and exit status 1
        if glob.get("debug"):
            import traceback
            traceback.print_exc()
        from .log import describe
        ctx.log.error(describe(e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
