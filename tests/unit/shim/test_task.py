"""The process state table (shim/task.py)."""
import pytest
from gantry.shim import task
from gantry.shim.errors import FailedPrecondition

EVENTS = ("create", "start", "pause", "resume", "exit", "delete")
ALLOWED = {
    ("NEW", "create"): "CREATED",
    ("CREATED", "start"): "RUNNING", ("CREATED", "exit"): "STOPPED", ("CREATED", "delete"): "DELETED",
    ("RUNNING", "pause"): "PAUSED", ("RUNNING", "exit"): "STOPPED",
    ("PAUSED", "resume"): "RUNNING", ("PAUSED", "exit"): "STOPPED",
    ("STOPPED", "delete"): "DELETED",
}


@pytest.mark.parametrize("state", list(task.TRANSITIONS))
@pytest.mark.parametrize("event", EVENTS)
def test_table(state, event):
    assert task.next_state(state, event) == ALLOWED.get((state, event))


def test_refused_transition_names_process_event_and_state():
    p = task.Process("e1")
    with pytest.raises(FailedPrecondition, match=r"start exec 'e1': process is NEW"):
        p.transition("start")
    assert p.state == task.NEW
    p.transition("create")
    p.transition("start")
    with pytest.raises(FailedPrecondition, match="resume exec 'e1': process is RUNNING"):
        p.check("resume")
    assert p.alive


def test_lifecycle_and_wire_status():
    p = task.Process("")
    seen = []
    for event in ("create", "start", "pause", "resume", "exit", "delete"):
        p.transition(event)
        seen.append(p.wire_status())
    from gantry.api import shim_pb2
    assert seen == [shim_pb2.CREATED, shim_pb2.RUNNING, shim_pb2.PAUSED, shim_pb2.RUNNING, shim_pb2.STOPPED,
                    shim_pb2.STOPPED]
    assert not p.alive
