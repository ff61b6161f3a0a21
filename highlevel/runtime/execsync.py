"""ExecSync: run a command in a running container and return its output and exit code.

    stdout, stderr, exit_code = exec_sync(shims, ctr, process, timeout)

Through the container's shim: Exec (register the process), Attach (its output,
before it can produce any), Start, then read until the output ends and Wait.
The timeout covers the whole call: when it passes, the process is killed
(SIGKILL), reaped and forgotten, and DeadlineExceeded says so.  Each stream
keeps at most ``MAX_OUTPUT`` bytes (the kubelet's limit for ExecSync); the rest
is read and dropped, so a chatty command never blocks on a full pipe.

A command the runtime cannot start (no such file, not executable) is reported
as the shell would: exit code 127 or 126 with the runtime's words on stderr.
"""
import secrets
import time

from .. import errors

MAX_OUTPUT = 16 * 1024 * 1024
_NOT_FOUND = ("no such file", "not found", "executable file not found")
_NOT_EXECUTABLE = ("permission denied", "exec format error", "is a directory")


def start_failure_code(message):
    text = message.lower()
    if any(s in text for s in _NOT_FOUND):
        return 127
    if any(s in text for s in _NOT_EXECUTABLE):
        return 126
    return None


def exec_sync(shims, ctr, process, timeout):
    client = shims.client(ctr.shim_address)
    exec_id = "sync-" + secrets.token_hex(8)
    deadline = time.monotonic() + timeout if timeout and timeout > 0 else None
    client.exec(exec_id, process, terminal=False, stdin=False)
    out = {"stdout": bytearray(), "stderr": bytearray()}
    try:
        with client.attach(exec_id=exec_id, stdout=True, stderr=True) as stream:
            try:
                client.start(exec_id)
            except errors.Internal as exc:
                code = start_failure_code(str(exc))
                if code is None:
                    raise
                return b"", str(exc).encode() + b"\n", code
            while True:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise errors.DeadlineExceeded("ExecSync %s: command timed out after %ss" % (ctr.id, timeout))
                item = stream.recv(timeout=left)
                if item is None:
                    break
                which, data = item
                buf = out[which]
                if len(buf) < MAX_OUTPUT:
                    buf += data[:MAX_OUTPUT - len(buf)]
        left = None if deadline is None else max(deadline - time.monotonic(), 0.001)
        status = client.wait(exec_id, timeout=left)
        return bytes(out["stdout"]), bytes(out["stderr"]), status.exit_status
    except errors.DeadlineExceeded:
        _kill(client, exec_id)
        raise errors.DeadlineExceeded("ExecSync %s: command timed out after %ss" % (ctr.id, timeout)) from None
    finally:
        try:
            client.delete(exec_id=exec_id, force=True)
        except errors.GantryError:
            pass


def _kill(client, exec_id):
    try:
        client.kill(9, exec_id=exec_id)
        client.wait(exec_id, timeout=5)
    except errors.GantryError:
        pass
