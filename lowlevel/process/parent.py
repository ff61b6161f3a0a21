"""The gantry-oci side of making a container process: fork, drive the channel, clean up on failure.

``spawn_init`` (create) and ``spawn_exec`` (exec) fork stage 1 (init.py) and
answer its messages (channel.py).  Any error the child reports is raised
here as ChildError with the child's own text.
"""
import errno
import os

from .. import hooks, namespaces
from ..syscalls import CLONE_NEWCGROUP, CLONE_NEWPID, CLONE_NEWTIME, PR_SET_CHILD_SUBREAPER
from . import channel


class ChildError(Exception):
    """The new process failed; the text is its own report."""


def become_subreaper(sys):
    """Orphaned descendants (the init after stage 1 exits) are re-parented to us, so we can wait for them."""
    sys.prctl(PR_SET_CHILD_SUBREAPER, 1, what="prctl PR_SET_CHILD_SUBREAPER")


def _exit_text(pid):
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return "exited"
    code = os.waitstatus_to_exitcode(status)
    return "exit status %d" % code if code >= 0 else "killed by signal %d" % -code


def _next(chan, stage_pid, what):
    msg = chan.recv()
    if msg is None:
        raise ChildError("%s exited without reporting (%s)" % (what, _exit_text(stage_pid)))
    if msg.get("t") == "error":
        raise ChildError(msg.get("msg", "unknown error"))
    return msg


def _send(chan, stage_pid, what, t, **fields):
    """Send to the child; if it already died, raise its own report instead of EPIPE."""
    try:
        chan.send(t, **fields)
    except BrokenPipeError:
        _next(chan, stage_pid, what)
        raise ChildError("%s exited before %r was delivered" % (what, t)) from None


def _abort(chan, text):
    try:
        chan.send("abort", msg=text)
    except OSError:
        pass


def _fork(sys, linux, final, keep_fds=(), terminal=False, cgroup_view_needed=True, init_placed_late=False,
          cgroup_dirs=None, self_place=None, direct=None):
    """(pid, channel) of stage 1; with direct (clone flags, see direct_flags) of the container init
    itself, when clone3 could make it in its namespaces."""
    pchan, cchan = channel.pair()
    pid = _clone_init(sys, direct, self_place) if direct is not None else None
    if pid is None:
        direct = None
        pid = os.fork()
    if pid == 0:
        pchan.close()
        try:   # imported in the child only: the parent never runs it
            from . import init
            if direct is not None:
                init.born_init(sys, cchan, linux, direct, final, terminal, cgroup_dirs, self_place)
            init.stage1(sys, cchan, linux, final, terminal, cgroup_view_needed, init_placed_late,
                        cgroup_dirs, self_place)   # never returns
        finally:
            os._exit(1)   # the child must never unwind into the parent's code
    cchan.close()
    for fd in keep_fds:
        if fd is not None:
            os.close(fd)
    return pid, pchan


def direct_flags(linux, manager):
    """The clone flags that make the container init in one step (born_init), or None for stage 1.

    Direct when there is nothing stage 1 alone can do: no namespace to join, no user namespace (id
    maps), no cgroup namespace (made from inside the cgroups) or time namespace (offsets before any
    process enters), a pid namespace (else stage 1 is the init anyway) and cgroups to place into.
    """
    if manager is None or linux.get("enterRoot") or linux.get("timeOffsets"):
        return None
    specns = linux.get("namespaces") or []
    if any(ns.get("type") == "user" for ns in specns):
        return None
    flags, join = namespaces.plan(specns)
    if join or not flags & CLONE_NEWPID or flags & (CLONE_NEWCGROUP | CLONE_NEWTIME):
        return None
    return flags


def _self_place(manager):
    """What stage 1 needs to enter the container's cgroups itself: its v1 dirs and cgroup2 dir."""
    paths = manager.paths()
    return {"v1": sorted(set(paths["v1"].values())), "unified": paths.get("unified")}


def _clone_init(sys, flags, self_place):
    """clone3 of the init into its namespaces and cgroup2 directory; None when this kernel refuses
    clone3 or CLONE_INTO_CGROUP (< 5.7, or a seccomp filter): stage 1 takes over then."""
    unified = (self_place or {}).get("unified")
    fd = os.open(unified, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC) if unified else -1
    try:
        pid = sys.clone3(flags, fd, unified or "")
    except OSError as e:
        if e.errno not in (errno.ENOSYS, errno.EINVAL, errno.E2BIG, errno.EPERM):
            raise
        pid = None
    if fd >= 0:   # a host cgroup directory: never kept open in the container
        os.close(fd)
    return pid


def spawn_init(sys, cfg, opts, manager, on_pid, state_for_hooks):
    """Fork the container init; returns its host pid once it reports ready (blocked on the exec fifo).

    manager: the cgroup Manager (or None); on_pid(pid) records the pid as soon as it is known;
    state_for_hooks(pid, status) gives the state JSON for hooks.
    """
    linux = cfg.get("linux") or {}

    def final(sys_, chan, userns, flags, cgroup_view):
        from . import init
        init.container_init(sys_, chan, cfg, opts, userns, flags, cgroup_view)

    self_place = None
    if manager is not None:   # made before the fork: pid 1 bind-mounts them without waiting (init.Placement)
        manager.create()
        self_place = _self_place(manager)
    stage, chan = _fork(sys, linux, final, keep_fds=(opts.get("fifo_fd"), opts.get("state_dir_fd"),
                                                     opts.get("console_fd")),
                        terminal=bool((cfg.get("process") or {}).get("terminal")), init_placed_late=True,
                        cgroup_dirs=manager.dirs() if manager is not None else [], self_place=self_place,
                        direct=direct_flags(linux, manager))
    init_pid = 0

    def placed():
        _send(chan, stage, "container init", "placed")

    try:
        # limits first: nothing enters the cgroups before they are complete (pid 1 mknods /dev
        # early: a devices list half written would refuse it); stage 1 starts up meanwhile
        try:
            if manager is not None:
                manager.apply(linux.get("resources") or {})
        except Exception as e:
            _abort(chan, str(e))
            raise
        hello = _next(chan, stage, "container init")
        # place "self": stage 1 moves itself and forks pid 1 into the cgroups (init.place_self), no
        # grace period.  Else stage 1 is put in the cgroups here while it starts up: the first write
        # to a cgroup.procs waits for an RCU grace period (4-15 ms here), which stage 1 spends
        # unsharing and pid 1 setting up.  pid 1 is in the cgroups by inheritance, or, when stage 1
        # forked it before the move, by its pid below (cheap: the grace period has passed); either
        # way before "placed"
        own = hello.get("place") == "self"
        try:
            if manager is not None and not own:
                manager.add(stage)
        except Exception as e:
            _abort(chan, str(e))
            raise
        if own:
            _send(chan, stage, "container init", "limits")
        if hello.get("userns"):
            try:
                namespaces.write_id_maps(stage, linux)
            except Exception as e:
                _abort(chan, str(e))
                raise
            _send(chan, stage, "container init", "go")
        late = hello.get("place") in ("init", "self")
        if not late:   # stage 1 makes a cgroup namespace: it waits inside the cgroups before it unshares
            placed()
        init_pid = _next(chan, stage, "container init")["pid"] or stage   # 0: stage is the init (direct)
        on_pid(init_pid)
        if late:       # pid 1 mounts meanwhile; it waits for "placed" before any hook or pivot_root
            try:
                if manager is not None and init_pid != stage and not own:
                    manager.add(init_pid)
            except Exception as e:
                _abort(chan, str(e))
                raise
            placed()
        if init_pid != stage:
            os.waitpid(stage, 0)
        while True:
            msg = _next(chan, init_pid if init_pid == stage else stage, "container init")
            if msg["t"] == "ready":
                return init_pid
            if msg["t"] == "hooks":
                state = state_for_hooks(init_pid, "creating")
                try:   # runtime-tools (and crun) give prestart the "created" status
                    hooks.run(cfg, ["prestart"], state_for_hooks(init_pid, "created"))
                    hooks.run(cfg, ["createRuntime"], state)
                except hooks.HookError as e:
                    _abort(chan, str(e))
                    raise ChildError(str(e)) from None
                _send(chan, stage, "container init", "go", state=state)
    except BaseException:
        for pid in {stage, init_pid} - {0}:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(stage, os.WNOHANG)
        except ChildProcessError:
            pass
        raise
    finally:
        chan.close()


def spawn_exec(sys, proc, linux, opts, manager):
    """Fork a process into a running container; returns its host pid once execve succeeded."""

    def final(sys_, chan, userns, flags, cgroup_view):
        from . import init
        init.exec_process(sys_, chan, proc, linux, opts, userns)

    # stage 1 enters them itself (init.place_self): no RCU grace period here
    self_place = _self_place(manager) if manager is not None else None
    stage, chan = _fork(sys, linux, final, keep_fds=(opts.get("console_fd"),), terminal=bool(proc.get("terminal")),
                        cgroup_view_needed=False, self_place=self_place)
    pid = 0
    try:
        hello = _next(chan, stage, "exec process")
        _send(chan, stage, "exec process", "go")
        if hello.get("place") == "self":   # the container's cgroups and limits exist already
            _send(chan, stage, "exec process", "limits")
        else:
            try:
                if manager is not None:
                    manager.add(stage)
            except Exception as e:
                _abort(chan, str(e))
                raise
            _send(chan, stage, "exec process", "placed")
        pid = _next(chan, stage, "exec process")["pid"]
        if pid != stage:
            os.waitpid(stage, 0)
        msg = chan.recv()   # EOF: execve succeeded and closed the channel
        if msg is not None and msg.get("t") == "error":
            raise ChildError(msg.get("msg"))
        return pid
    except BaseException:
        if pid:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        raise
    finally:
        chan.close()
