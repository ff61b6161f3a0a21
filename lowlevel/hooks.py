"""OCI hooks: run each with the state JSON on stdin, its args and env, and its timeout.

When each kind runs (runtime-spec "Lifecycle"):
    prestart, createRuntime   by the parent during create, after the namespaces and mounts
                              exist, before pivot_root (runtime namespace)
    createContainer           by the init, before pivot_root (container namespaces)
    startContainer            by the init after `start`, just before execve (container)
    poststart                 by `start` once the user process runs; failure is a warning
    poststop                  by `delete`; failure is a warning
"""
import os
import time


class HookError(Exception):
    pass


def run_one(kind, hook, state_json):
    path = hook["path"]
    args = hook.get("args") or [path]
    env = dict(e.split("=", 1) for e in hook.get("env") or [] if "=" in e)
    timeout = hook.get("timeout")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: stdin from the pipe, then the hook
        try:
            from .tricks import signal_module
            _signal = signal_module()
            for s in (_signal.SIGPIPE, _signal.SIGXFSZ, _signal.SIGINT):
                _signal.signal(s, _signal.SIG_DFL)
            os.dup2(r, 0)
            os.execve(path, args, env)
        except OSError as e:
            os.write(2, ("%s hook %s: %s\n" % (kind, path, e.strerror)).encode())
        os._exit(127)
    os.close(r)
    try:
        os.write(w, state_json.encode() if isinstance(state_json, str) else state_json)
    except BrokenPipeError:
        pass
    finally:
        os.close(w)
    deadline = time.monotonic() + timeout if timeout else None
    delay = 0.0005
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if deadline and time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise HookError("%s hook %s: timed out after %ss" % (kind, path, timeout))
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        what = "exit status %d" % code if code > 0 else "killed by signal %d" % -code
        raise HookError("%s hook %s: %s" % (kind, path, what))


def run(cfg, kinds, state_json, warn=None):
    """Run every hook of the given kinds in order; warn(msg) instead of raising when given."""
    hooks = cfg.get("hooks") or {}
    for kind in kinds:
        for hook in hooks.get(kind) or []:
            try:
                run_one(kind, hook, state_json)
            except HookError as e:
                if warn is None:
                    raise
                warn(str(e))


def has(cfg, *kinds):
    hooks = cfg.get("hooks") or {}
    return any(hooks.get(k) for k in kinds)
