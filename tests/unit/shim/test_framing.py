"""The shim API framing codec (proto/framing.py) and the call table."""
import pytest
from gantry.api import framing, shimcalls
from gantry.api.framing import DATA, END, ERROR, REQUEST, RESPONSE, Frame

FRAMES = [
    Frame(REQUEST, 1, "Connect", 0, b""),
    Frame(REQUEST, 0xFFFFFFFF, "Wait", 0, b"\x0a\x00"),
    Frame(RESPONSE, 7, "", 0, b"x" * 100000),
    Frame(ERROR, 3, "", framing.NOT_FOUND, "no exec 'é'".encode()),
    Frame(DATA, 9, "", 0, bytes(range(256))),
    Frame(END, 9),
]


@pytest.mark.parametrize("frame", FRAMES, ids=repr)
def test_round_trip(frame):
    assert framing.Decoder().feed(framing.encode(frame)) == [frame]


def test_byte_by_byte_and_batched():
    wire = b"".join(framing.encode(f) for f in FRAMES)
    d = framing.Decoder()
    got = []
    for i in range(len(wire)):
        got += d.feed(wire[i:i + 1])
    assert got == FRAMES and d.pending == 0
    assert framing.Decoder().feed(wire) == FRAMES


def test_partial_frame_is_held():
    wire = framing.request(5, "State", b"abc")
    d = framing.Decoder()
    assert d.feed(wire[:-1]) == []
    assert d.pending == len(wire) - 1
    assert d.feed(wire[-1:]) == [Frame(REQUEST, 5, "State", 0, b"abc")]


def test_exact_bytes_of_a_request():
    assert framing.request(2, "Wait", b"\x01") == b"\x00\x00\x00\x0c" + b"\x01\x00\x00\x00\x00\x02\x04Wait\x01"


@pytest.mark.parametrize("wire, message", [
    (b"\xff\xff\xff\xff", "out of range"),
    (b"\x00\x00\x00\x02ab", "out of range"),
    (b"\x00\x00\x00\x07\x63\x00\x00\x00\x00\x01\x00", "kind 99 unknown"),
    (b"\x00\x00\x00\x07\x01\x00\x00\x00\x00\x01\x09", "method length"),
    (b"\x00\x00\x00\x08\x01\x00\x00\x00\x00\x01\x01\xff", "not ASCII"),
])
def test_peer_misbehaving(wire, message):
    with pytest.raises(framing.FramingError, match=message):
        framing.Decoder().feed(wire)


@pytest.mark.parametrize("frame", [
    Frame(42, 1), Frame(REQUEST, -1, "x"), Frame(REQUEST, 1, "x" * 256), Frame(ERROR, 1, "", 300),
    Frame(DATA, 1, "", 0, b"x" * framing.MAX_FRAME),
])
def test_refuses_to_encode_bad_frames(frame):
    with pytest.raises(ValueError):
        framing.encode(frame)


def test_call_table_covers_the_api():
    names = {"Connect", "Create", "Start", "State", "Kill", "Wait", "Delete", "Exec", "ResizePty", "CloseIO",
             "Attach", "ReopenLog", "Stats", "Update", "Pause", "Resume", "Pids", "Shutdown"}
    assert set(shimcalls.CALLS) == names
    assert [n for n, c in shimcalls.CALLS.items() if c.streaming] == ["Attach"]
    assert shimcalls.CALLS["Wait"].response.__name__ == "WaitResponse"
    assert set(shimcalls.TEMPLATE_CALLS) == {"Spawn"}


def test_recv_size_stays_below_mallocs_mmap_threshold():
    # recv(n) allocates n bytes (+ the bytes object's header) before it shrinks them; past glibc's
    # default mmap threshold every read would be an mmap/mremap/munmap round of its own
    assert framing.RECV_SIZE + 64 < 128 << 10
    assert framing.RECV_SIZE >= 64 << 10   # a whole 64 KiB output chunk (shim/io.py READ_SIZE) in one read



class RecordingSocket:
    """Answers each recv with one frame and records the sizes asked for."""

    def __init__(self, wire):
        self.wire, self.sizes = wire, []

    def recv(self, n):
        self.sizes.append(n)
        data, self.wire = self.wire[:n], self.wire[n:]
        return data

    def fileno(self):
        return -1


def test_the_shim_and_gantryds_client_read_recv_size_at_a_time():
    from gantry.highlevel import shimclient
    from gantry.shim import server

    frame = framing.data(1, b"x")
    got = []
    fake_server = type("S", (), {"on_frame": lambda self, conn, f: got.append(f), "loop": None})()
    conn = server.Connection(fake_server, RecordingSocket(frame))
    conn.on_readable()
    client = object.__new__(shimclient._Connection)
    client.sock, client.decoder, client.frames, client.address = RecordingSocket(frame), framing.Decoder(), [], "x"
    client.sock.gettimeout = lambda: None
    assert client.next_frame(None, "Attach") == got[0] == Frame(DATA, 1, "", 0, b"x")
    assert conn.sock.sizes == client.sock.sizes == [framing.RECV_SIZE]
