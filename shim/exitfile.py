"""The exit file: the container's exit status on disk, the moment it exits.

It outlives the shim (``gantry-shim delete`` and a restarted gantryd read it
when nobody else is left to ask).  One line of JSON, written to a temp file,
fsynced, renamed over ``<state dir>/exit``: a reader sees the whole record or
none, never half of one, even after a kill -9 at any instant.

    {"pid": 4242, "status": 137, "exited_at_ns": 1796...000, "reason": "OOMKilled"}
"""
import json
import os

NAME = "exit"


def path_in(state_dir):
    return os.path.join(state_dir, NAME)


def write(state_dir, pid, status, exited_at_ns, reason=""):
    record = {"pid": pid, "status": status, "exited_at_ns": exited_at_ns, "reason": reason}
    final = path_in(state_dir)
    tmp = final + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, json.dumps(record, sort_keys=True).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, final)
    return record


def read(state_dir):
    """The record, or None when the container has not exited (or the file is not ours)."""
    try:
        with open(path_in(state_dir), "rb") as f:
            record = json.loads(f.read())
    except (FileNotFoundError, ValueError, RecursionError):   # RecursionError: absurd nesting
        return None
    if not isinstance(record, dict) or not isinstance(record.get("status"), int):
        return None
    return record


def status_of(wait_status):
    """The exit status a waitpid status stands for: the code, or 128 + the signal."""
    if os.WIFSIGNALED(wait_status):
        return 128 + os.WTERMSIG(wait_status)
    return os.WEXITSTATUS(wait_status)
