"""`gantry-oci exec`: a new process in a running container, never with more than the container has.

It joins every namespace the container has (by /proc/<init>/ns/*), its cgroup,
and gets the container's seccomp filter and no_new_privs; capabilities come
from the container's process unless --process gives its own.
"""
from . import container, jsonio
from . import state as st
from .namespaces import KINDS
from .process.users import parse_user


def build_process(cfg, opts, argv):
    """The process.json of the exec: --process FILE, or the container's process edited by the flags."""
    for key, flag in (("process_label", "--process-label"), ("apparmor", "--apparmor"), ("cgroup", "--cgroup")):
        if opts.get(key):
            raise ValueError("exec %s is not supported by gantry-oci" % flag)
    if opts.get("process"):
        try:
            with open(opts["process"], "rb") as f:
                proc = jsonio.loads(f.read())
        except (OSError, ValueError) as e:
            raise ValueError("--process %s: %s" % (opts["process"], e)) from None
    else:
        base = cfg.get("process") or {}
        if not argv:
            raise ValueError("exec needs a command (or --process FILE)")
        proc = {"args": list(argv), "env": list(base.get("env") or []), "cwd": base.get("cwd", "/"),
                "user": dict(base.get("user") or {"uid": 0, "gid": 0}),
                "capabilities": jsonio.loads(jsonio.dumps(base.get("capabilities") or {})),
                "noNewPrivileges": base.get("noNewPrivileges", False), "rlimits": base.get("rlimits") or [],
                "terminal": bool(opts.get("tty"))}
        env_over = {e.partition("=")[0]: e for e in opts.get("env") or []}
        proc["env"] = [e for e in proc["env"] if e.partition("=")[0] not in env_over] + list(env_over.values())
        if opts.get("cwd"):
            proc["cwd"] = opts["cwd"]
        if opts.get("user"):
            proc["user"] = parse_user(opts["user"])
        if opts.get("additional_gids"):
            proc["user"]["additionalGids"] = [int(g) for g in opts["additional_gids"]]
        # --cap: bounding, effective and permitted; never inheritable (the CVE-2022-29162 class: an inheritable
        # set lets file capabilities of any program raise them, runc >= 1.1.2 stopped adding it); ambient when
        # the config's inheritable set already holds the capability (the kernel raises no other)
        caps = proc["capabilities"]
        for cap in opts.get("cap") or []:
            kinds = ("bounding", "effective", "permitted") + (
                ("ambient",) if cap in (caps.get("inheritable") or ()) else ())
            for kind in kinds:
                if cap not in caps.setdefault(kind, []):
                    caps[kind].append(cap)
        if opts.get("no_new_privs"):
            proc["noNewPrivileges"] = True
    if opts.get("tty"):
        proc["terminal"] = True
    if not proc.get("args"):
        raise ValueError("exec: process.args must not be empty")
    if not str(proc.get("cwd", "/")).startswith("/"):
        raise ValueError("exec: cwd %r must be absolute" % proc.get("cwd"))
    return proc


def join_linux(cfg, pid):
    """linux section for stage 1: every namespace of the container, joined by path."""
    linux = cfg.get("linux") or {}
    kinds = [ns["type"] for ns in linux.get("namespaces") or []]
    nss = []
    for kind in KINDS:
        if kind in kinds:
            nss.append({"type": kind, "path": "/proc/%d/ns/%s" % (pid, KINDS[kind][1])})
    # enterRoot: stage 1 chroots into the init's root after the setns calls (see init.stage1); needed with a
    # mount namespace made from a chroot, and without a mount namespace (the init only chrooted)
    return {"namespaces": nss, "seccomp": linux.get("seccomp"), "personality": linux.get("personality"),
            "enterRoot": "/proc/%d/root" % pid}


def run(sys, store, container_id, opts, argv, log):
    from . import foreground
    from .process import parent
    record, status = container.load(store, container_id, "exec")
    if status == "paused" and not opts.get("ignore_paused"):
        raise container.RuntimeFailure("cannot exec in a paused container %s" % container_id)
    cfg = record.get("config") or {}
    proc = build_process(cfg, opts, argv)
    container.warn_refused_ambient(proc, log)
    detach = opts.get("detach", False)
    console_fd = relay = None
    if proc.get("terminal"):
        if opts.get("console_socket"):
            from . import console
            console_fd = console.connect(opts["console_socket"])
        elif detach:
            raise ValueError("exec --tty --detach needs --console-socket")
        else:
            relay, console_fd = foreground.console_pair()
    if not detach:
        parent.become_subreaper(sys)
    preserve = int(opts.get("preserve_fds") or 0)
    linux = join_linux(cfg, record["pid"])
    if not st.init_alive(record):
        raise st.StateError("container not running")
    pid = parent.spawn_exec(sys, proc, linux, {"console_fd": console_fd, "preserve_fds": preserve},
                            container.manager_from(record))
    if opts.get("pid_file"):
        container.write_pid_file(opts["pid_file"], pid)
    master = foreground.receive_master(relay) if relay is not None else None
    if detach:
        return 0
    return foreground.wait(pid, master)
