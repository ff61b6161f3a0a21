"""ExecIO.defer: clean-up runs after the status is out and the connection closed, once."""
import threading

from gantry.highlevel.streaming import execio


class Writer:
    def __init__(self, log, name):
        self.log, self.name = log, name

    def write(self, data):
        self.log.append((self.name, "write"))

    def close(self):
        self.log.append((self.name, "close"))


def _io(log):
    return execio.ExecIO(4, None, Writer(log, "stdout"), None, Writer(log, "error"), execio._NoResizes(),
                         threading.Event(), lambda: log.append(("conn", "close")))


def test_deferred_runs_after_the_status_and_the_close_once():
    log = []
    io = _io(log)
    io.defer(lambda: log.append(("shim", "delete")))
    io.finish(0)
    assert log == [("error", "write"), ("stdout", "close"), ("error", "close"), ("conn", "close"),
                   ("shim", "delete")]
    io.run_deferred()
    assert log.count(("shim", "delete")) == 1


def test_run_deferred_without_finish():
    log = []
    io = _io(log)
    io.defer(lambda: log.append(("shim", "delete")))
    io.run_deferred()
    assert log == [("shim", "delete")]
