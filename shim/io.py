"""A process's stdio: pipes or a pty master, the CRI log, attached clients.

Output flows one way, and nothing in it waits for gantryd::

    container ──pipe/pty──▶ ProcessIO.on_readable ──▶ crilog.LineEncoder ──▶ log file (always)
                                                  └──▶ every attached client (live bytes, raw)

An unterminated line is held by the encoder and written as a P record once
it has waited crilog.PARTIAL_FLUSH_NS (a loop timer per stream, armed only
while a tail is held), so a prompt without a newline reaches the log within
100 ms.  The log file is written with plain write(2) calls on an O_APPEND fd from the
single-threaded loop, so ``reopen_log`` (open the new file, swap, close the
old) happens between two records: no record is lost or written twice.  An
attached client gets the bytes as read; a slow one is disconnected by the
server, never waited for.  Input: stdin bytes from attach clients are queued
and written when the pipe (or pty) is writable.

Per chunk, only what it needs: a process without a log (a streamed exec)
skips the encoder and its timer, and a stdin write that went through at once
touches neither the selector nor the paused senders.  A 1-byte echo through
``exec cat`` crosses this module twice, so each microsecond here is one of
the round trip's.

Direct stdio (``hand_over``): an exec without a terminal and without a log
may give its pipes to its one client (gantryd's streamed exec) before it
starts; the shim then moves none of its bytes and keeps no copy of those fds.
"""
import errno
import fcntl
import os
import struct
import termios
import time

from gantry.api import shim_pb2

from . import crilog

STREAM_WIRE = {"stdout": shim_pb2.STDOUT, "stderr": shim_pb2.STDERR}
READ_SIZE = 65536
STDIN_HIGH = 1 << 20  # input bytes held for a process that does not read them before its sender pauses


def _nonblocking(fd):
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)


class ProcessIO:
    def __init__(self, loop, terminal=False, stdin=False, log_path="", clock=time.time_ns):
        self.loop = loop
        self.terminal = terminal
        self.stdin = stdin
        self.log_path = log_path
        self.clock = clock
        self.readers = {}  # fd -> "stdout" | "stderr"
        self.stdin_fd = -1
        self.stdin_is_pty = False
        self.stdin_pending = bytearray()
        self.stdin_close_after = False
        self.stdin_paused = set()  # senders told to pause_reading while stdin_pending is full
        self.stdin_waiting = False  # a loop writer is armed for stdin (the pipe was full)
        self.child_fds = ()  # (stdin, stdout, stderr) for the runtime; closed after it ran
        self.encoders = {s: crilog.LineEncoder(s) for s in crilog.STREAMS}
        self.flush_timers = {}  # stream -> the loop timer that logs its held tail
        self.log_fd = -1
        self.log_errors = 0
        self.subscribers = []  # [call, stdout?, stderr?]
        self.pty_master = -1
        self.handed_over = False  # the pipes went to a direct client (hand_over)
        if log_path:
            self.log_fd = self._open_log()

    # -- setup ---------------------------------------------------------------
    def _open_log(self):
        os.makedirs(os.path.dirname(self.log_path) or ".", exist_ok=True)
        return os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)

    def make_pipes(self):
        """Pipes for a process without a terminal; returns the child's (stdin, stdout, stderr)
        (the same ones again when hand_over made them already)."""
        if self.child_fds:
            return self.child_fds
        if self.stdin:
            child_in, self.stdin_fd = os.pipe2(os.O_CLOEXEC)
            _nonblocking(self.stdin_fd)
        else:
            child_in = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        for fd, stream in ((out_r, "stdout"), (err_r, "stderr")):
            _nonblocking(fd)
            self.readers[fd] = stream
        self.child_fds = (child_in, out_w, err_w)
        return self.child_fds

    def hand_over(self):
        """Make the pipes now and give up our ends: [stdout read end, stderr read end] and, with
        stdin, the stdin write end.  The caller sends them and closes them; from then on no byte of
        this process passes through us (its bytes reach no attach client and no log)."""
        if self.terminal or self.log_path or self.subscribers or self.handed_over:
            raise ValueError("hand_over: only for a process without terminal, log or clients")
        self.make_pipes()
        by_stream = {stream: fd for fd, stream in self.readers.items()}
        fds = [by_stream["stdout"], by_stream["stderr"]]
        if self.stdin:
            fds.append(self.stdin_fd)
            self.stdin_fd = -1
        self.readers.clear()
        self.handed_over = True
        return fds

    def null_stdio(self):
        """/dev/null for the runtime's stdio when the process has a terminal."""
        fd = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        self.child_fds = (fd,)
        return (fd, fd, fd)

    def close_child_fds(self):
        for fd in set(self.child_fds):
            os.close(fd)
        self.child_fds = ()

    def set_pty(self, master):
        """Use a pty master (received from the runtime) for output and input."""
        _nonblocking(master)
        self.pty_master = master
        self.readers[master] = "stdout"
        if self.stdin:
            self.stdin_fd = master
            self.stdin_is_pty = True

    def start(self):
        for fd in self.readers:
            self.loop.add_reader(fd, lambda fd=fd: self.on_readable(fd))

    # -- output --------------------------------------------------------------
    def on_readable(self, fd):
        self._read(fd, once=True)

    def _read(self, fd, once):
        stream = self.readers.get(fd)
        while stream:
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno != errno.EIO:  # EIO: the pty's last slave closed
                    raise
                data = b""
            if not data:
                self._eof(fd)
                return
            self.emit(stream, data)
            if once:
                return

    def _eof(self, fd):
        stream = self.readers.pop(fd)
        self.loop.remove_reader(fd)
        self._write_log(self.encoders[stream].flush(self.clock()))
        if fd != self.pty_master:
            os.close(fd)

    def emit(self, stream, data):
        if self.log_path:   # no log (a streamed exec): no records to encode, no tail to time
            self._write_log(self.encoders[stream].feed(data, self.clock()))
            self._arm_flush(stream)
        if self.subscribers:
            message = shim_pb2.AttachResponse(stream=STREAM_WIRE[stream], data=data)
            for call, want_out, want_err in list(self.subscribers):
                if want_out if stream == "stdout" else want_err:
                    call.send(message)

    def _arm_flush(self, stream):
        """A timer for the held tail of stream, unless none is held or one is armed."""
        due = self.encoders[stream].due_at()
        if due is None or stream in self.flush_timers:
            return
        delay = max(0.0, (due - self.clock()) / 1e9)
        self.flush_timers[stream] = self.loop.call_later(delay, lambda: self._flush_due(stream))

    def _flush_due(self, stream):
        del self.flush_timers[stream]
        self._write_log(self.encoders[stream].flush_due(self.clock()))
        self._arm_flush(stream)  # a younger tail (or a clock step): wait for its own time

    def _cancel_flush_timers(self):
        for entry in self.flush_timers.values():
            self.loop.cancel_timer(entry)
        self.flush_timers.clear()

    def _write_log(self, records):
        if not records or self.log_fd < 0:
            return
        view = memoryview(records)
        while view:
            try:
                n = os.write(self.log_fd, view)
            except InterruptedError:
                continue
            except OSError:  # disk full, I/O error: count it, keep the container going
                self.log_errors += 1
                return
            view = view[n:]

    def drain(self):
        """Read everything readable now and flush unterminated lines (the process exited)."""
        for fd in list(self.readers):
            self._read(fd, once=False)
        now = self.clock()
        for encoder in self.encoders.values():
            self._write_log(encoder.flush(now))
        self._cancel_flush_timers()

    def reopen_log(self):
        if not self.log_path:
            return False
        new = self._open_log()
        old, self.log_fd = self.log_fd, new
        if old >= 0:
            os.close(old)
        return True

    # -- attach ---------------------------------------------------------------
    def attach(self, call, stdout, stderr):
        entry = [call, stdout, stderr]
        self.subscribers.append(entry)

        def detach():
            if entry in self.subscribers:
                self.subscribers.remove(entry)
        return detach

    def end_attaches(self):
        for call, _, _ in self.subscribers:
            call.end()
        self.subscribers = []

    # -- input ----------------------------------------------------------------
    def write_stdin(self, data, close=False, source=None):
        """Queue input for the process.  ``source`` (a connection with pause_reading/resume_reading)
        is paused while more than STDIN_HIGH bytes wait for a process that does not read them, and
        resumed once they are written or have nowhere to go: the client then feels back-pressure
        instead of the shim buffering without bound."""
        if self.stdin_fd < 0:
            return
        self.stdin_pending += data
        self.stdin_close_after = self.stdin_close_after or close
        self._flush_stdin()
        if source is not None and self.stdin_fd >= 0 and len(self.stdin_pending) > STDIN_HIGH:
            source.pause_reading()
            self.stdin_paused.add(source)

    def _resume_senders(self):
        paused, self.stdin_paused = self.stdin_paused, set()
        for source in paused:
            source.resume_reading()

    def _flush_stdin(self):
        fd = self.stdin_fd
        if fd < 0:
            return
        while self.stdin_pending:
            try:
                n = os.write(fd, self.stdin_pending)
            except BlockingIOError:
                if not self.stdin_waiting:
                    self.stdin_waiting = True
                    self.loop.add_writer(fd, self._flush_stdin)
                return
            except OSError:  # the reader is gone: drop the input
                self.stdin_pending.clear()
                break
            del self.stdin_pending[:n]
        if self.stdin_waiting:
            self.stdin_waiting = False
            self.loop.remove_writer(fd)
        if self.stdin_paused:
            self._resume_senders()
        if self.stdin_close_after:
            self.close_stdin()

    def close_stdin(self):
        if self.stdin_pending:
            self.stdin_close_after = True
            return
        fd, self.stdin_fd = self.stdin_fd, -1
        self._resume_senders()
        if fd < 0:
            return
        if self.stdin_is_pty:
            try:
                os.write(fd, b"\x04")  # end of file on a terminal is ^D
            except OSError:
                pass
        else:
            self.loop.forget(fd)
            os.close(fd)

    def resize(self, width, height):
        if self.pty_master < 0:
            return False
        fcntl.ioctl(self.pty_master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        return True

    def close(self):
        self._cancel_flush_timers()
        self._resume_senders()           # a paused client must be read again to see its hang-up
        self.end_attaches()
        self.close_child_fds()
        for fd in list(self.readers):
            self.loop.forget(fd)
            if fd != self.pty_master:
                os.close(fd)
        self.readers.clear()
        if self.stdin_fd >= 0 and not self.stdin_is_pty:
            self.loop.forget(self.stdin_fd)
            os.close(self.stdin_fd)
        self.stdin_fd = -1
        if self.pty_master >= 0:
            self.loop.forget(self.pty_master)
            os.close(self.pty_master)
            self.pty_master = -1
        if self.log_fd >= 0:
            os.close(self.log_fd)
            self.log_fd = -1
