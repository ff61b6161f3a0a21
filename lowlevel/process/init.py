"""Inside the new process: stage 1 (enter namespaces) and the container init sequence.

Everything here runs in a forked child of the gantry-oci parent and never
returns: it ends in execve or os._exit.  Failures travel back over the
channel with their real cause (see channel.py for the messages).
"""
import errno
import os

from .. import namespaces
from ..syscalls import (
    CLONE_NEWCGROUP,
    CLONE_NEWPID,
    CLONE_NEWTIME,
    CLONE_NEWUSER,
    MS_BIND,
    PR_SET_DUMPABLE,
    PR_SET_NO_NEW_PRIVS,
)

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def report(chan, exc):
    """Send the failure to the parent (or to stderr once the channel is gone); never raises."""
    from ..log import describe
    text = describe(exc)
    try:
        chan.send("error", msg=text)
    except Exception:
        try:
            os.write(2, ("gantry-oci: %s\n" % text).encode())
        except OSError:
            pass


def preload(linux, terminal, init=True):
    """Import now what runs after pivot_root or setns(mnt): the host's Python library is gone by then.

    The gantry-oci parent does not import these: the child loads them after the fork, while the
    parent waits on the cgroups (see stage1).  An exec (init False) mounts nothing and runs no
    hook: it does without rootfs and hooks.
    """
    from .. import capabilities  # noqa: F401
    if init:
        from .. import hooks, rootfs  # noqa: F401
    from ..tricks import signal_module
    signal_module()   # _signal, or the signal module when tricks are off (reset_signals)
    from ..log import describe  # noqa: F401
    from . import rlimits, users  # noqa: F401
    if linux.get("seccomp"):
        from .. import seccomp
        seccomp.preload()  # dlopen libseccomp before pivot_root hides the host's libraries
    if terminal:
        import fcntl  # noqa: F401  (console)
        import struct  # noqa: F401

        from .. import console  # noqa: F401
        from ..tricks import socket_module
        socket_module()   # _socket, or the socket module when tricks are off (console.make_pty)


def stage1(sys, chan, linux, final, terminal=False, cgroup_view_needed=True, init_placed_late=False,
           cgroup_dirs=None, self_place=None):
    """Enter or make the namespaces, fork pid 1 when a pid/time namespace needs it, then run final().

    init_placed_late (the container init): unless a cgroup namespace must be made from inside the
    container's cgroups, the parent places the init by the pid it reports while the init already
    sets up; final() then gets a Placement to wait on instead of a ready cgroup view (cgroup_dirs:
    the container's cgroup directories, from which the view is predicted).  self_place ({"v1": dirs,
    "unified": dir or None}): where stage 1 may put itself and pid 1 without the parent (see place_self).
    """
    try:
        specns = linux.get("namespaces") or []
        flags, join = namespaces.plan(specns)
        # what runs after pivot_root or setns(mnt) must be imported first; when nothing is joined and
        # no user namespace made, the init imports it itself while the parent waits on the cgroups
        loaded = not init_placed_late or any(k == "mount" for k, _ in join) or any(
            ns["type"] == "user" for ns in specns)   # (host files are read as nobody in a user ns)
        if loaded:
            preload(linux, terminal, init=init_placed_late)
        # never dumpable: /proc/PID/exe of this (host) interpreter must not open from inside
        sys.prctl(PR_SET_DUMPABLE, 0, what="prctl PR_SET_DUMPABLE")
        given = {ns["type"]: ns.get("path") or "" for ns in specns}
        join_fds = namespaces.open_joins(join)
        # exec: the container's root, opened while the host's /proc is ours; after setns(mnt) we stand at
        # the root of that mount namespace, which is not the container's root when the container was made
        # from a chroot (pivot_root moves the rootfs onto the chroot's mount, not onto the namespace's root),
        # and a container without a mount namespace has only a chroot
        root_fd = os.open(linux["enterRoot"], os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC) if linux.get("enterRoot") else -1
        userns = "user" in given
        if given.get("user"):
            fd = os.open(given["user"], os.O_RDONLY | os.O_CLOEXEC)
            sys.setns(fd, CLONE_NEWUSER, what="user %s" % given["user"])
            os.close(fd)
        elif userns:
            sys.unshare(CLONE_NEWUSER)
        plan = placement_plan(init_placed_late, flags, join, userns, self_place)
        early, late, own, own_now, forks = plan.early, plan.late, plan.own, plan.own_now, plan.forks
        made_userns = userns and not given.get("user")
        chan.send("hello", userns=made_userns, place=plan.place)
        if made_userns or not init_placed_late:   # the container init hears "go" only for id maps
            chan.expect("go")
        unified_fd = place_self(chan, self_place) if own_now else -1
        if userns:
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
        cgroup_view = {}
        if early and not own:
            chan.expect("placed")
            cgroup_view = read_cgroup_view() if cgroup_view_needed else {}
        namespaces.enter(sys, join_fds)
        if root_fd >= 0:
            os.fchdir(root_fd)
            os.chroot(".")
            os.close(root_fd)
        if flags:
            sys.unshare(flags)
        if own and not own_now:
            unified_fd = place_self(chan, self_place)
        if not early and not late and not own:
            chan.expect("placed")
            cgroup_view = read_cgroup_view() if cgroup_view_needed else {}
        if flags & CLONE_NEWTIME and linux.get("timeOffsets"):
            write_time_offsets(linux["timeOffsets"])
        if forks:
            # pid 1 waits until stage 1 has reported its pid, so "pid" always reaches the parent first
            r, w = os.pipe()
            pid = os.fork() if unified_fd < 0 else fork_into(sys, unified_fd, self_place["unified"])
            if pid:
                chan.send("pid", pid=pid)
                os._exit(0)
            os.close(w)
            os.read(r, 1)
            os.close(r)
            if unified_fd >= 0:   # a host cgroup directory: not kept open in the container
                os.close(unified_fd)
        else:
            chan.send("pid", pid=os.getpid())
        if not loaded:
            preload(linux, terminal, init=init_placed_late)
        final(sys, chan, userns, flags, Placement(chan, cgroup_view_needed, cgroup_dirs) if late else cgroup_view)
    except BaseException as e:  # noqa: B036 - the child must never unwind into the parent's code
        report(chan, e)
    os._exit(1)


class PlacementPlan:
    """How stage 1 gets into the container's cgroups (see placement_plan); place is the word "hello" carries."""

    def __init__(self, early, late, own, own_now, forks):
        self.early, self.late, self.own, self.own_now, self.forks = early, late, own, own_now, forks
        self.place = "self" if own else "init" if late else "stage"

    def __repr__(self):
        return "PlacementPlan(%s)" % ", ".join("%s=%r" % (k, getattr(self, k)) for k in
                                               ("place", "early", "late", "own", "own_now", "forks"))


def placement_plan(init_placed_late, flags, join, userns, self_place):
    """Who puts stage 1 (and the process it forks) into the container's cgroups, and when (pure).

    - early: a cgroup namespace is made or joined: in the cgroups before any namespace is entered;
    - late (the container init only): the parent places pid 1 by its pid while it sets up;
    - own: stage 1 enters the v1 hierarchies itself (place_self: a write of 0 to "tasks", which
      takes no global lock, where the parent's cgroup.procs write waits for an RCU grace period)
      and forks the process into the cgroup2 directory (clone3 CLONE_INTO_CGROUP).  Needs
      self_place, no user namespace (the host's cgroupfs is read-only from one) and, with a
      cgroup2 directory, a fork (stage 1 itself cannot be born there).  An exec (not
      init_placed_late) owns its placement whenever it can: its cgroups exist with their limits;
    - own_now: place_self before the namespaces are entered: always for an exec (before a joined
      mount namespace hides the host's cgroupfs, and before a joined cgroup namespace), for the
      init only when it joins a mount namespace (else after unshare, in parallel with the parent);
    - forks: a pid or time namespace made or joined takes effect in a child only.
    """
    early = bool(flags & CLONE_NEWCGROUP) or any(k == "cgroup" for k, _ in join)
    late = init_placed_late and not early
    forks = bool(flags & (CLONE_NEWPID | CLONE_NEWTIME)) or any(k in ("pid", "time") for k, _ in join)
    own = (late or not init_placed_late) and self_place is not None and not userns and (
        forks or not self_place.get("unified"))
    own_now = own and (not init_placed_late or any(k == "mount" for k, _ in join))
    return PlacementPlan(early, late, own, own_now, forks)


def born_init(sys, chan, linux, flags, final, terminal=False, cgroup_dirs=None, self_place=None):
    """The container init when the parent cloned it straight into its new namespaces (and its
    cgroup2 directory): stage 1's part without stage 1, so one Python process fewer to fork.

    Only for what stage 1 would have done with nothing to join, no user, cgroup or time namespace
    and a pid namespace (parent.direct_flags decides); the messages are stage 1's with place "self"
    (the v1 cgroups are entered here once the limits are written; born in the cgroup2 directory,
    pid 1 runs none of its setup before that) and "pid" carries 0: the parent has our host pid
    from clone3.
    """
    try:
        sys.prctl(PR_SET_DUMPABLE, 0, what="prctl PR_SET_DUMPABLE")
        chan.send("hello", userns=False, place="self")
        preload(linux, terminal)   # while the parent writes the limits
        place_self(chan, {"v1": (self_place or {}).get("v1")})
        chan.send("pid", pid=0)
        final(sys, chan, False, flags, Placement(chan, True, cgroup_dirs))
    except BaseException as e:  # noqa: B036 - the child must never unwind into the parent's code
        report(chan, e)
    os._exit(1)


def place_self(chan, where):
    """Put this (single-threaded) process into the container's v1 cgroups itself; returns an fd of
    its cgroup2 directory for fork_into_cgroup, or -1.

    Moving oneself by writing 0 to a v1 "tasks" file is the one migration that does not take the
    kernel's global cgroup_threadgroup_rwsem, whose first writer waits for an RCU grace period
    (~10 ms); a cgroup.procs write (what the parent would do) takes it.  cgroup2 has no such
    door, but a child can be born in a cgroup2 directory (clone3 CLONE_INTO_CGROUP).  The limits
    are written first: the parent says "limits" when they are.
    """
    chan.expect("limits")
    for d in where.get("v1") or ():
        with open(os.path.join(d, "tasks"), "w") as f:
            f.write("0")
    if where.get("unified"):
        return os.open(where["unified"], os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    return -1


def fork_into(sys, cgroup_fd, path):
    """fork whose child starts in the cgroup2 directory path (fd cgroup_fd); on a kernel without
    clone3 CLONE_INTO_CGROUP (< 5.7) a plain fork, and we write the child in (grace period and all)
    before anyone hears its pid."""
    try:
        return sys.fork_into_cgroup(cgroup_fd, path)
    except OSError as e:
        if e.errno not in (errno.ENOSYS, errno.EINVAL, errno.E2BIG, errno.EPERM):
            raise
    pid = os.fork()
    if pid:
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write(str(pid))
    return pid


class Placement:
    """The init's wait for "placed" (the parent writes our pid to cgroup.procs while we set up).

    view() gives the cgroup view (read_cgroup_view) as it is once we are placed: predicted from the
    container's cgroup directories (dirs) without waiting when every cgroup mount is the root of
    its hierarchy, else read after waiting.  wait() waits once.
    """

    def __init__(self, chan, view_needed=True, dirs=None):
        self.chan = chan
        self.view_needed = view_needed
        self.placed = False
        self._view = predict_cgroup_view(dirs) if view_needed and dirs is not None else None

    def wait(self):
        if not self.placed:
            self.chan.expect("placed")
            self.placed = True

    def view(self):
        if self._view is None:
            self.wait()
            self._view = read_cgroup_view() if self.view_needed else {}
        return self._view

    __call__ = view


def _cgroup_mounts():
    """{controllers key ("" for cgroup2): (mount dir, root of the hierarchy mounted there)}."""
    mounts = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = left.split()
            rfields = right.split()
            if not rfields or rfields[0] not in ("cgroup", "cgroup2"):
                continue
            if rfields[0] == "cgroup2":
                mounts[""] = (fields[4], fields[3])
            else:
                ctrls = [o for o in rfields[2].split(",") if o not in ("rw", "ro") and not o.startswith("relatime")]
                mounts[",".join(sorted(ctrls))] = (fields[4], fields[3])
    return mounts


def predict_cgroup_view(dirs):
    """read_cgroup_view() as it will be once the parent wrote us into each of dirs, or None.

    Hierarchies without one of dirs keep what we inherited.  None (read it after "placed" then)
    when a cgroup mount is not its hierarchy's root or a directory lies under no cgroup mount.
    """
    mounts = _cgroup_mounts()
    if any(root != "/" for _, root in mounts.values()):
        return None
    view = read_cgroup_view(mounts)
    for d in dirs:
        owner = [m for m in view if d == m or d.startswith(m.rstrip("/") + "/")]
        if len(owner) != 1:
            return None
        view[owner[0]] = d[len(owner[0].rstrip("/")):] or "/"
    return view


def read_cgroup_view(mounts=None):
    """{hierarchy mount dir: our path in it} (host view, read before a cgroup namespace hides it)."""
    mounts = {k: v[0] for k, v in (mounts or _cgroup_mounts()).items()}
    view = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            key = ",".join(sorted(ctrls.split(","))) if ctrls else ""
            if key in mounts:
                view[mounts[key]] = path
    return view


def write_time_offsets(offsets):
    lines = "".join("%s %d %d\n" % (clock, o.get("secs", 0), o.get("nanosecs", 0)) for clock, o in offsets.items())
    with open("/proc/self/timens_offsets", "w") as f:
        f.write(lines)


def setup_user(user, userns):
    """groups, gid, uid; capabilities.apply() keeps the permitted set across it (PR_SET_KEEPCAPS)."""
    uid, gid = user.get("uid", 0), user.get("gid", 0)
    groups = list(user.get("additionalGids") or [])
    try:
        os.setgroups(groups)
    except OSError as e:
        if not (userns and e.errno == 1):   # setgroups may be denied in a user namespace
            raise OSError(e.errno, "setgroups %s: %s" % (groups, e.strerror)) from None
    try:
        os.setresgid(gid, gid, gid)
    except OSError as e:
        raise OSError(e.errno, "setgid %d: %s" % (gid, e.strerror)) from None
    try:
        os.setresuid(uid, uid, uid)
    except OSError as e:
        raise OSError(e.errno, "setuid %d: %s" % (uid, e.strerror)) from None
    os.umask(user["umask"] if user.get("umask") is not None else 0o022)   # never the caller's umask


def set_personality(sys, linux):
    """linux.personality (validated by spec.check_personality): the execution domain, before any seccomp."""
    per = linux.get("personality")
    if per:
        from ..spec import PERSONALITY_DOMAINS
        sys.personality(PERSONALITY_DOMAINS[per["domain"]])


def load_seccomp(sys, sec):
    if not sec:
        return
    try:
        from .. import seccomp
    except ImportError:
        raise OSError(95, "linux.seccomp: seccomp support is not available in this build") from None
    seccomp.load(sys, sec)


def lookup_executable(arg0, env):
    """Absolute path of arg0, searched on the process's PATH like execvp; OSError naming it otherwise."""
    if "/" in arg0:
        candidates = [arg0]
    else:
        path = env.get("PATH", DEFAULT_PATH)
        candidates = [os.path.join(d or ".", arg0) for d in path.split(":")]
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    if "/" in arg0:
        if os.path.exists(arg0):
            raise OSError(13, 'exec: "%s": permission denied' % arg0)
        raise OSError(2, 'exec: "%s": stat %s: no such file or directory' % (arg0, arg0))
    raise OSError(2, 'exec: "%s": executable file not found in $PATH' % arg0)


def process_env(proc):
    env = {}
    for e in proc.get("env") or []:
        k, _, v = e.partition("=")
        env[k] = v
    return env


def enter_cwd(cwd):
    os.chdir(cwd)
    here = os.getcwd()
    if not here.startswith("/") or here.startswith("(unreachable)"):
        raise OSError(1, "cwd %s is outside the container" % cwd)


def reset_signals(sys):
    """Python ignores SIGPIPE and SIGXFSZ, and ignored signals survive execve: undo that (and any mask).

    Signals 32 and 33 are glibc's own: Python's signal module cannot reach them
    (EINVAL), so they go to the kernel directly; GNU make, for one, starts its
    children with both ignored."""
    from ..tricks import signal_module
    _signal = signal_module()
    for s in range(1, _signal.NSIG):
        if s in (_signal.SIGKILL, _signal.SIGSTOP):
            continue
        try:
            _signal.signal(s, _signal.SIG_DFL)
        except (OSError, ValueError):
            sys.default_signal(s)
    _signal.pthread_sigmask(_signal.SIG_SETMASK, [])


def mark_fds_cloexec(sys, keep):
    """Every descriptor from 3+keep upward is closed by execve (no host fd leaks in); 3..3+keep-1 stay."""
    for fd in range(3, 3 + keep):
        try:
            os.set_inheritable(fd, True)
        except OSError:
            pass
    try:
        sys.cloexec_from(3 + keep)
    except OSError as e:
        if e.errno != 38:    # ENOSYS (kernel < 5.11): walk /proc/self/fd instead
            raise
        for name in os.listdir("/proc/self/fd"):
            if int(name) >= 3 + keep:
                try:
                    os.set_inheritable(int(name), False)
                except OSError:
                    pass


def prepare_process(sys, proc, userns, console_fd, seccomp_cfg, preserve_fds, is_init=True):
    """Shared tail of init and exec up to (not including) the last sync: console, limits, user, caps.

    Returns (path, args, env) ready for execve.
    """
    # console: pty made inside the container (its devpts), master sent to the socket
    if proc.get("terminal") and console_fd is not None:
        from .. import console
        name = console.make_pty(console_fd, proc.get("consoleSize"))
        if is_init:   # /dev/console is the init's terminal; an exec's pty must not replace it
            try:
                if not os.path.exists("/dev/console"):
                    os.close(os.open("/dev/console", os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
                sys.mount(name, "/dev/console", None, MS_BIND)
            except OSError:
                pass  # exec into a read-only /dev: the pty is still our stdio
    else:
        os.setsid()   # a session of its own, as with runc: no tie to the caller's terminal or job control
    from . import rlimits, users  # (loaded by preload)
    # rlimits and oom_score_adj need root in the container's user namespace
    rlimits.apply(sys, proc.get("rlimits"))
    if proc.get("oomScoreAdj") is not None:
        rlimits.set_oom_score_adj(proc["oomScoreAdj"])
    env = process_env(proc)
    user = proc.get("user") or {}
    cwd = proc.get("cwd") or "/"
    nnp = bool(proc.get("noNewPrivileges"))
    try:
        enter_cwd(cwd)
        cwd_done = True
    except PermissionError:
        cwd_done = False
    # no host descriptor survives execve, no signal state of ours either; done before any seccomp
    # filter is loaded (an older profile may not allow close_range)
    mark_fds_cloexec(sys, preserve_fds)
    reset_signals(sys)
    # seccomp without no_new_privs needs CAP_SYS_ADMIN: load it while we still have it
    if seccomp_cfg and not nnp:
        load_seccomp(sys, seccomp_cfg)
    from .. import capabilities
    capabilities.apply(sys, proc.get("capabilities") or {}, switch_user=lambda: setup_user(user, userns))
    if not cwd_done:
        enter_cwd(cwd)
    if "HOME" not in env:
        env["HOME"] = users.home_of(user.get("uid", 0))
    if nnp:
        sys.prctl(PR_SET_NO_NEW_PRIVS, 1, what="prctl PR_SET_NO_NEW_PRIVS")
    path = lookup_executable(proc["args"][0], env)
    return path, proc["args"], env


def open_exec_fifo(opts):
    """Block until `start` opens the exec fifo for reading; returns our write end.

    Reopened through /proc/self/fd of the O_PATH fd the parent gave us (no directory permission
    needed after setuid); without a mount namespace /proc may be missing after chroot, then the
    fifo is opened relative to the state directory's fd.
    """
    try:
        return os.open("/proc/self/fd/%d" % opts["fifo_fd"], os.O_WRONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return os.open("exec.fifo", os.O_WRONLY | os.O_CLOEXEC, dir_fd=opts["state_dir_fd"])


def container_init(sys, chan, cfg, opts, userns, flags, cgroup_view):
    """pid 1 of the container: the steps in kernel order, then wait for `start`, then execve."""
    from .. import hooks, rootfs  # (loaded by preload)
    linux = cfg.get("linux") or {}
    proc = cfg.get("process")
    specns = {ns["type"]: ns.get("path") or "" for ns in linux.get("namespaces") or []}
    # 0. a session keyring of our own (keys must not be shared with the host or other containers)
    if not opts.get("no_new_keyring"):
        try:
            sys.join_session_keyring("_ses." + opts.get("id", "")[:64])
        except OSError as e:
            if e.errno != 38:   # ENOSYS: no keyrings in this kernel
                raise
    # without a mount namespace (made or joined) nothing may be mounted: that would be the host's
    mount_ns = "mount" in specns
    # 1. mounts and /dev, with host paths still visible
    if mount_ns:
        ctx = rootfs.MountContext(opts["rootfs"], opts["bundle"], userns=userns,
                                  cgroup_view=cgroup_view if callable(cgroup_view) else lambda: cgroup_view,
                                  cgroupns="cgroup" in specns)
        rootfs.prepare(sys, cfg, ctx)
    # placed late (Placement): the parent is still writing us into the cgroups (an RCU grace period);
    # we go on meanwhile, but are in them before any hook runs and before "ready" (no user code yet)
    placed = cgroup_view.wait if callable(cgroup_view) else lambda: None
    # 2. prestart/createRuntime (parent, runtime namespace) then createContainer (here) hooks
    if hooks.has(cfg, "prestart", "createRuntime", "createContainer", "startContainer"):
        placed()
        chan.send("hooks")
        opts["state_json"] = chan.expect("go").get("state", "{}")
        hooks.run(cfg, ["createContainer"], opts["state_json"])
    # 3. switch root
    if not mount_ns:
        rootfs.chroot_only(sys, opts["rootfs"])
    elif opts.get("no_pivot"):
        rootfs.move_root(sys, opts["rootfs"])
    else:
        rootfs.pivot(sys, opts["rootfs"])
    # 4. sysctl, read-only and masked paths, read-only root, root propagation
    if mount_ns:
        rootfs.finish(sys, cfg)
    # 5. hostname and domainname (uts namespace)
    if cfg.get("hostname"):
        sys.sethostname(cfg["hostname"])
    if cfg.get("domainname"):
        sys.setdomainname(cfg["domainname"])
    if flags & namespaces.KINDS["network"][0]:
        sys.loopback_up()
    exec_fifo = opts["fifo_fd"]
    if proc is None:
        # no process: allowed until start; `start` refuses, the init just waits to be deleted
        placed()
        chan.send("ready")
        chan.close()
        open_exec_fifo(opts)
        os._exit(0)
    # 5b. execution domain (linux.personality)
    set_personality(sys, linux)
    # 6-9. console, rlimits, oom_score_adj, cwd, user, capabilities, no_new_privs, executable lookup
    path, args, env = prepare_process(sys, proc, userns, opts.get("console_fd"), linux.get("seccomp"),
                                      opts.get("preserve_fds", 0))
    # 10. fully set up: tell the parent, then block until `start` opens the exec fifo
    placed()
    chan.send("ready")
    chan.close()
    fd = open_exec_fifo(opts)
    os.write(fd, b"0")
    os.close(fd)
    os.close(exec_fifo)
    os.close(opts["state_dir_fd"])
    # 11. startContainer hooks, in the container
    if hooks.has(cfg, "startContainer"):
        hooks.run(cfg, ["startContainer"], opts.get("state_json", "{}"))
    # 12. seccomp (with no_new_privs) as late as possible
    if proc.get("noNewPrivileges"):
        load_seccomp(sys, linux.get("seccomp"))
    os.execve(path, args, env)


def exec_process(sys, chan, proc, linux, opts, userns):
    """An `exec` process: already in the container's namespaces and cgroup."""
    set_personality(sys, linux)
    path, args, env = prepare_process(sys, proc, userns, opts.get("console_fd"), linux.get("seccomp"),
                                      opts.get("preserve_fds", 0), is_init=False)
    if proc.get("noNewPrivileges"):
        load_seccomp(sys, linux.get("seccomp"))
    os.execve(path, args, env)  # success closes the channel (close-on-exec): the parent reads EOF
