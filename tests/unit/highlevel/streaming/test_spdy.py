"""spdy.py: frames, header blocks, the stream table, flow control, and every malformed input."""
import struct
import zlib

import pytest
from gantry.highlevel.streaming import spdy
from gantry.highlevel.streaming.spdydict import DICTIONARY


def ctrl(frame_type, payload, flags=0, version=3):
    return struct.pack(">HHI", 0x8000 | version, frame_type, (flags << 24) | len(payload)) + payload


def compress(raw):
    c = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
    return c.compress(raw) + c.flush(zlib.Z_SYNC_FLUSH)


def syn(stream_id, raw_block, flags=0, client=None):
    block = client.compress(raw_block) if client is not None else compress(raw_block)
    return ctrl(spdy.SYN_STREAM, struct.pack(">IIBB", stream_id, 0, 0, 0) + block, flags)


def block(*pairs, count=None):
    out = struct.pack(">I", len(pairs) if count is None else count)
    for name, value in pairs:
        out += struct.pack(">I", len(name)) + name + struct.pack(">I", len(value)) + value
    return out


def opened(conn, client, sid=1, headers=None, fin=False):
    events = conn.receive_data(client.syn_stream(sid, headers or {"streamtype": "stdout"}, fin))
    assert isinstance(events[0], spdy.StreamOpened)
    return events[0]


def test_dictionary_is_the_spdy3_one():
    assert len(DICTIONARY) == 1423
    assert zlib.adler32(DICTIONARY) == 0xE3C6A7C2


@pytest.mark.parametrize("headers", [
    {}, {"streamtype": "error"}, {"streamtype": "data", "port": "8080", "requestid": "7"},
    {"x-many": ["a", "b"]}, {"x-empty": ""}, {"unicode": "héllo"},
])
def test_header_block_round_trip(headers):
    expect = {k: "\0".join(v) if isinstance(v, list) else v for k, v in headers.items()}
    assert spdy.decode_header_block(spdy.encode_header_block(headers)) == expect


MALFORMED_BLOCKS = [
    ("no count", b"\x00\x00", "pair count"),
    ("count larger than the block", block(count=1000), "cannot fit"),
    ("name past the end", struct.pack(">II", 1, 50) + b"abc" + b"\0" * 5, "name runs past"),
    ("value past the end", struct.pack(">II", 1, 1) + b"a" + struct.pack(">I", 50) + b"xy", "value runs past"),
    ("uppercase name", block((b"Streamtype", b"x")), "not lowercase"),
    ("duplicate name", block((b"a", b"1"), (b"a", b"2")), "duplicate"),
    ("empty name", block((b"", b"1"), (b"b", b"2")), "empty header name"),
    ("trailing bytes", block((b"a", b"1")) + b"xx", "after the last pair"),
]


@pytest.mark.parametrize("what,raw,message", MALFORMED_BLOCKS, ids=[m[0] for m in MALFORMED_BLOCKS])
def test_malformed_header_blocks(what, raw, message):
    with pytest.raises(spdy._PeerError, match=message):
        spdy.decode_header_block(raw)
    # on the wire, a malformed block ends the connection (the zlib context is shared)
    conn = spdy.Connection()
    events = conn.receive_data(syn(1, raw))
    assert isinstance(events[-1], spdy.ConnectionFailed) and message in events[-1].message
    assert _goaway(conn.data_to_send()) == spdy.GOAWAY_PROTOCOL_ERROR


def _goaway(data):
    assert len(data) == 16 and struct.unpack(">HH", data[:4]) == (0x8003, spdy.GOAWAY)
    return struct.unpack(">II", data[8:])[1]


def test_exchange_round_trip():
    conn, client = spdy.Connection(), spdy.ClientCodec()
    ev = opened(conn, client, 1, {"streamtype": "stdin", "x": "y"})
    assert (ev.stream_id, ev.headers, ev.fin) == (1, {"streamtype": "stdin", "x": "y"}, False)
    frames = client.feed(conn.reply(1, {"k": "v"}))
    assert frames == [("control", spdy.SYN_REPLY, 0, frames[0][3], {"k": "v"})]
    # data in, data out, FIN both ways: the stream is gone
    assert conn.receive_data(spdy.data_frame(1, b"in")) == [spdy.DataReceived(1, b"in", False)]
    assert client.feed(conn.send_data(1, b"out")) == [("data", 1, b"out", False)]
    assert conn.receive_data(spdy.data_frame(1, b"", fin=True)) == [spdy.DataReceived(1, b"", True)]
    assert conn.stream_state(1) == "remote_closed"
    assert client.feed(conn.send_data(1, b"", fin=True)) == [("data", 1, b"", True)]
    assert conn.stream_state(1) == "closed" and 1 not in conn.streams
    # a second stream: header compression context carries over
    ev = opened(conn, client, 3, {"streamtype": "stdout"})
    assert ev.headers == {"streamtype": "stdout"}
    assert client.feed(conn.reply(3))[0][4] == {}


def test_large_data_is_split_and_fed_byte_by_byte():
    conn, client = spdy.Connection(), spdy.ClientCodec()
    opened(conn, client)
    conn.reply(1)
    out = conn.send_data(1, b"z" * (spdy.MAX_DATA_CHUNK * 2 + 5), fin=True)
    frames = client.feed(out)
    assert [len(f[2]) for f in frames] == [spdy.MAX_DATA_CHUNK, spdy.MAX_DATA_CHUNK, 5]
    assert [f[3] for f in frames] == [False, False, True]
    # the server side also takes input one byte at a time
    conn2, client2 = spdy.Connection(), spdy.ClientCodec()
    wire = client2.syn_stream(1, {"a": "b"}) + spdy.data_frame(1, b"hello", fin=True)
    events = []
    for i in range(len(wire)):
        events += conn2.receive_data(wire[i:i + 1])
    assert [type(e).__name__ for e in events] == ["StreamOpened", "DataReceived"]
    assert events[1] == spdy.DataReceived(1, b"hello", True)


def test_ping_settings_goaway_window_update():
    conn = spdy.Connection()
    assert conn.receive_data(ctrl(spdy.PING, struct.pack(">I", 7))) == [spdy.PingReceived(7)]
    assert conn.data_to_send() == ctrl(spdy.PING, struct.pack(">I", 7))  # echoed
    pid, data = conn.ping()
    assert pid % 2 == 0 and conn.receive_data(data) == [spdy.PingReceived(pid, mine=True)]
    assert conn.data_to_send() == b""  # our own ping's echo is not echoed again
    client = spdy.ClientCodec()
    opened(conn, client)
    settings = ctrl(spdy.SETTINGS, struct.pack(">III", 1, spdy.SETTINGS_INITIAL_WINDOW_SIZE, 1000))
    assert conn.receive_data(settings) == [spdy.SettingsReceived({spdy.SETTINGS_INITIAL_WINDOW_SIZE: 1000})]
    assert conn.send_window(1) == 1000
    assert conn.receive_data(ctrl(spdy.WINDOW_UPDATE, struct.pack(">II", 1, 500))) == [spdy.WindowUpdated(1, 500)]
    assert conn.send_window(1) == 1500
    assert conn.receive_data(ctrl(spdy.WINDOW_UPDATE, struct.pack(">II", 0, 500))) == []  # session window: ignored
    assert conn.receive_data(ctrl(spdy.GOAWAY, struct.pack(">II", 1, 0))) == [spdy.GoAwayReceived(1, 0)]
    assert conn.receive_data(ctrl(0x99, b"unknown control frames are ignored")) == []


def test_rst_stream_from_peer_and_ours():
    conn, client = spdy.Connection(), spdy.ClientCodec()
    opened(conn, client)
    conn.reply(1)
    assert conn.receive_data(ctrl(spdy.RST_STREAM, struct.pack(">II", 1, spdy.CANCEL))) == [
        spdy.StreamReset(1, spdy.CANCEL)]
    assert conn.receive_data(ctrl(spdy.RST_STREAM, struct.pack(">II", 1, spdy.CANCEL))) == []  # no reset loop
    assert conn.data_to_send() == b""
    with pytest.raises(spdy.LocalProtocolError):
        conn.send_data(1, b"late")
    opened(conn, client, 3)
    assert conn.reset(3) == ctrl(spdy.RST_STREAM, struct.pack(">II", 3, spdy.CANCEL))
    assert conn.reset(3) == b""


STREAM_TABLE = [
    ("idle", "recv_syn", "open_unreplied"),
    ("idle", "recv_syn_fin", "remote_closed_unreplied"),
    ("idle", "send_data", None),
    ("open_unreplied", "send_reply", "open"),
    ("open_unreplied", "send_data", None),
    ("open_unreplied", "recv_fin", "remote_closed_unreplied"),
    ("remote_closed_unreplied", "recv_data", None),
    ("remote_closed_unreplied", "send_reply", "remote_closed"),
    ("open", "send_fin", "local_closed"),
    ("open", "recv_fin", "remote_closed"),
    ("open", "send_reply", None),
    ("remote_closed", "recv_data", None),
    ("remote_closed", "send_fin", "closed"),
    ("local_closed", "send_data", None),
    ("local_closed", "recv_fin", "closed"),
    ("closed", "recv_data", None),
    ("closed", "recv_rst", "closed"),
]


@pytest.mark.parametrize("state,event,expect", STREAM_TABLE)
def test_stream_table(state, event, expect):
    assert spdy.transition(state, event) == expect


def test_local_misuse_raises():
    conn, client = spdy.Connection(), spdy.ClientCodec()
    with pytest.raises(spdy.LocalProtocolError, match="not open"):
        conn.reply(1)
    opened(conn, client)
    with pytest.raises(spdy.LocalProtocolError, match="send_data not allowed in state open_unreplied"):
        conn.send_data(1, b"x")
    conn.reply(1)
    with pytest.raises(spdy.LocalProtocolError):
        conn.reply(1)


# (name, bytes after a valid SYN_STREAM 1, message in ConnectionFailed)
CONNECTION_ERRORS = [
    ("version 2 control frame", ctrl(spdy.PING, struct.pack(">I", 1), version=2), "version 2"),
    ("short RST_STREAM", ctrl(spdy.RST_STREAM, b"\0" * 4), "RST_STREAM frame with a 4-byte payload"),
    ("RST_STREAM on stream 0", ctrl(spdy.RST_STREAM, struct.pack(">II", 0, 1)), "stream 0"),
    ("long PING", ctrl(spdy.PING, b"\0" * 8), "PING frame"),
    ("short GOAWAY", ctrl(spdy.GOAWAY, b"\0" * 4), "GOAWAY frame"),
    ("SETTINGS count mismatch", ctrl(spdy.SETTINGS, struct.pack(">I", 3) + b"\0" * 8), "announces 3 entries"),
    ("SETTINGS window too large", ctrl(spdy.SETTINGS, struct.pack(">III", 1, 7, 0x80000000)), "exceeds 2^31-1"),
    ("short SYN_STREAM", ctrl(spdy.SYN_STREAM, b"\0" * 6), "needs at least 10"),
    ("even stream id", lambda c: syn(4, block(), client=c), "stream id 4"),
    ("stream id 0", lambda c: syn(0, block(), client=c), "stream id 0"),
    ("id not increasing", lambda c: syn(1, block(), client=c), "not above the last one"),
    ("header block not zlib", ctrl(spdy.SYN_STREAM, struct.pack(">IIBB", 3, 0, 0, 0) + b"garbage!"),
     "does not decompress"),
    ("DATA on stream 0", spdy.data_frame(0, b"x"), "stream 0"),
    ("WINDOW_UPDATE delta 0 on stream 0", ctrl(spdy.WINDOW_UPDATE, struct.pack(">II", 0, 0)), "delta of 0"),
    ("frame over the size limit", struct.pack(">II", 1, (1 << 24) - 1), "exceeds the limit"),
]


@pytest.mark.parametrize("name,wire,message", CONNECTION_ERRORS, ids=[c[0] for c in CONNECTION_ERRORS])
def test_connection_errors_send_goaway(name, wire, message):
    conn, client = spdy.Connection(), spdy.ClientCodec()
    opened(conn, client)
    events = conn.receive_data(wire(client) if callable(wire) else wire)
    assert isinstance(events[-1], spdy.ConnectionFailed), events
    assert message in events[-1].message
    assert _goaway(conn.data_to_send()) == spdy.GOAWAY_PROTOCOL_ERROR
    assert conn.receive_data(spdy.data_frame(1, b"more")) == []  # dead: further input ignored, no exception


def test_truncated_input_and_oversized_header_block():
    conn, client = spdy.Connection(), spdy.ClientCodec()
    wire = client.syn_stream(1, {"a": "b"})
    assert conn.receive_data(wire[:-3]) == []
    events = conn.receive_data(b"")
    assert isinstance(events[0], spdy.ConnectionFailed) and "ended inside a frame" in events[0].message
    assert _goaway(conn.data_to_send()) == spdy.GOAWAY_PROTOCOL_ERROR
    # a header block that inflates beyond the limit (zlib bomb)
    conn = spdy.Connection(max_header_block=1024)
    events = conn.receive_data(syn(1, block((b"big", b"a" * 100000))))
    assert isinstance(events[0], spdy.ConnectionFailed) and "exceeds 1024 bytes" in events[0].message


STREAM_ERRORS = [
    ("DATA on a stream never opened", lambda c: spdy.data_frame(9, b"x"), 9, spdy.INVALID_STREAM),
    ("DATA after the peer's FIN", lambda c: spdy.data_frame(1, b"", True) + spdy.data_frame(1, b"x"), 1,
     spdy.STREAM_ALREADY_CLOSED),
    ("SYN_REPLY from the client", lambda c: ctrl(spdy.SYN_REPLY, struct.pack(">I", 1) + c.compress(block())), 1,
     spdy.INVALID_STREAM),
    ("WINDOW_UPDATE delta 0 on a stream", lambda c: ctrl(spdy.WINDOW_UPDATE, struct.pack(">II", 1, 0)), 1,
     spdy.PROTOCOL_ERROR),
    ("WINDOW_UPDATE overflow", lambda c: ctrl(spdy.WINDOW_UPDATE, struct.pack(">II", 1, 0x7FFFFFFF)), 1,
     spdy.FLOW_CONTROL_ERROR),
]


@pytest.mark.parametrize("name,make,sid,status", STREAM_ERRORS, ids=[s[0] for s in STREAM_ERRORS])
def test_stream_errors_reset_only_that_stream(name, make, sid, status):
    conn, client = spdy.Connection(), spdy.ClientCodec()
    opened(conn, client)
    conn.reply(1)
    events = conn.receive_data(make(client))
    assert events[-1] == spdy.StreamReset(sid, status, by_peer=False)
    assert conn.data_to_send().endswith(ctrl(spdy.RST_STREAM, struct.pack(">II", sid, status)))
    assert conn.failed is None
    assert isinstance(conn.receive_data(client.syn_stream(3, {"a": "b"}))[0], spdy.StreamOpened)  # connection lives


def test_flow_control_strict_and_window_updates():
    conn, client = spdy.Connection(strict_flow_control=True), spdy.ClientCodec()
    opened(conn, client)
    conn.reply(1)
    with pytest.raises(spdy.LocalProtocolError, match="send window"):
        conn.send_data(1, b"x" * (spdy.DEFAULT_WINDOW + 1))
    conn.send_data(1, b"x" * spdy.DEFAULT_WINDOW)
    assert conn.send_window(1) == 0
    # receiving: a WINDOW_UPDATE once half the window was consumed
    conn.receive_data(spdy.data_frame(1, b"y" * 20000))
    assert conn.consumed(1, 20000) == b""
    conn.receive_data(spdy.data_frame(1, b"y" * 20000))
    assert conn.consumed(1, 20000) == ctrl(spdy.WINDOW_UPDATE, struct.pack(">II", 1, 40000))
    # beyond the window: the stream is reset in strict mode
    events = conn.receive_data(spdy.data_frame(1, b"y" * (spdy.DEFAULT_WINDOW + 1)))
    assert events == [spdy.StreamReset(1, spdy.FLOW_CONTROL_ERROR, by_peer=False)]
    # not strict (spdystream peers): tolerated
    lax = spdy.Connection()
    opened(lax, spdy.ClientCodec())
    assert lax.receive_data(spdy.data_frame(1, b"y" * (spdy.DEFAULT_WINDOW * 2)))[0].data[:1] == b"y"


def test_refuses_streams_beyond_the_limit_and_after_goaway():
    conn, client = spdy.Connection(max_streams=1), spdy.ClientCodec()
    opened(conn, client, 1)
    assert conn.receive_data(client.syn_stream(3, {})) == [spdy.StreamReset(3, spdy.REFUSED_STREAM, by_peer=False)]
    conn.data_to_send()
    conn.goaway()
    assert conn.receive_data(client.syn_stream(5, {})) == []


def test_mutated_input_never_raises():
    """Random flips, cuts and splices of a valid exchange: events or a clean failure, never an exception."""
    import random

    rng = random.Random(1234)
    client = spdy.ClientCodec()
    valid = (client.syn_stream(1, {"streamtype": "error"}) + client.syn_stream(3, {"streamtype": "stdin"}, fin=True)
             + spdy.data_frame(1, b"payload") + ctrl(spdy.PING, struct.pack(">I", 1))
             + ctrl(spdy.SETTINGS, struct.pack(">III", 1, 7, 4096)) + ctrl(spdy.WINDOW_UPDATE, struct.pack(">II", 1, 9))
             + ctrl(spdy.RST_STREAM, struct.pack(">II", 3, 5)) + ctrl(spdy.GOAWAY, struct.pack(">II", 3, 0)))
    for _ in range(3000):
        wire = bytearray(valid)
        for _ in range(rng.randint(1, 4)):
            op = rng.random()
            pos = rng.randrange(len(wire))
            if op < 0.6:
                wire[pos] = rng.randrange(256)
            elif op < 0.8:
                del wire[pos:pos + rng.randint(1, 20)]
            else:
                wire[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 20)))
        conn = spdy.Connection(max_frame_payload=4096)
        cut = rng.randrange(len(wire) + 1)
        for part in (bytes(wire[:cut]), bytes(wire[cut:]), b""):
            for event in conn.receive_data(part):
                if isinstance(event, spdy.StreamOpened) and conn.stream_state(event.stream_id) != "closed":
                    conn.reply(event.stream_id)
        conn.data_to_send()
