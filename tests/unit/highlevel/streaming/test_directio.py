"""DirectPumps over real pipes: the bytes, the EOFs, back-pressure and a stop that leaves nothing behind."""
import os
import threading
import time

import pytest
from gantry.highlevel.shimclient import DirectStdio
from gantry.highlevel.streaming.buffer import ByteBuffer
from gantry.highlevel.streaming.directio import DirectPumps


class Writer:
    def __init__(self, fail=False, block=None):
        self.got, self.fail, self.block = [], fail, block

    def write(self, data):
        if self.block is not None:
            self.block.wait()
        if self.fail:
            raise BrokenPipeError("client gone")
        self.got.append(data)


class IO:
    def __init__(self, stderr=True, stdout=None):
        self.stdin = ByteBuffer()
        self.stdout, self.stderr = stdout or Writer(), Writer() if stderr else None
        self.released = False

    def release(self):
        self.released = True
        self.stdin.discard()


class Conn:
    closed = False

    def close(self):
        self.closed = True


class Process:
    """The far ends of the pipes, as a process holds them."""

    def __init__(self):
        out_r, self.out = os.pipe()
        err_r, self.err = os.pipe()
        self.inp, in_w = os.pipe()
        self.stdio = DirectStdio(Conn(), out_r, err_r, in_w)

    def close(self):
        for fd in (self.out, self.err, self.inp):
            try:
                os.close(fd)
            except OSError:
                pass


def open_fds():
    return set(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("stderr_wanted", [True, False])
def test_output_of_both_pipes_reaches_its_writer_until_both_end(stderr_wanted):
    before = open_fds()
    p, io = Process(), IO(stderr=stderr_wanted)
    pumps = DirectPumps(io, p.stdio)
    out = pumps.start(pumps.output)
    os.write(p.out, b"o1")
    os.write(p.err, b"e1")
    os.close(p.out)
    time.sleep(0.05)
    assert out.is_alive()                  # stderr is still open
    os.close(p.err)
    out.join(5)
    assert not out.is_alive()
    assert b"".join(io.stdout.got) == b"o1"
    assert (b"".join(io.stderr.got) == b"e1") if stderr_wanted else io.stderr is None
    pumps.stop()
    pumps.close()
    p.close()
    assert open_fds() == before and p.stdio.conn.closed


def test_stdin_goes_into_the_pipe_and_its_eof_closes_it():
    p, io = Process(), IO()
    pumps = DirectPumps(io, p.stdio)
    io.stdin.put(b"early")
    pumps.pipe_stdin()
    io.stdin.put(b"x")
    io.stdin.close()
    assert os.read(p.inp, 100) == b"earlyx" and os.read(p.inp, 100) == b""
    pumps.stop()
    pumps.close()
    p.close()


def test_a_process_that_does_not_read_stdin_stops_the_reader_not_buffers():
    p, io = Process(), IO()
    pumps = DirectPumps(io, p.stdio)
    pumps.pipe_stdin()
    sent = []

    def reader():                          # the connection's reader thread
        for _ in range(64):                # 64 MiB if nothing pushed back
            io.stdin.put(b"z" * (1 << 20))
            sent.append(1)
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(1)
    assert t.is_alive() and len(sent) < 2  # held in put: the pipe is full, the client waits
    got = 0
    os.set_blocking(p.inp, False)
    deadline = time.monotonic() + 20
    while t.is_alive() and time.monotonic() < deadline:   # the process reads: the reader goes on
        try:
            got += len(os.read(p.inp, 1 << 20))
        except BlockingIOError:
            time.sleep(0.001)
    t.join(5)
    assert not t.is_alive() and len(sent) == 64
    pumps.stop()
    pumps.close()
    p.close()


def test_stop_wakes_an_output_thread_whose_pipes_a_leftover_child_holds_and_a_blocked_stdin_write():
    before = open_fds()
    p, io = Process(), IO()
    pumps = DirectPumps(io, p.stdio)
    out = pumps.start(pumps.output)
    pumps.pipe_stdin()
    t = threading.Thread(target=io.stdin.put, args=(b"y" * (4 << 20),), daemon=True)
    t.start()
    time.sleep(0.1)
    assert out.is_alive() and t.is_alive()
    pumps.stop()                           # no EOF ever comes: stop must not wait for one
    pumps.close()
    t.join(5)
    assert not out.is_alive() and not t.is_alive() and io.released
    p.close()
    assert open_fds() == before


def test_a_client_gone_ends_the_output_thread():
    p, io = Process(), IO(stdout=Writer(fail=True))
    pumps = DirectPumps(io, p.stdio)
    out = pumps.start(pumps.output)
    os.write(p.out, b"lost")
    out.join(5)
    assert not out.is_alive()
    pumps.stop()
    pumps.close()
    p.close()


def test_an_exited_reader_of_stdin_fails_the_input_quietly():
    p, io = Process(), IO()
    pumps = DirectPumps(io, p.stdio)
    pumps.pipe_stdin()
    os.close(p.inp)                        # the process and its children closed stdin
    io.stdin.put(b"nobody reads")          # EPIPE inside: swallowed, the reader thread goes on
    io.stdin.put(b"more")
    assert pumps.stdin_failed
    pumps.stop()
    pumps.close()
    p.close()
