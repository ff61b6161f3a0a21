"""A streamed exec's bytes moved between the client and the process's own pipes, in gantryd.

The shim hands an exec without a terminal its pipes (shimclient.attach_direct,
AttachRequest.direct in shim.proto), so no shim sits between the client and
the process::

    client stdin  --connection's reader thread: os.write-->  stdin pipe  --> process
    process  --> stdout/stderr pipes  --output thread: poll, os.read-->  io.stdout / io.stderr

A 1-byte echo through ``exec cat`` so crosses two processes fewer (the shim
read, framed and wrote each byte twice: ~80 us of a ~300 us round trip here).

Back-pressure, as through the shim: a slow client blocks the output thread's
write, the pipe fills, the process blocks; a process that does not read its
stdin fills the pipe and the reader thread waits in ``take`` (it polls the
pipe, looking at ``done`` every POLL), so the client's TCP window closes.

Ending: both output pipes at EOF end the output thread; ``stop`` wakes it
through a pipe of its own in the poll set (a leftover child may hold the
process's pipes open for ever), wakes a stdin write waiting for room, and
closes every fd: nothing is left behind.
"""
import os
import select
import threading
import time

POLL = 0.25
READ_SIZE = 65536


class DirectPumps:
    """The same face as backend._Pumps (start, output, pipe_stdin, stop, waiting_since), over fds."""

    tty = False

    def __init__(self, io, stdio):
        self.io, self.stdio = io, stdio
        self.done = threading.Event()
        self.threads = []
        self.waiting_since = None
        self.sending = threading.Lock()   # held while stdin goes to the pipe
        self.stdin_failed = False
        self.wake_r, self.wake_w = os.pipe2(os.O_CLOEXEC)

    def start(self, target, *args):
        t = threading.Thread(target=target, args=args, daemon=True, name="stream-pump")
        t.start()
        self.threads.append(t)
        return t

    def output(self):
        """Both pipes to the client until both are at EOF (or stop); blocks on a slow client."""
        writers = {self.stdio.stdout: self.io.stdout, self.stdio.stderr: self.io.stderr}
        poller = select.poll()
        for fd in (*writers, self.wake_r):
            poller.register(fd, select.POLLIN)
        try:
            while writers:
                self.waiting_since = time.monotonic()
                ready = poller.poll()
                self.waiting_since = None
                for fd, _ in ready:
                    if fd == self.wake_r:
                        return
                    data = os.read(fd, READ_SIZE)
                    if not data:
                        poller.unregister(fd)
                        del writers[fd]
                    elif writers[fd] is not None:
                        writers[fd].write(data)
        except OSError:
            pass   # the client went away (BrokenPipeError from its writer)

    def pipe_stdin(self, on_eof=None):
        """The client's stdin straight into the pipe from the connection's reader thread."""
        os.set_blocking(self.stdio.stdin, False)

        def take(data):
            with self.sending:
                if self.done.is_set() or self.stdin_failed or self.stdio.stdin is None:
                    return
                if not data:
                    self.close_stdin()
                    return
                try:
                    self._write_all(data)
                except OSError:        # EPIPE: the process (and every child) closed its stdin
                    self.stdin_failed = True
        self.io.stdin.pipe(take)

    def _write_all(self, data):
        view = memoryview(data)
        poller = None
        while view and not self.done.is_set():
            try:
                view = view[os.write(self.stdio.stdin, view):]
            except BlockingIOError:   # the process does not read: wait, so the client does too
                if poller is None:
                    poller = select.poll()
                    poller.register(self.stdio.stdin, select.POLLOUT)
                poller.poll(POLL * 1000)

    def close_stdin(self):
        fd, self.stdio.stdin = self.stdio.stdin, None
        if fd is not None:
            os.close(fd)

    def stop(self):
        self.done.set()
        self.io.release()
        os.write(self.wake_w, b"x")
        for t in self.threads:
            t.join()
        with self.sending:   # a stdin write in flight has ended (done is set: it polls no more)
            pass

    def close(self):
        """After stop: the pipes, the shim call and the wake pipe."""
        self.stdio.close()
        os.close(self.wake_r)
        os.close(self.wake_w)
