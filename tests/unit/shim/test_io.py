"""ProcessIO with real pipes (no root): CRI log, reopen, attach fan-out, stdin, drain at exit."""
import os

import pytest
from gantry.api import shim_pb2
from gantry.shim import crilog
from gantry.shim import io as shimio
from gantry.shim.io import ProcessIO
from gantry.shim.loop import Loop


class FakeCall:
    def __init__(self):
        self.sent, self.ended = [], False

    def send(self, message):
        self.sent.append((message.stream, message.data))

    def end(self):
        self.ended = True


def pump(io):
    for fd in list(io.readers):
        io.on_readable(fd)


def test_log_attach_and_reopen_without_loss(tmp_path):
    # close_child_fds closes the child's ends, as after the runtime ran: write through dups
    io = ProcessIO(Loop(), log_path=str(tmp_path / "c.log"), clock=lambda: 1_000_000_000)
    _, out_w, err_w = io.make_pipes()
    out, err = os.dup(out_w), os.dup(err_w)
    io.close_child_fds()
    call = FakeCall()
    detach = io.attach(call, True, False)
    os.write(out, b"one\ntw")
    os.write(err, b"e1\n")
    pump(io)
    os.rename(tmp_path / "c.log", tmp_path / "c.log.1")
    assert io.reopen_log()
    os.write(out, b"o\nthree\n")
    pump(io)
    detach()
    os.write(out, b"after detach\n")
    pump(io)
    os.close(out)
    os.close(err)
    io.drain()
    joined = (tmp_path / "c.log.1").read_bytes() + (tmp_path / "c.log").read_bytes()
    assert crilog.reassemble(joined, "stdout") == b"one\ntwo\nthree\nafter detach\n"
    assert crilog.reassemble(joined, "stderr") == b"e1\n"
    assert call.sent == [(shim_pb2.STDOUT, b"one\ntw"), (shim_pb2.STDOUT, b"o\nthree\n")]
    assert io.readers == {}
    io.close()


def test_unterminated_tail_is_flushed_at_exit(tmp_path):
    io = ProcessIO(Loop(), log_path=str(tmp_path / "c.log"), clock=lambda: 1_000_000_000)
    _, out_w, _ = io.make_pipes()
    out = os.dup(out_w)
    io.close_child_fds()
    os.write(out, b"no newline")
    io.drain()  # the process exited; its last words are written even without EOF
    assert (tmp_path / "c.log").read_bytes() == b"1970-01-01T00:00:01.000000000Z stdout P no newline\n"
    os.close(out)
    io.close()


def test_stdin_is_written_and_closed(tmp_path):
    io = ProcessIO(Loop(), stdin=True)
    child_in, _, _ = io.make_pipes()
    reader = os.dup(child_in)
    io.close_child_fds()
    io.write_stdin(b"hello ", close=False)
    io.write_stdin(b"world", close=True)
    assert os.read(reader, 100) == b"hello world"
    assert os.read(reader, 100) == b""  # EOF: stdin closed
    os.close(reader)
    io.close()


class FakeSource:
    def __init__(self):
        self.events = []

    def pause_reading(self):
        self.events.append("pause")

    def resume_reading(self):
        self.events.append("resume")


def stdin_io():
    io = ProcessIO(Loop(), stdin=True)
    child_in, _, _ = io.make_pipes()
    reader = os.dup(child_in)
    io.close_child_fds()
    return io, reader


def drain_pipe(fd):
    os.set_blocking(fd, False)
    got = 0
    try:
        while True:
            got += len(os.read(fd, 1 << 20))
    except BlockingIOError:
        return got


def test_a_process_that_does_not_read_stdin_pauses_its_sender_until_it_does():
    """Bounded buffering: past STDIN_HIGH bytes held, the sending connection stops being read."""
    io, reader = stdin_io()
    src = FakeSource()
    chunk = b"x" * 65536
    sent = 0
    while not src.events:
        io.write_stdin(chunk, source=src)
        sent += len(chunk)
        assert sent < 64 * shimio.STDIN_HIGH, "the sender was never paused"
    assert src.events == ["pause"] and len(io.stdin_pending) > shimio.STDIN_HIGH
    assert len(io.stdin_pending) <= shimio.STDIN_HIGH + len(chunk)
    got = drain_pipe(reader)          # the process reads: the loop flushes the rest, the sender resumes
    while io.stdin_pending:
        io._flush_stdin()
        got += drain_pipe(reader)
    assert src.events == ["pause", "resume"] and got == sent
    os.close(reader)
    io.close()


def test_paused_senders_resume_when_stdin_closes_or_the_process_goes():
    for end in ("close_stdin", "close"):
        io, reader = stdin_io()
        src = FakeSource()
        while not src.events:
            io.write_stdin(b"y" * 65536, source=src)
        getattr(io, end)() if end == "close" else io.close_stdin()
        if end == "close_stdin":          # input still pending: stdin closes once it is written...
            assert src.events == ["pause"]
            os.close(reader)              # ...or the reader goes: the input is dropped
            io._flush_stdin()
            io.close()
        assert src.events == ["pause", "resume"], end
        if end == "close":
            os.close(reader)


def run_loop_for(loop, seconds):
    loop.call_later(seconds, loop.stop)
    loop.run()


def test_unterminated_output_reaches_the_log_within_the_grace(tmp_path):
    loop = Loop()
    io = ProcessIO(loop, log_path=str(tmp_path / "c.log"))
    _, out_w, _ = io.make_pipes()
    out = os.dup(out_w)
    io.close_child_fds()
    io.start()
    os.write(out, b"Continue? [y/N] ")
    run_loop_for(loop, crilog.PARTIAL_FLUSH_NS / 1e9 / 2)
    assert (tmp_path / "c.log").read_bytes() == b""  # still within the grace
    run_loop_for(loop, crilog.PARTIAL_FLUSH_NS / 1e9 * 2)
    records = crilog.split_records((tmp_path / "c.log").read_bytes())
    assert [crilog.parse_record(r)[2:] for r in records] == [("P", b"Continue? [y/N] ")]
    os.write(out, b"y")
    os.write(out, b"es\n")  # quick pieces of one line: one F record
    run_loop_for(loop, 0.02)
    records = crilog.split_records((tmp_path / "c.log").read_bytes())
    assert [crilog.parse_record(r)[2:] for r in records] == [("P", b"Continue? [y/N] "), ("F", b"yes")]
    assert io.flush_timers == {}
    os.close(out)
    io.close()


class RecordingLoop(Loop):
    def __init__(self):
        super().__init__()
        self.calls = []

    def add_writer(self, fd, callback):
        self.calls.append("add_writer")
        super().add_writer(fd, callback)

    def remove_writer(self, fd):
        self.calls.append("remove_writer")
        super().remove_writer(fd)

    def call_later(self, delay, callback):
        self.calls.append("call_later")
        return super().call_later(delay, callback)


def test_without_a_log_output_goes_to_clients_without_encoding_or_timers():
    loop = RecordingLoop()
    io = ProcessIO(loop)           # a streamed exec: no log path
    _, out_w, _ = io.make_pipes()
    out = os.dup(out_w)
    io.close_child_fds()
    call = FakeCall()
    io.attach(call, True, True)
    os.write(out, b"prompt> ")     # unterminated: with a log it would be held and timed
    pump(io)
    assert call.sent == [(shim_pb2.STDOUT, b"prompt> ")]
    assert loop.calls == [] and io.flush_timers == {} and io.encoders["stdout"].pending == b""
    os.close(out)
    io.close()


def test_stdin_touches_the_loop_only_while_the_pipe_is_full():
    loop = RecordingLoop()
    io = ProcessIO(loop, stdin=True)
    child_in, _, _ = io.make_pipes()
    reader = os.dup(child_in)
    io.close_child_fds()
    io.write_stdin(b"x")
    assert loop.calls == [] and os.read(reader, 10) == b"x"
    big = b"y" * (1 << 20)         # more than the pipe holds: the rest waits for a writable pipe
    io.write_stdin(big)
    io.write_stdin(b"z")
    assert loop.calls == ["add_writer"] and io.stdin_pending
    got = drain_pipe(reader)
    while io.stdin_pending:
        io._flush_stdin()
        got += drain_pipe(reader)
    assert loop.calls == ["add_writer", "remove_writer"] and got == len(big) + 1
    io.write_stdin(b"x")
    assert loop.calls == ["add_writer", "remove_writer"] and os.read(reader, 10) == b"x"
    os.close(reader)
    io.close()


def test_hand_over_gives_up_our_ends_and_start_uses_the_same_pipes():
    io = ProcessIO(Loop(), stdin=True)
    fds = io.hand_over()
    child = io.make_pipes()               # what Start passes to the runtime: the same pipes
    assert len(fds) == 3 and io.readers == {} and io.stdin_fd == -1 and io.handed_over
    os.write(child[1], b"out")
    os.write(child[2], b"err")
    os.write(fds[2], b"in")
    assert [os.read(fds[0], 10), os.read(fds[1], 10), os.read(child[0], 10)] == [b"out", b"err", b"in"]
    io.start()                            # nothing of the process's is ours to read
    io.write_stdin(b"ignored")            # nor to write
    io.close()
    for fd in fds:
        os.close(fd)


@pytest.mark.parametrize("why,make", [
    ("terminal", lambda tmp: ProcessIO(Loop(), terminal=True)),
    ("log", lambda tmp: ProcessIO(Loop(), log_path=str(tmp / "c.log"))),
    ("client", lambda tmp: _attached(ProcessIO(Loop()))),
    ("twice", lambda tmp: _handed(ProcessIO(Loop()))),
])
def test_hand_over_refuses_a_process_whose_bytes_the_shim_must_see(tmp_path, why, make):
    io = make(tmp_path)
    with pytest.raises(ValueError):
        io.hand_over()
    io.close()


def _attached(io):
    io.attach(FakeCall(), True, True)
    return io


def _handed(io):
    for fd in io.hand_over():
        os.close(fd)
    return io
