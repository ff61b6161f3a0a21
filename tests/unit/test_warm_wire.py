"""The warm-exec wire between gantry-shim (shim/warmexec.py) and gantry-oci (lowlevel/warm.py).

The two packages may not import each other, so each has its own copy of the format;
these tests hold both to the same bytes, and run a real `gantry-oci warm` through it.
"""
import os
import socket
import subprocess
import sys

import pytest
from gantry.lowlevel import warm
from gantry.shim import warmexec

GANTRY_OCI = os.path.join(os.path.dirname(sys.executable), "gantry-oci")


def test_both_sides_share_the_constants():
    assert warmexec.REQUEST_MAGIC == warm.MAGIC
    assert warmexec.ACK == warm.ACK
    assert warmexec.MAX_REQUEST == warm.MAX_REQUEST
    assert warmexec.COMMAND == warm.COMMAND


def test_request_bytes_are_pinned():
    assert warmexec.encode_request(["--root", "/r", "exec", "", "c1"]) == b"GOWARM1\n--root\0/r\0exec\0\0c1\0"


@pytest.mark.parametrize("args", [
    ["exec", "--detach", "c1"],
    [""],
    ["--log", "", "exec", "id with space", "caf\u00e9"],
    ["x" * 1000] * 10,
    [os.fsdecode(b"\xff\xfe")],   # an argument that is not UTF-8 survives (surrogateescape)
])
def test_round_trip(args):
    assert warm.decode_request(warmexec.encode_request(args), [3, 4, 5]) == args


@pytest.mark.parametrize("message, fds, error", [
    (b"GOWARM2\nexec\0", [3, 4, 5], "bad magic"),
    (b"", [3, 4, 5], "bad magic"),
    (b"GOWARM1\nexec\0", [3, 4], "2 fds"),
    (b"GOWARM1\nexec\0", [], "0 fds"),
    (b"GOWARM1\nexec", [3, 4, 5], "not NUL-terminated"),
    (b"GOWARM1\n", [3, 4, 5], "not NUL-terminated"),
])
def test_malformed_requests_are_refused(message, fds, error):
    with pytest.raises(warm.BadRequest, match=error):
        warm.decode_request(message, fds)


@pytest.mark.parametrize("args, error", [
    ([], "no arguments"),
    (["a\0b"], "NUL"),
    (["x" * warmexec.MAX_REQUEST], "over"),
])
def test_the_shim_refuses_what_it_cannot_send(args, error):
    with pytest.raises(ValueError, match=error):
        warmexec.encode_request(args)


def _start_warm():
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    proc = subprocess.Popen([GANTRY_OCI, "warm"], stdin=theirs.fileno(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    theirs.close()
    return ours, proc


def test_a_real_warm_process_runs_the_request_with_the_fds_it_was_given():
    ours, proc = _start_warm()
    out_r, out_w = os.pipe()
    null = os.open(os.devnull, os.O_RDWR)
    try:
        socket.send_fds(ours, [warmexec.encode_request(["--version"])], [null, out_w, null])
        assert ours.recv(100) == warmexec.ACK
        os.close(out_w)
        assert proc.wait(timeout=30) == 0
        with os.fdopen(out_r, "rb") as f:
            assert f.read().startswith(b"gantry-oci version ")
    finally:
        ours.close()
        os.close(null)


def test_a_failing_command_exits_with_its_own_status():
    ours, proc = _start_warm()
    null = os.open(os.devnull, os.O_RDWR)
    err_r, err_w = os.pipe()
    try:
        socket.send_fds(ours, [warmexec.encode_request(["--root", "/nonexistent-warm", "state", "nope"])],
                        [null, null, err_w])
        assert ours.recv(100) == warmexec.ACK
        os.close(err_w)
        assert proc.wait(timeout=30) == 1
        with os.fdopen(err_r, "rb") as f:
            assert b"nope" in f.read()
    finally:
        ours.close()
        os.close(null)


def test_eof_ends_a_warm_process_with_status_0():
    ours, proc = _start_warm()
    ours.close()
    assert proc.wait(timeout=30) == 0


def test_a_malformed_request_gets_no_ack_and_status_2():
    ours, proc = _start_warm()
    try:
        socket.send_fds(ours, [b"GOWARM9\nexec\0"], [0, 1, 2])
        assert ours.recv(100) == b""   # EOF, no ACK
        assert proc.wait(timeout=30) == 2
    finally:
        ours.close()
