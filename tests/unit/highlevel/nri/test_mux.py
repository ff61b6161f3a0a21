"""NRI's connection multiplexing, from tables."""
import pytest
from gantry.highlevel.nri import mux


@pytest.mark.parametrize("conn,data,wire", [
    (1, b"abc", b"\x00\x00\x00\x01\x00\x00\x00\x03abc"),
    (2, b"", b""),
    (0x0a0b0c0d, b"z", b"\x0a\x0b\x0c\x0d\x00\x00\x00\x01z"),
])
def test_chunk_wire_format(conn, data, wire):
    assert mux.encode(conn, data) == wire


def test_encode_cuts_into_chunks_of_at_most_4096_bytes():
    data = bytes(range(256)) * 40                    # 10240 bytes
    out = mux.Demux().feed(mux.encode(2, data))
    assert [len(c) for _, c in out] == [4096, 4096, 2048]
    assert {conn for conn, _ in out} == {2} and b"".join(c for _, c in out) == data


def test_conn_zero_is_reserved():
    with pytest.raises(ValueError, match="reserved"):
        mux.encode(0, b"x")


def test_demux_interleaved_conns_in_pieces():
    wire = mux.encode(1, b"first") + mux.encode(2, b"second") + mux.encode(1, b"third")
    demux, out = mux.Demux(), []
    for i in range(0, len(wire), 3):
        out += demux.feed(wire[i:i + 3])
    assert out == [(1, b"first"), (2, b"second"), (1, b"third")]


def test_demux_refuses_a_huge_chunk():
    with pytest.raises(mux.MuxError, match="over"):
        mux.Demux().feed(b"\x00\x00\x00\x01\x7f\x00\x00\x00")
