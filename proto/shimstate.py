"""A shim's state directory: the files gantry-shim writes there and gantryd reads back.

A contract between gantry-shim (writer) and gantryd (reader, also after a restart, when
the shim may be gone); both import it from here, as they do framing.py.

    <state dir>/
        shim.lock    flock held by the live shim (one shim per container)
        shim.sock    the shim's task API socket (mode 0600)
        address      the socket path, one line: how a restarted gantryd finds the shim
        shim.pid     the shim's pid
        exit         the exit file (below), written the moment the container exits

The exit file outlives the shim (``gantry-shim delete`` and a restarted gantryd read it
when nobody else is left to ask).  One line of JSON, written to a temp file, fsynced,
renamed over ``<state dir>/exit``: a reader sees the whole record or none, never half of
one, even after a kill -9 at any instant.

    {"exited_at_ns": 1796...000, "pid": 4242, "reason": "OOMKilled", "status": 137}

``encode_exit``/``decode_exit`` are the pure format; ``write_exit``/``read_exit`` the
atomic file operations on top.
"""
import json
import os

LOCK = "shim.lock"
SOCKET = "shim.sock"
ADDRESS = "address"
PIDFILE = "shim.pid"
EXIT = "exit"


def exit_path(state_dir):
    return os.path.join(state_dir, EXIT)


def encode_exit(pid, status, exited_at_ns, reason=""):
    """(record, bytes) of one exit record."""
    record = {"pid": pid, "status": status, "exited_at_ns": exited_at_ns, "reason": reason}
    return record, json.dumps(record, sort_keys=True).encode() + b"\n"


def decode_exit(data):
    """The record in ``data``, or None when it is not an exit record."""
    try:
        record = json.loads(data)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("status"), int):
        return None
    return record


def write_exit(state_dir, pid, status, exited_at_ns, reason=""):
    """Write the exit record atomically (temp + fsync + rename); returns it."""
    record, data = encode_exit(pid, status, exited_at_ns, reason)
    final = exit_path(state_dir)
    tmp = final + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, final)
    return record


def read_exit(state_dir):
    """The record, or None when the container has not exited (or the file is not ours)."""
    try:
        with open(exit_path(state_dir), "rb") as f:
            return decode_exit(f.read())
    except OSError:
        return None


def read_address(state_dir):
    """The socket path the shim published, or None (absent, empty, or the socket is gone)."""
    try:
        with open(os.path.join(state_dir, ADDRESS)) as f:
            address = f.read().strip()
    except OSError:
        return None
    return address if address and os.path.exists(address) else None
