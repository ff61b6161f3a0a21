"""logs: a container's CRI log file (read locally, as crictl does), rotated parts included; -f follows.

Following polls the file: new bytes are printed as complete lines; a rotation (the path names
a new inode, or the file got shorter) reopens it from its start; when nothing came for a while
the container's state is asked, and once it is no longer running what is left is printed and
the command ends.
"""
import glob
import gzip
import os
import sys
import time

from gantry.api import cri_pb2

from . import crilog, resolve
from .client import CtlError

POLL = 0.1
STATE_EVERY = 0.5          # the state is asked this often once the container has run a while,
STATE_FIRST = 0.02         # and this soon at first, doubling: a short `run --rm` ends in tens of ms


class Sink:
    """Where lines go: stdout records to one binary stream, stderr records to another."""

    def __init__(self, out=None, err=None, timestamps=False):
        self.out = out or sys.stdout.buffer
        self.err = err or sys.stderr.buffer
        self.timestamps = timestamps

    def write(self, lines):
        for line in lines:
            stream = self.err if line.stream == "stderr" else self.out
            stream.write(crilog.render(line, self.timestamps))
        if lines:
            self.out.flush()
            self.err.flush()


def log_files(path):
    """The log's parts, oldest first: rotated siblings (``0.log.*``, ``.gz`` too), then ``path``."""
    parts = []
    for name in glob.glob(glob.escape(path) + ".*"):
        if name.endswith(".tmp"):
            continue
        try:
            data = _read(name)
            parts.append((name, crilog.first_time(data), os.stat(name).st_mtime))
        except OSError:
            continue
    return crilog.order_files(parts) + ([path] if os.path.exists(path) else [])


def _read(name):
    if name.endswith(".gz"):
        with gzip.open(name, "rb") as f:
            return f.read()
    with open(name, "rb") as f:
        return f.read()


def container_log_path(client, ref):
    cid = resolve.container_id(client, ref)
    st = client.call("status " + ref, client.runtime.ContainerStatus,
                     cri_pb2.ContainerStatusRequest(container_id=cid)).status
    if not st.log_path:
        raise CtlError("logs %s: the container has no log path (its pod has no log_directory)" % ref)
    return cid, st.log_path


def cmd_logs(client, args, out):
    try:
        since = crilog.parse_since(args.since) if args.since else None
    except crilog.BadTime as exc:
        raise CtlError(str(exc)) from None
    cid, path = container_log_path(client, args.container)
    files = log_files(path)
    if not files and not args.follow:
        raise CtlError("logs %s: %s does not exist (is it on another machine?)" % (args.container, path))
    sink = Sink(timestamps=args.timestamps)
    reader = crilog.Lines()
    lines = []
    for name in files[:-1] if path in files else files:
        lines += reader.feed(_read(name))
    offset = 0
    if path in files:
        with open(path, "rb") as f:
            data = f.read()
        offset = len(data)
        lines += reader.feed(data)
    if not args.follow:
        lines += reader.flush()
    sink.write(crilog.select(lines, args.tail, since))
    if args.follow:
        follow(client, cid, path, sink, reader, offset)


def _state(client, cid):
    try:
        return client.runtime.ContainerStatus(cri_pb2.ContainerStatusRequest(container_id=cid),
                                              timeout=client.timeout).status.state
    except client.grpc.RpcError as exc:
        if exc.code() == client.grpc.StatusCode.NOT_FOUND:
            return None
        raise client.error("status " + cid, exc) from None


def follow(client, cid, path, sink, reader=None, offset=0, stop=None):
    """Print what is appended to ``path`` until the container is no longer running (or ``stop()``)."""
    reader = reader or crilog.Lines()
    f, ino = None, None
    next_check, every = 0.0, STATE_FIRST
    try:
        while True:
            if f is None:
                try:
                    f = open(path, "rb")
                    ino = os.fstat(f.fileno()).st_ino
                    f.seek(offset)
                except FileNotFoundError:
                    f = None
            data = f.read() if f is not None else b""
            if data:
                sink.write(reader.feed(data))
                continue
            if f is not None and _rotated(path, ino, f.tell()):
                sink.write(reader.feed(f.read()))
                f.close()
                f, offset = None, 0
                continue
            now = time.monotonic()
            if now >= next_check:
                next_check, every = now + every, min(every * 2, STATE_EVERY)
                if (stop is not None and stop()) or _state(client, cid) not in (cri_pb2.CONTAINER_RUNNING,
                                                                              cri_pb2.CONTAINER_CREATED):
                    _drain(f, path, sink, reader)
                    return
            time.sleep(max(0.0, min(POLL, next_check - time.monotonic())))
    finally:
        if f is not None:
            f.close()


def _drain(f, path, sink, reader, quiet_reads=2):
    """The writer may append the last records just after the exit is recorded: read until the
    file has been quiet for ``quiet_reads`` polls."""
    if f is None:
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            sink.write(reader.flush())
            return
    quiet = 0
    while quiet < quiet_reads:
        data = f.read()
        if data:
            sink.write(reader.feed(data))
            quiet = 0
        else:
            quiet += 1
            time.sleep(POLL / 2)
    sink.write(reader.flush())


def _rotated(path, ino, pos):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    return st.st_ino != ino or st.st_size < pos
