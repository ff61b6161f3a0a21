"""lowlevel/state.py: gantry-oci's state.json, as a crash or a tamperer may leave it.

The first byte says how the file was left: the input itself (mode 0), a real
record cut short (1: a torn write), a real record with a zero-filled tail (2: a
crash after the size was extended), and the rest of the input is the content or
the cut.  Store.read raises StateError and nothing else; a record it accepts
gives a status and an OCI state document; a torn record is never accepted."""
import os

from gantry.lowlevel import container, state
from gantry.lowlevel.jsonio import dumps

from .harness import Target
from .scratch import Scratch

_scratch = None
RECORD = dumps({"id": "c1", "bundle": "/b", "rootfs": "/b/rootfs", "pid": 0, "pid_start": None,
                "status": "created", "created": "2026-11-30T00:00:00Z", "annotations": {"a": "b"},
                "owner": "", "ociVersion": "1.2.0", "cgroups": None, "config": {}}).encode()


def setup():
    global _scratch
    _scratch = Scratch()
    os.makedirs(_scratch.path("root", "c1"))


def contents(data):
    mode, rest = (data[0] % 3, data[1:]) if data else (0, b"")
    cut = int.from_bytes(rest[:2], "big") % len(RECORD)
    torn = cut < len(RECORD.rstrip(b"\n"))   # only the final newline missing is a whole record
    if mode == 1:
        return RECORD[:cut], torn
    if mode == 2:
        return RECORD[:cut] + b"\0" * (len(RECORD) - cut), True
    return rest, False


def check(data):
    content, torn = contents(data)
    store = state.Store(_scratch.path("root"))
    with open(os.path.join(store.dir("c1"), "state.json"), "wb") as f:
        f.write(content)
    try:
        record = store.read("c1")
    except state.StateError:
        return
    assert not torn, "a torn state.json was read as a record"
    status = container.current_status(store, record)
    assert status in ("creating", "created", "running", "paused", "stopped")
    doc = state.oci_state(record, status)
    assert doc["id"] == "c1" and isinstance(doc["bundle"], str)
    _scratch.assert_outside_unchanged()


TARGET = Target("state", check, ("gantry.lowlevel.state",), allowed=(state.StateError,), setup=setup)
