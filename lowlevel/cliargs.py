"""Command-line parsing for gantry-oci, table-driven (argparse costs start-up time we do not spend).

Both ``--flag value`` and ``--flag=value``; single-dash aliases; ``--`` ends
options.  For ``exec`` and ``ps`` everything after the container id belongs
to the command, so option parsing stops there.
"""

# option table entries: name -> (key, kind); kind is "flag", "value" or "list"
GLOBAL = {
    "--root": ("root", "value"), "--log": ("log", "value"), "--log-format": ("log_format", "value"),
    "--debug": ("debug", "flag"), "--systemd-cgroup": ("systemd_cgroup", "flag"),
    "--rootless": ("rootless", "value"), "--criu": ("criu", "value"),
    "--version": ("version", "flag"), "-v": ("version", "flag"),
    "--help": ("help", "flag"), "-h": ("help", "flag"),
}
_CREATE = {
    "--bundle": ("bundle", "value"), "-b": ("bundle", "value"), "--pid-file": ("pid_file", "value"),
    "--console-socket": ("console_socket", "value"), "--no-pivot": ("no_pivot", "flag"),
    "--no-new-keyring": ("no_new_keyring", "flag"), "--preserve-fds": ("preserve_fds", "value"),
}
COMMANDS = {
    "create": _CREATE,
    "run": dict(_CREATE, **{"--detach": ("detach", "flag"), "-d": ("detach", "flag"), "--keep": ("keep", "flag"),
                            "--no-subreaper": ("no_subreaper", "flag")}),
    "start": {},
    "state": {},
    "kill": {"--all": ("all", "flag"), "-a": ("all", "flag")},
    "delete": {"--force": ("force", "flag"), "-f": ("force", "flag")},
    "exec": {
        "--process": ("process", "value"), "-p": ("process", "value"), "--detach": ("detach", "flag"),
        "-d": ("detach", "flag"), "--pid-file": ("pid_file", "value"), "--console-socket": ("console_socket", "value"),
        "--tty": ("tty", "flag"), "-t": ("tty", "flag"), "--cwd": ("cwd", "value"), "--env": ("env", "list"),
        "-e": ("env", "list"), "--user": ("user", "value"), "-u": ("user", "value"),
        "--additional-gids": ("additional_gids", "list"), "-g": ("additional_gids", "list"),
        "--cap": ("cap", "list"), "-c": ("cap", "list"), "--no-new-privs": ("no_new_privs", "flag"),
        "--preserve-fds": ("preserve_fds", "value"), "--process-label": ("process_label", "value"),
        "--apparmor": ("apparmor", "value"), "--ignore-paused": ("ignore_paused", "flag"),
        "--cgroup": ("cgroup", "list"),
    },
    "list": {"--format": ("format", "value"), "-f": ("format", "value"), "--quiet": ("quiet", "flag"),
             "-q": ("quiet", "flag")},
    "ps": {"--format": ("format", "value"), "-f": ("format", "value")},
    "pause": {},
    "resume": {},
    "events": {"--stats": ("stats", "flag"), "--interval": ("interval", "value")},
    "update": {"--resources": ("resources", "value"), "-r": ("resources", "value"),
               **{"--" + k: (k.replace("-", "_"), "value") for k in (
                   "cpu-shares", "cpu-period", "cpu-quota", "cpu-rt-period", "cpu-rt-runtime", "cpuset-cpus",
                   "cpuset-mems", "memory", "memory-reservation", "memory-swap", "pids-limit", "blkio-weight",
                   "kernel-memory", "kernel-memory-tcp", "l3-cache-schema", "mem-bw-schema")},
               "--cpu-share": ("cpu_shares", "value")},   # runc's spelling
    "spec": {"--bundle": ("bundle", "value"), "-b": ("bundle", "value"), "--rootless": ("rootless", "flag")},
    "features": {},
}
STOP_AT_FIRST_POSITIONAL = {"exec", "ps"}
HELP_COMMANDS = {"help", "h"}       # `gantry-oci help [COMMAND]`, as runc has it
_HELP = {"--help": ("help", "flag"), "-h": ("help", "flag")}


class UsageError(Exception):
    pass


def _take(table, args, i, out):
    """Parse the option at args[i] into out; returns the next index."""
    arg = args[i]
    name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
    if name not in table:
        raise UsageError("flag provided but not defined: %s" % name)
    key, kind = table[name]
    if kind == "flag":
        out[key] = value.lower() not in ("false", "0") if eq else True
        return i + 1
    if not eq:
        if i + 1 >= len(args):
            raise UsageError("flag needs an argument: %s" % name)
        value = args[i + 1]
        i += 1
    if kind == "list":
        out.setdefault(key, []).append(value)
    else:
        out[key] = value
    return i + 1


def parse(argv):
    """(global options, command, command options, positionals)."""
    glob = {}
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        i = _take(GLOBAL, argv, i, glob)
    if i >= len(argv):
        return glob, None, {}, []
    command = argv[i]
    if command in HELP_COMMANDS:
        return dict(glob, help=True), argv[i + 1] if i + 1 < len(argv) else None, {}, []
    if command not in COMMANDS:
        raise UsageError("unknown command %r" % command)
    table = dict(COMMANDS[command], **_HELP)
    opts, pos = {}, []
    i += 1
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            pos.extend(argv[i + 1:])
            break
        if pos and command in STOP_AT_FIRST_POSITIONAL:   # (so `exec ID sh --help` is sh's)
            pos.extend(argv[i:])
            break
        if arg.startswith("-") and len(arg) > 1 and not (command == "kill" and pos and arg[1:].isdigit()):
            i = _take(table, argv, i, opts)
        else:
            pos.append(arg)
            i += 1
    return glob, command, opts, pos
