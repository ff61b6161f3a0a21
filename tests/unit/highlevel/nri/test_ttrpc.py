"""ttrpc frames and envelopes, from tables."""
import pytest
from gantry.api import ttrpc_pb2
from gantry.highlevel.nri import ttrpc


@pytest.mark.parametrize("sid,type_,flags,payload,wire", [
    (1, ttrpc.REQUEST, 0, b"", b"\x00\x00\x00\x00" b"\x00\x00\x00\x01" b"\x01\x00"),
    (3, ttrpc.RESPONSE, 0, b"ab", b"\x00\x00\x00\x02" b"\x00\x00\x00\x03" b"\x02\x00ab"),
    (0x01020304, ttrpc.DATA, ttrpc.FLAG_REMOTE_CLOSED | ttrpc.FLAG_NO_DATA, b"",
     b"\x00\x00\x00\x00" b"\x01\x02\x03\x04" b"\x03\x05"),
    (7, ttrpc.REQUEST, ttrpc.FLAG_REMOTE_OPEN, b"x" * 300, b"\x00\x00\x01\x2c\x00\x00\x00\x07\x01\x02" + b"x" * 300),
])
def test_frame_wire_format(sid, type_, flags, payload, wire):
    assert ttrpc.encode_frame(sid, type_, payload, flags) == wire
    assert ttrpc.FrameDecoder().feed(wire) == [ttrpc.Frame(sid, type_, flags, payload)]


def test_decoder_takes_bytes_in_any_pieces():
    wire = ttrpc.encode_frame(1, ttrpc.REQUEST, b"hello") + ttrpc.encode_frame(3, ttrpc.REQUEST, b"") + \
        ttrpc.encode_frame(5, ttrpc.RESPONSE, b"world")
    dec, frames = ttrpc.FrameDecoder(), []
    for i in range(len(wire)):
        frames += dec.feed(wire[i:i + 1])
    assert [(f.stream_id, f.payload) for f in frames] == [(1, b"hello"), (3, b""), (5, b"world")]
    assert dec.pending == 0
    assert [f.stream_id for f in ttrpc.FrameDecoder().feed(wire)] == [1, 3, 5]


@pytest.mark.parametrize("header,error", [
    (b"\x00\x40\x00\x01\x00\x00\x00\x01\x01\x00", "is over"),           # 4 MiB + 1
    (b"\x00\x00\x00\x00\x00\x00\x00\x01\x09\x00", "unknown type 9"),
])
def test_decoder_refuses_what_is_not_ttrpc(header, error):
    with pytest.raises(ttrpc.ProtocolError, match=error):
        ttrpc.FrameDecoder().feed(header)


def test_encode_refuses_oversized_payload():
    with pytest.raises(ValueError, match="over"):
        ttrpc.encode_frame(1, ttrpc.REQUEST, b"\0" * (ttrpc.MAX_PAYLOAD + 1))


def test_stream_ids_are_odd_and_increasing():
    ids = ttrpc.StreamIds()
    assert [ids.next() for _ in range(4)] == [1, 3, 5, 7]


def test_request_round_trip():
    frame = ttrpc.FrameDecoder().feed(ttrpc.request(5, "svc.Plugin", "Configure", b"\x01\x02", timeout_ns=2e9))[0]
    req = ttrpc.parse_request(frame)
    assert (frame.stream_id, frame.type, frame.flags) == (5, ttrpc.REQUEST, 0)
    assert (req.service, req.method, req.payload, req.timeout_nano) == ("svc.Plugin", "Configure", b"\x01\x02",
                                                                        2000000000)


@pytest.mark.parametrize("frame,error", [
    (ttrpc.Frame(2, ttrpc.REQUEST, 0, b""), "must be odd"),
    (ttrpc.Frame(1, ttrpc.RESPONSE, 0, b""), "expected a request"),
    (ttrpc.Frame(1, ttrpc.REQUEST, 0, b"\xff\xff"), "bad request"),
])
def test_parse_request_refuses(frame, error):
    with pytest.raises(ttrpc.ProtocolError, match=error):
        ttrpc.parse_request(frame)


@pytest.mark.parametrize("kwargs,expected", [
    ({"payload": b"ok"}, (ttrpc.OK, "", b"ok")),
    ({"payload": b""}, (ttrpc.OK, "", b"")),
    ({"code": ttrpc.UNKNOWN, "message": "plugin said no"}, (ttrpc.UNKNOWN, "plugin said no", b"")),
    ({"code": ttrpc.UNIMPLEMENTED, "message": "no such method"}, (ttrpc.UNIMPLEMENTED, "no such method", b"")),
])
def test_response_round_trip(kwargs, expected):
    frame = ttrpc.FrameDecoder().feed(ttrpc.response(9, **kwargs))[0]
    assert frame.stream_id == 9 and ttrpc.parse_response(frame) == expected


def test_response_status_zero_is_success():
    resp = ttrpc_pb2.Response(payload=b"p")
    resp.status.code = 0
    frame = ttrpc.Frame(1, ttrpc.RESPONSE, 0, resp.SerializeToString())
    assert ttrpc.parse_response(frame) == (ttrpc.OK, "", b"p")
