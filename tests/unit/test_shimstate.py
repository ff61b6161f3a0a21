"""gantry.api.shimstate: the exit file format both gantry-shim and gantryd use."""
import os

import pytest
from gantry.api import shimstate


@pytest.mark.parametrize("data, record", [
    (b'{"exited_at_ns": 5, "pid": 1, "reason": "", "status": 0}\n',
     {"exited_at_ns": 5, "pid": 1, "reason": "", "status": 0}),
    (b'{"status": 137}', {"status": 137}),
    (b'{"status": "137"}', None),
    (b'[137]', None),
    (b'{"status": 1', None),              # torn: never a valid record
    (b'', None),
])
def test_decode_exit(data, record):
    assert shimstate.decode_exit(data) == record


def test_encode_decode_round_trip():
    record, data = shimstate.encode_exit(42, 137, 123, "OOMKilled")
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert shimstate.decode_exit(data) == record == {"pid": 42, "status": 137, "exited_at_ns": 123,
                                                     "reason": "OOMKilled"}


def test_write_is_atomic_and_read_back(tmp_path):
    assert shimstate.read_exit(str(tmp_path)) is None
    shimstate.write_exit(str(tmp_path), 42, 0, 1)
    assert os.listdir(tmp_path) == [shimstate.EXIT]
    assert shimstate.read_exit(str(tmp_path))["status"] == 0


def test_read_address(tmp_path):
    assert shimstate.read_address(str(tmp_path)) is None
    sock = tmp_path / "s.sock"
    (tmp_path / shimstate.ADDRESS).write_text(str(sock) + "\n")
    assert shimstate.read_address(str(tmp_path)) is None          # the socket is gone
    sock.write_text("")
    assert shimstate.read_address(str(tmp_path)) == str(sock)
