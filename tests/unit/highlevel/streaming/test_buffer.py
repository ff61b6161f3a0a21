import threading

import pytest
from gantry.highlevel.streaming.buffer import ByteBuffer


def _piped(buf):
    got = []
    buf.pipe(got.append)
    return got


@pytest.mark.parametrize("before, after, expect", [
    ([], [b"a", b"b"], [b"a", b"b"]),                       # live input, in order, one call each
    ([b"a", b"b"], [b"c"], [b"ab", b"c"]),                   # what was buffered comes first, joined
    ([b"a", "close"], [b"b"], [b"a", b""]),                  # EOF before the pipe: delivered once, later puts dropped
    ([], [b"a", "close", "close", b"b"], [b"a", b""]),       # b"" exactly once
    ([], [b"", b"a"], [b"a"]),                                # an empty put is not the end
    (["discard"], [b"a", "close"], []),                       # nobody reads: nothing delivered
    ([], [b"a", "discard", b"b", "close"], [b"a"]),
])
def test_pipe_table(before, after, expect):
    buf = ByteBuffer()

    def run(steps):
        for step in steps:
            if step == "close":
                buf.close()
            elif step == "discard":
                buf.discard()
            else:
                buf.put(step)
    run(before)
    got = _piped(buf)
    run(after)
    assert got == expect


def test_pipe_twice_is_an_error():
    buf = ByteBuffer()
    buf.pipe(lambda d: None)
    with pytest.raises(RuntimeError):
        buf.pipe(lambda d: None)


def test_pipe_wakes_a_reader_blocked_on_a_full_buffer_and_a_blocking_consumer_holds_it():
    buf = ByteBuffer(limit=4)
    buf.put(b"full")
    entered, release = threading.Event(), threading.Event()
    got = []

    def consumer(data):
        got.append(data)
        if data == b"more":
            entered.set()
            release.wait(5)
    putter = threading.Thread(target=buf.put, args=(b"more",))
    putter.start()
    putter.join(0.05)
    assert putter.is_alive()            # the buffer is full: the reader waits
    buf.pipe(consumer)
    assert entered.wait(5)
    putter.join(0.05)
    assert putter.is_alive()            # the consumer blocks: so does the reader (back-pressure)
    release.set()
    putter.join(5)
    assert not putter.is_alive()
    assert got == [b"full", b"more"]
