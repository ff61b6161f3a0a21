"""`gantry-oci help`, `gantry-oci help COMMAND`, `gantry-oci COMMAND --help`: laid out as runc's.

NAME, USAGE, DESCRIPTION and OPTIONS sections; each option line lists its aliases
(``--bundle value, -b value``) from the parser's own tables (cliargs.py), so the help never
names an option the parser does not take, and a table entry without help text fails the
unit test.
"""
from . import cliargs

SUMMARY = "an OCI runtime with a runc-compatible command line"

# command: (one-line summary, positional arguments, description)
COMMANDS = {
    "create": ("create a container", "<container-id>",
               "Sets up the container of the bundle (namespaces, mounts, cgroups) and leaves its init\n"
               "waiting; `start` then runs the process of config.json."),
    "start": ("run the user process of a created container", "<container-id>", ""),
    "run": ("create and start a container", "<container-id>",
            "Without --detach, waits for the container's process, forwards signals to it and\n"
            "exits with its status."),
    "state": ("print the state of a container (JSON)", "<container-id>", ""),
    "kill": ("send a signal (default SIGTERM) to the container's init, or with --all to all its processes",
             "<container-id> [signal]", ""),
    "delete": ("delete the resources of a stopped container (--force: of any container)", "<container-id>", ""),
    "exec": ("run a new process inside a running container", "<container-id> <command> [command options]",
             "The process comes from the arguments (and the options below) or from a process.json\n"
             "given with --process."),
    "list": ("list the containers under --root", "", ""),
    "ps": ("list the processes of a container", "<container-id> [ps options]", ""),
    "pause": ("freeze every process of a container", "<container-id>", ""),
    "resume": ("thaw a paused container", "<container-id>", ""),
    "events": ("print container events (OOM kills) and resource statistics", "<container-id>", ""),
    "update": ("change the resource limits of a running container", "<container-id>",
               "Limits come from the options or from a JSON file of linux.resources (--resources, - for stdin)."),
    "spec": ("write a starting config.json", "", "Writes config.json into the bundle directory (default: the current one)."),
    "features": ("print what this runtime supports (JSON)", "", ""),
}

# hidden commands (as runc's `init`): not in the command list, but `gantry-oci help NAME` explains them
HIDDEN = {
    "warm": ("wait for one command from gantry-shim, already started (not for people)", "",
             "Used by gantry-shim to make an exec cheaper: started ahead of time with a unix\n"
             "SOCK_SEQPACKET socket as its stdin, it imports what exec needs and waits.  The shim\n"
             "sends one request (the arguments of a gantry-oci command and, with SCM_RIGHTS, its\n"
             "stdin, stdout and stderr); it answers that it took it and then runs that command as\n"
             "if just started, exiting with its status.  EOF on the socket: exit 0; a malformed\n"
             "request: exit 2.  The wire format is in lowlevel/warm.py.  Takes no options."),
}

# option key (cliargs tables) -> help; per command when the same key means something else there
OPTIONS = {
    "root": "directory of the containers' state (default: /run/gantry-oci; best on tmpfs)",
    "log": "file to write the log to (default: stderr)",
    "log_format": "log format: 'text' (default) or 'json'",
    "debug": "log debug messages",
    "systemd_cgroup": "systemd cgroup driver: refused (gantry-oci manages cgroupfs paths only)",
    "rootless": "accepted for compatibility; gantry-oci decides from the user it runs as",
    "criu": "accepted for compatibility; checkpoint and restore are not supported",
    "version": "print the version",
    "help": "show help",
    "bundle": "path of the bundle directory (default: the current directory)",
    "pid_file": "write the process id to this file",
    "console_socket": "unix socket that receives the master end of the console's pseudoterminal",
    "no_pivot": "use chroot (MS_MOVE) instead of pivot_root (needed when the rootfs is on a ramdisk)",
    "no_new_keyring": "keep the caller's session keyring instead of making a new one",
    "preserve_fds": "pass N more file descriptors to the process (after stdio and $LISTEN_FDS)",
    "detach": "do not wait for the process: return once it runs",
    "keep": "keep the container after it exits (run)",
    "no_subreaper": "accepted for compatibility: gantry-oci always becomes a subreaper to wait on its process",
    "all": "send the signal to every process of the container",
    "force": "kill the container first if it still runs",
    "process": "path of a process.json describing the process",
    "tty": "give the process a pseudoterminal",
    "cwd": "working directory of the process",
    "env": "set an environment variable (NAME=value; may repeat)",
    "user": "UID[:GID] of the process",
    "additional_gids": "an additional group id (may repeat)",
    "cap": "add a capability (may repeat)",
    "no_new_privs": "set no_new_privs for the process",
    "process_label": "SELinux label of the process: not supported (refused)",
    "apparmor": "AppArmor profile of the process: not supported (refused)",
    "ignore_paused": "allow exec in a paused container",
    "cgroup": "run the process in a sub-cgroup: not supported (refused)",
    "format": "output format: 'table' (default) or 'json'",
    "quiet": "print the ids only",
    "stats": "print the statistics once and exit",
    "interval": "interval between statistics (default 5s)",
    "resources": "JSON file of linux.resources to apply ('-' reads stdin); the other options are then ignored",
    "cpu_shares": "CPU shares (weight relative to other containers)",
    "cpu_period": "CPU CFS period in microseconds",
    "cpu_quota": "CPU CFS quota in microseconds per period",
    "cpu_rt_period": "CPU realtime period in microseconds",
    "cpu_rt_runtime": "CPU realtime runtime in microseconds per period",
    "cpuset_cpus": "CPUs the container may use (e.g. 0-2,4)",
    "cpuset_mems": "memory nodes the container may use",
    "memory": "memory limit in bytes",
    "memory_reservation": "memory soft limit in bytes",
    "memory_swap": "memory + swap limit in bytes (-1: unlimited swap)",
    "pids_limit": "maximum number of processes",
    "blkio_weight": "block I/O weight (10 to 1000)",
    "kernel_memory": "kernel memory limit in bytes (cgroup v1)",
    "kernel_memory_tcp": "kernel TCP buffer memory limit in bytes (cgroup v1)",
    "l3_cache_schema": "Intel RDT L3 cache schema: not supported (refused)",
    "mem_bw_schema": "Intel RDT memory bandwidth schema: not supported (refused)",
}
SPEC_OPTIONS = {"rootless": "write a config for a rootless container"}


def _option_lines(table, overrides=None):
    by_key = {}
    for name, (key, kind) in table.items():
        by_key.setdefault(key, []).append(name + (" value" if kind != "flag" else ""))
    rows = []
    for key, names in by_key.items():
        names.sort(key=lambda n: (not n.startswith("--"), n))
        rows.append((", ".join(names), (overrides or {}).get(key) or OPTIONS[key]))
    width = max(len(r[0]) for r in rows)
    return ["   %-*s  %s" % (width, left, text) for left, text in rows]


def top_help():
    lines = ["NAME:", "   gantry-oci - " + SUMMARY, "", "USAGE:",
             "   gantry-oci [global options] command [command options] [arguments...]", "", "COMMANDS:"]
    width = max(len(c) for c in COMMANDS)
    lines += ["   %-*s  %s" % (width, c, COMMANDS[c][0]) for c in COMMANDS]
    lines.append("   %-*s  %s" % (width, "help, h", "show the commands, or the help of one command"))
    lines.append("   (hidden: %s; see `gantry-oci help NAME`)" % ", ".join(sorted(HIDDEN)))
    lines += ["", "GLOBAL OPTIONS:"] + _option_lines(cliargs.GLOBAL)
    return "\n".join(lines) + "\n"


def command_help(command):
    """The help of one command, or None when there is no such command."""
    if command in HIDDEN:
        summary, _, description = HIDDEN[command]
        return "\n".join(["NAME:", "   gantry-oci %s - %s" % (command, summary), "", "USAGE:",
                          "   gantry-oci %s" % command, "", "DESCRIPTION:"] +
                         ["   " + line for line in description.splitlines()]) + "\n"
    if command not in COMMANDS:
        return None
    summary, arguments, description = COMMANDS[command]
    usage = "gantry-oci %s [command options] %s" % (command, arguments)
    lines = ["NAME:", "   gantry-oci %s - %s" % (command, summary), "", "USAGE:", "   " + usage.rstrip()]
    if description:
        lines += ["", "DESCRIPTION:"] + ["   " + line for line in description.splitlines()]
    table = dict(cliargs.COMMANDS[command], **{"--help": ("help", "flag"), "-h": ("help", "flag")})
    lines += ["", "OPTIONS:"] + _option_lines(table, SPEC_OPTIONS if command == "spec" else None)
    return "\n".join(lines) + "\n"
