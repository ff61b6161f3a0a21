"""Lifecycle verbs of a container: create, start, run, kill, delete, state, pause, resume, exec.

Each verb reads the record (state.py), checks the command against the one
status table (state.TRANSITIONS), acts, and writes the record back.  The
record keeps a copy of config.json as it was at create, so later verbs do
not depend on the bundle staying unchanged.
"""
import os

from . import hooks
from . import state as st
from .log import rfc3339_now


class RuntimeFailure(Exception):
    """A verb failed; the text is what the user sees."""


def cgroup_manager(cfg_linux, container_id):
    from . import cgroups
    return cgroups.manager_for(cfg_linux, container_id)


def manager_from(record):
    if not record.get("cgroups"):
        return None
    from . import cgroups
    return cgroups.from_state(record["cgroups"])


def current_status(store, record):
    def frozen():
        m = manager_from(record)
        try:
            return m is not None and m.state() == "frozen"
        except Exception:
            return False
    return st.status(record, store, frozen if record.get("status") == "paused" or record.get("cgroups") else None)


def load(store, container_id, command):
    """(record, status) after checking that command is allowed now."""
    record = store.read(container_id)
    status = current_status(store, record)
    st.transition(status, command, container_id)
    return record, status


def hook_state(record, pid, status):
    from .jsonio import dumps
    r = dict(record, pid=pid)
    return dumps(st.oci_state(r, status))


def write_pid_file(path, pid):
    path = os.path.abspath(path)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(str(pid))
    os.rename(tmp, path)


# ------------------------------------------------------------------ create

def warn_refused_ambient(proc, log):
    """Log (as runc does) each ambient capability the kernel would refuse; the init leaves them out."""
    if not (proc.get("capabilities") or {}).get("ambient"):
        return   # nothing to warn about: no import, no read of cap_last_cap
    from . import capabilities
    for text in capabilities.ambient_warnings(proc.get("capabilities"), capabilities.last_cap()):
        if log is not None:
            log.warn(text)


def create(sys, store, container_id, bundle, pid_file=None, console_socket=None, console_fd=None,
           no_pivot=False, preserve_fds=0, log=None, cfg=None, no_new_keyring=False):
    from . import spec  # only create validates a config: start, kill, delete, state never load it
    from .process import parent
    bundle = os.path.abspath(bundle or ".")
    cfg = spec.validate(cfg if cfg is not None else spec.load(bundle), bundle)
    proc = cfg.get("process") or {}
    if proc.get("terminal") and console_socket is None and console_fd is None:
        raise spec.SpecError("process.terminal is true: --console-socket is required")
    rootfs = spec.rootfs_path(cfg, bundle)
    warn_refused_ambient(proc, log)
    store.reserve(container_id)
    record = {"id": container_id, "bundle": bundle, "rootfs": rootfs, "pid": 0, "pid_start": None,
              "status": "creating", "created": rfc3339_now(), "annotations": cfg.get("annotations") or {},
              "owner": "", "ociVersion": cfg.get("ociVersion"), "cgroups": None, "config": cfg}
    manager = None
    try:
        store.write(record)
        fifo = store.fifo(container_id)
        os.mkfifo(fifo, 0o622)
        os.chmod(fifo, 0o622)
        fifo_fd = os.open(fifo, os.O_PATH | os.O_CLOEXEC)
        state_dir_fd = os.open(store.dir(container_id), os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        if proc.get("terminal") and console_fd is None:
            from . import console
            console_fd = console.connect(console_socket)
        linux = cfg.get("linux") or {}
        try:
            manager = cgroup_manager(linux, container_id)
        except ImportError:
            manager = None
        if manager is not None:
            record["cgroups"] = manager.paths()
        opts = {"rootfs": rootfs, "bundle": bundle, "fifo_fd": fifo_fd, "state_dir_fd": state_dir_fd,
                "console_fd": console_fd,
                "no_pivot": no_pivot, "preserve_fds": preserve_fds, "id": container_id,
                "no_new_keyring": no_new_keyring}

        def on_pid(pid):
            record["pid"] = pid
            record["pid_start"] = st.pid_start_time(pid)
            store.write(record)

        pid = parent.spawn_init(sys, cfg, opts, manager, on_pid, lambda p, s: hook_state(record, p, s))
        record["status"] = "created"
        record["pid_start"] = record.get("pid_start") or st.pid_start_time(pid)   # read once in on_pid
        store.write(record)
        if pid_file:
            write_pid_file(pid_file, pid)
        return record
    except BaseException:
        if record.get("pid", 0) > 0:
            try:
                os.kill(record["pid"], 9)
            except ProcessLookupError:
                pass
        if manager is not None:
            _destroy_cgroups(manager, kill=True)
        store.remove(container_id)
        raise


def _destroy_cgroups(manager, kill=False, log=None, container_id=""):
    """Remove the container's cgroups, killing what is left in them first when asked."""
    import time
    for attempt in range(50):
        try:
            if kill and attempt:   # something is still inside (a forked child outliving the init)
                manager.signal_all(9)
            manager.destroy()
            return
        except Exception as e:
            if attempt == 49:
                if log:
                    log.warn("delete %s: cgroups: %s" % (container_id, e))
                return
            time.sleep(0.002 * (attempt + 1))


# ------------------------------------------------------------------- start

def start(store, container_id, log=None, record=None):
    """record: the one create just returned (run), instead of reading state.json again."""
    import time
    if record is None:
        record, _ = load(store, container_id, "start")
    else:
        st.transition(current_status(store, record), "start", container_id)
    cfg = record.get("config") or {}
    fifo = store.fifo(container_id)
    if not cfg.get("process"):
        # an error, as the spec wants; the init (which has nothing to run) is released and exits,
        # so the container becomes stopped and a plain delete cleans it up
        _release_init(record, fifo)
        raise RuntimeFailure("cannot start container %s: config.json has no process" % container_id)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        delay = 0.0002
        deadline = time.monotonic() + 10
        while True:
            try:
                if os.read(fd, 1):
                    break
            except BlockingIOError:
                pass
            if not st.init_alive(record):
                raise RuntimeFailure("cannot start container %s: its init has exited" % container_id)
            if time.monotonic() > deadline:
                raise RuntimeFailure("cannot start container %s: init did not open the exec fifo" % container_id)
            time.sleep(delay)
            delay = min(delay * 2, 0.01)
    finally:
        os.close(fd)
    os.unlink(fifo)
    if hooks.has(cfg, "poststart"):
        _wait_exec(record)
        hooks.run(cfg, ["poststart"], hook_state(record, record["pid"], "running"),
                  warn=log.warn if log else None)
    return record


def _release_init(record, fifo, timeout=5.0):
    import time
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        deadline = time.monotonic() + timeout
        while st.init_alive(record) and time.monotonic() < deadline:
            time.sleep(0.001)
    finally:
        os.close(fd)
    if not st.init_alive(record):
        os.unlink(fifo)


def _wait_exec(record, timeout=2.0):
    """Until the init has replaced our interpreter with the user's program (poststart runs after)."""
    import sys
    import time
    ours = os.path.realpath(sys.executable)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and st.init_alive(record):
        try:
            if os.path.realpath("/proc/%d/exe" % record["pid"]) != ours:
                return
        except OSError:
            return
        time.sleep(0.0005)


# -------------------------------------------------------------- kill/delete

def kill(store, container_id, sig, all_processes=False):
    record, status = load(store, container_id, "kill")
    manager = manager_from(record)
    if all_processes and manager is not None:
        manager.signal_all(sig)
        return
    try:
        os.kill(record["pid"], sig)
    except ProcessLookupError:
        raise RuntimeFailure("container %s: no such process" % container_id) from None


def _wait_gone(record, timeout=10.0):
    import time
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while st.init_alive(record):
        try:
            os.waitpid(record["pid"], os.WNOHANG)   # we may be its parent (run, subreaper)
        except ChildProcessError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeFailure("container %s: init %d did not die" % (record["id"], record["pid"]))
        time.sleep(delay)
        delay = min(delay * 2, 0.02)


def delete(store, container_id, force=False, log=None, record=None):
    """record: the state as the caller last wrote it (run), instead of reading state.json again."""
    try:
        if record is None or not os.path.exists(os.path.join(store.dir(container_id), "state.json")):
            record = store.read(container_id)   # (also when someone deleted it meanwhile: then it fails)
    except st.StateError:
        if force:   # like runc: nothing to delete is success with --force (containerd's cleanup relies on it)
            if os.path.isdir(store.dir(container_id)):
                # left half-made by a create killed with -9, or a record torn by a crash of the machine
                # (state.json is not fsynced): nothing it names can be found any more, so only the dir goes
                store.remove(container_id)
            return
        raise
    status = current_status(store, record)
    st.transition(status, "delete-force" if force else "delete", container_id)
    manager = manager_from(record)
    if status != "stopped":
        if manager is not None:
            try:
                manager.signal_all(9)
                manager.thaw()
            except Exception:
                pass
        if record.get("pid", 0) > 0 and st.init_alive(record):   # never kill(0): that is our own group
            try:
                os.kill(record["pid"], 9)
            except ProcessLookupError:
                pass
        _wait_gone(record)
    cfg = record.get("config") or {}
    if hooks.has(cfg, "poststop"):
        hooks.run(cfg, ["poststop"], hook_state(record, 0, "stopped"), warn=log.warn if log else print)
    if manager is not None:
        _destroy_cgroups(manager, kill=True, log=log, container_id=container_id)
    store.remove(container_id)


# ------------------------------------------------------------- pause/resume

def pause(store, container_id):
    _freeze(store, container_id, "pause", frozen=True)


def resume(store, container_id):
    _freeze(store, container_id, "resume", frozen=False)


def _freeze(store, container_id, verb, frozen):
    record, _ = load(store, container_id, verb)
    manager = manager_from(record)
    if manager is None:
        raise RuntimeFailure("%s %s: the container has no cgroup freezer" % (verb, container_id))
    if frozen:
        manager.freeze()
    else:
        manager.thaw()
    record["status"] = "paused" if frozen else "running"
    store.write(record)


def processes(store, container_id):
    record, _ = load(store, container_id, "ps")
    manager = manager_from(record)
    if manager is not None:
        return sorted(manager.pids())
    return [record["pid"]] if st.init_alive(record) else []
