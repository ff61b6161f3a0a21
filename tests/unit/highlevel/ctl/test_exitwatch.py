"""gantryctl's exit wait (the event stream, ContainerStatus behind it) and the log follower's end."""
import io
import itertools
import os
import queue
import threading
import time

import grpc
import pytest
from gantry.api import cri_pb2
from gantry.highlevel.ctl import exitwatch, logs
from gantry.highlevel.ctl.exitwatch import ExitWatch, is_end_event, next_interval

CID = "c" * 64


@pytest.mark.parametrize("every, streaming, want", [
    (0.02, True, 0.04), (0.02, False, 0.04), (0.2, False, 0.25), (0.25, False, 0.25),
    (0.64, True, 1.0), (1.0, True, 1.0),
])
def test_next_interval(every, streaming, want):
    assert next_interval(every, streaming) == pytest.approx(want)


@pytest.mark.parametrize("cid, kind, want", [
    (CID, cri_pb2.CONTAINER_STOPPED_EVENT, True),
    (CID, cri_pb2.CONTAINER_DELETED_EVENT, True),
    (CID, cri_pb2.CONTAINER_STARTED_EVENT, False),
    (CID, cri_pb2.CONTAINER_CREATED_EVENT, False),
    ("other", cri_pb2.CONTAINER_STOPPED_EVENT, False),
])
def test_is_end_event(cid, kind, want):
    ev = cri_pb2.ContainerEventResponse(container_id=cid, container_event_type=kind)
    assert is_end_event(ev, CID) is want


class Unimplemented(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.UNIMPLEMENTED


class Stream:
    """A server stream: events put into it come out; cancel() ends it as gRPC does."""

    def __init__(self, fail=None):
        self.q = queue.Queue()
        self.fail = fail
        self.cancelled = False

    def __iter__(self):
        if self.fail:
            raise self.fail
        while True:
            item = self.q.get()
            if item is None:
                raise grpc.RpcError()
            yield item

    def cancel(self):
        self.cancelled = True
        self.q.put(None)


class Runtime:
    def __init__(self, stream, states):
        self.stream, self.states, self.asked = stream, list(states), []

    def GetContainerEvents(self, req):
        return self.stream

    def ContainerStatus(self, req, timeout=None):
        self.asked.append(time.monotonic())
        st = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return cri_pb2.ContainerStatusResponse(status=cri_pb2.ContainerStatus(id=req.container_id, state=st))


class Client:
    grpc = grpc
    timeout = 5

    def __init__(self, runtime):
        self.runtime = runtime


def test_the_stop_event_ends_the_wait_at_once():
    stream = Stream()
    rt = Runtime(stream, [cri_pb2.CONTAINER_RUNNING])
    watch = ExitWatch(Client(rt), CID)
    assert watch.wait(0.05) is False                 # running: asked at once, then backing off
    other = cri_pb2.ContainerEventResponse(container_id="x", container_event_type=cri_pb2.CONTAINER_STOPPED_EVENT)
    mine = cri_pb2.ContainerEventResponse(container_id=CID, container_event_type=cri_pb2.CONTAINER_STOPPED_EVENT)
    threading.Timer(0.2, lambda: (stream.q.put(other), stream.q.put(mine))).start()
    start = time.monotonic()
    assert watch.wait(30) is True
    assert 0.15 < time.monotonic() - start < 2.0
    watch.close()
    assert stream.cancelled


def test_status_alone_when_the_runtime_has_no_events():
    rt = Runtime(Stream(fail=Unimplemented()), [cri_pb2.CONTAINER_RUNNING] * 4 + [cri_pb2.CONTAINER_EXITED])
    watch = ExitWatch(Client(rt), CID)
    start = time.monotonic()
    assert watch.wait(30) is True
    assert time.monotonic() - start < 1.5 and len(rt.asked) == 5
    gaps = [b - a for a, b in itertools.pairwise(rt.asked)]
    assert all(g <= exitwatch.MAX_POLLING + 0.1 for g in gaps)
    assert not watch.streaming


def test_an_exit_before_the_subscription_is_still_seen():
    # the stream never reports it (the server subscribed too late): the status checks do
    rt = Runtime(Stream(), [cri_pb2.CONTAINER_RUNNING, cri_pb2.CONTAINER_EXITED])
    watch = ExitWatch(Client(rt), CID)
    assert watch.wait(5) is True and len(rt.asked) == 2
    watch.close()


class NotFound(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.NOT_FOUND


def test_a_container_the_runtime_forgot_has_ended():
    rt = Runtime(Stream(fail=Unimplemented()), [cri_pb2.CONTAINER_RUNNING])

    def gone(req, timeout=None):
        raise NotFound()
    rt.ContainerStatus = gone
    assert ExitWatch(Client(rt), CID).wait(5) is True


def record(stream, text, tag="F"):
    return b"2026-12-05T17:00:00.000000000Z %s %s %s\n" % (stream.encode(), tag.encode(), text.encode())


class ScriptedWatch:
    """wait() runs the next step (a callable writing to the log) and says 'exited' after the last."""

    def __init__(self, steps):
        self.steps = list(steps)

    def wait(self, timeout=None):
        if not self.steps:
            return True
        self.steps.pop(0)()
        return not self.steps


def sink():
    out, err = io.BytesIO(), io.BytesIO()
    return logs.Sink(out, err), out, err


def append(path, data):
    with open(path, "ab") as f:
        f.write(data)


def test_follow_prints_what_came_just_before_the_exit(tmp_path):
    path = str(tmp_path / "0.log")
    append(path, record("stdout", "one"))
    s, out, err = sink()
    # the last records land between the follower's last read and the exit it is told of
    logs.follow(None, CID, path, s, watch=ScriptedWatch([
        lambda: append(path, record("stderr", "two")),
        lambda: append(path, record("stdout", "thr", "P") + record("stdout", "ee") + record("stdout", "tail", "P")),
    ]))
    assert out.getvalue() == b"one\nthree\ntail" and err.getvalue() == b"two\n"


def test_follow_reads_a_file_rotated_just_before_the_exit(tmp_path):
    path = str(tmp_path / "0.log")
    append(path, record("stdout", "a"))

    def rotate():
        append(path, record("stdout", "b"))
        os.rename(path, path + ".1")
        append(path, record("stdout", "c"))
    s, out, _ = sink()
    logs.follow(None, CID, path, s, watch=ScriptedWatch([lambda: None, rotate]))
    assert out.getvalue() == b"a\nb\nc\n"


def test_follow_of_a_log_that_appears_only_at_the_end(tmp_path):
    path = str(tmp_path / "0.log")
    s, out, _ = sink()
    logs.follow(None, CID, path, s, watch=ScriptedWatch([lambda: append(path, record("stdout", "late"))]))
    assert out.getvalue() == b"late\n"
