"""logs: a container's CRI log file (read locally, as crictl does), rotated parts included; -f follows.

Following reads the file every POLL seconds: new bytes are printed as complete lines; a
rotation (the path names a new inode, or the file got shorter) reopens it from its start.  Between
reads it waits on an exitwatch.ExitWatch (``run`` passes one fed by GetContainerEvents; ``logs -f``
asks ContainerStatus on a backing-off schedule); once the runtime has recorded the exit, the log
is complete: what is left is read to its end, once, and the command ends.
"""
import glob
import gzip
import os
import sys

from gantry.api import cri_pb2

from . import crilog, resolve
from .client import CtlError
from .exitwatch import ExitWatch

POLL = 0.05               # how often a followed file is read for new bytes


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


def follow(client, cid, path, sink, reader=None, offset=0, stop=None, watch=None):
    """Print what is appended to ``path`` until the runtime has recorded the container's exit
    (``watch``: an ExitWatch; one is made when None) or ``stop()``; then what is left, to the end."""
    reader = reader or crilog.Lines()
    own = watch is None
    if own:
        watch = ExitWatch(client, cid)
    f, ino = None, None
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
            if (stop is not None and stop()) or watch.wait(POLL):
                _drain(f, ino, offset, path, sink, reader)
                return
    finally:
        if f is not None:
            f.close()
        if own:
            watch.close()


def _drain(f, ino, offset, path, sink, reader):
    """The exit is recorded, so the writer is done (exitwatch.py says why): read what is left to
    the end, once; if the log was rotated since the last read, the new file too."""
    if f is not None:
        sink.write(reader.feed(f.read()))
    try:
        with open(path, "rb") as g:
            if f is None:
                g.seek(offset)
            if f is None or os.fstat(g.fileno()).st_ino != ino:
                sink.write(reader.feed(g.read()))
    except FileNotFoundError:
        pass
    sink.write(reader.flush())


def _rotated(path, ino, pos):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    return st.st_ino != ino or st.st_size < pos
