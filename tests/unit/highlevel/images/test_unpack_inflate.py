"""gzip layers inflate the same through zlib-ng (the default) and plain zlib (the fallback)."""
import gzip
import io
import os
import zlib

import pytest
from gantry.highlevel import errors
from gantry.highlevel.images import unpack
from zlib_ng import zlib_ng  # a dependency (pyproject.toml): missing, the install is broken and this fails

from tests.fixtures import ociimage as oi


@pytest.fixture(params=["zlib_ng", "zlib"])
def inflate(request, monkeypatch):
    lib = zlib_ng if request.param == "zlib_ng" else zlib
    monkeypatch.setattr(unpack, "INFLATE", lib)
    return lib


def test_zlib_ng_is_the_default():
    assert unpack.INFLATE is zlib_ng


def drain(blob):
    r = unpack.DiffReader(io.BytesIO(blob))
    out = []
    while True:
        chunk = r.chunk()
        if not chunk:
            return b"".join(out), r
        assert len(chunk) <= unpack.OUT_MAX
        out.append(chunk)


def test_layer_applies(tmp_path, inflate):
    layer = oi.Layer([oi.Dir("a"), oi.File("a/f", os.urandom(300_000)), oi.File("a/g", b"text " * 50_000)], "gzip")
    res = unpack.apply_layer(io.BytesIO(layer.blob), str(tmp_path / "t"), expected_diff_id=layer.diff_id)
    assert res.diff_id == layer.diff_id and res.size == len(layer.tar)
    assert (tmp_path / "t" / "a" / "g").read_bytes() == b"text " * 50_000


def test_members_and_bounded_output(inflate):
    data = b"\0" * (20 << 20) + os.urandom(100_000)
    blob = gzip.compress(data[:5 << 20], 9) + gzip.compress(data[5 << 20:], 9)
    out, r = drain(blob)
    assert out == data and r.size == len(data)


@pytest.mark.parametrize("damage", ["crc", "length", "truncated", "garbage after", "deflate"])
def test_damaged_streams_are_data_loss(inflate, damage):
    blob = bytearray(gzip.compress(os.urandom(50_000) + b"x" * 50_000))
    if damage == "crc":
        blob[-8] ^= 1
    elif damage == "length":
        blob[-1] ^= 1
    elif damage == "truncated":
        del blob[-20:]
    elif damage == "garbage after":
        blob += b"\x1f\x8bnot a member"
    else:
        blob[12:20] = b"\xff" * 8
    with pytest.raises(errors.DataLoss):
        drain(bytes(blob))
