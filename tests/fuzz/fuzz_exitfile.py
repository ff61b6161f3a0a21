"""proto/shimstate.py: the shim's exit file, as a crash or a tamperer may leave it.

Modes as in fuzz_state: the input, a real record cut short, or one with a
zero-filled tail.  read_exit() gives None or a record whose status is an int, and
never a torn one; it raises nothing."""
import os

from gantry.api import shimstate

from .harness import Target
from .scratch import Scratch

_scratch = None


def setup():
    global _scratch
    _scratch = Scratch()
    os.mkdir(_scratch.path("state"))
    shimstate.write_exit(_scratch.path("state"), 4242, 137, 1_796_000_000_000_000_000, "OOMKilled")
    with open(shimstate.exit_path(_scratch.path("state")), "rb") as f:
        global RECORD
        RECORD = f.read()


RECORD = b""


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
    with open(shimstate.exit_path(_scratch.path("state")), "wb") as f:
        f.write(content)
    record = shimstate.read_exit(_scratch.path("state"))
    if record is not None:
        assert not torn, "a torn exit file was read as a record"
        assert isinstance(record, dict) and isinstance(record["status"], int)
    _scratch.assert_outside_unchanged()


TARGET = Target("exitfile", check, ("gantry.api.shimstate",), setup=setup)
