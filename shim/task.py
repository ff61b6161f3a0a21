"""The processes of a container (its init and its execs) and their one state table.

    event:     create      start       pause      resume      exit        delete
    (new)      CREATED
    CREATED                RUNNING                            STOPPED     DELETED
    RUNNING                            PAUSED                 STOPPED
    PAUSED                                        RUNNING     STOPPED
    STOPPED                                                               DELETED

``transition`` is the only place a state changes; an event a state does not
list is a FailedPrecondition naming the process, the event and the state.
Pause and resume apply to the init only (they freeze the whole container);
an exec process is paused with it but keeps its own state.
"""
from gantry.api import shim_pb2

from .errors import FailedPrecondition

NEW, CREATED, RUNNING, PAUSED, STOPPED, DELETED = "NEW", "CREATED", "RUNNING", "PAUSED", "STOPPED", "DELETED"

TRANSITIONS = {
    NEW: {"create": CREATED},
    CREATED: {"start": RUNNING, "exit": STOPPED, "delete": DELETED},
    RUNNING: {"pause": PAUSED, "exit": STOPPED},
    PAUSED: {"resume": RUNNING, "exit": STOPPED},
    STOPPED: {"delete": DELETED},
    DELETED: {},
}

WIRE_STATUS = {
    NEW: shim_pb2.UNKNOWN, CREATED: shim_pb2.CREATED, RUNNING: shim_pb2.RUNNING,
    PAUSED: shim_pb2.PAUSED, STOPPED: shim_pb2.STOPPED, DELETED: shim_pb2.STOPPED,
}


def next_state(state, event):
    """The state after event, or None when state does not allow it (pure)."""
    return TRANSITIONS[state].get(event)


def describe(exec_id):
    return "exec %r" % exec_id if exec_id else "init"


class Process:
    """One process the shim started: its state, pid, exit record and stdio."""

    def __init__(self, exec_id, terminal=False, stdin=False, log_path=""):
        self.exec_id = exec_id
        self.terminal = terminal
        self.stdin = stdin
        self.log_path = log_path
        self.state = NEW
        self.pid = 0
        self.exit_status = 0
        self.exited_at_ns = 0
        self.reason = ""
        self.io = None  # ProcessIO once created
        self.waiters = []  # callables(process) run once it exited and its output was drained
        self.spec_file = ""

    def transition(self, event):
        new = next_state(self.state, event)
        if new is None:
            raise FailedPrecondition("%s %s: process is %s" % (event, describe(self.exec_id), self.state))
        self.state = new
        return new

    def check(self, event):
        """Raise like transition would, without changing anything."""
        if next_state(self.state, event) is None:
            raise FailedPrecondition("%s %s: process is %s" % (event, describe(self.exec_id), self.state))

    @property
    def alive(self):
        return self.state in (CREATED, RUNNING, PAUSED)

    def wire_status(self):
        return WIRE_STATUS[self.state]
