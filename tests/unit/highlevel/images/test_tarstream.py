"""TarStream: headers through tarfile's parser, data without copies, odd chunkings."""
import io
import tarfile

import pytest
from gantry.highlevel import errors
from gantry.highlevel.images.tarstream import TarStream


def build(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for name, data, kw in entries:
            ti = tarfile.TarInfo(name)
            for k, v in kw.items():
                setattr(ti, k, v)
            if data is not None:
                ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def chunks_of(data, size):
    pieces = [data[i:i + size] for i in range(0, len(data), size)]
    it = iter(pieces)
    return lambda: next(it, b"")


def read_all(data, size):
    ts = TarStream(chunks_of(data, size))
    out = []
    for info in ts.members():
        got = bytearray()
        if info.isreg():
            ts.copy_data(info, got.extend)
        out.append((info.name, info.type, bytes(got), dict(info.pax_headers)))
    return out


LONG = "d/" + "x" * 200 + "/file"


@pytest.mark.parametrize("size", [1, 7, 512, 513, 4096, 1 << 20])
@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_members_and_data_for_any_chunking(size, fmt):
    entries = [("a", b"hello", {}), ("dir", None, {"type": tarfile.DIRTYPE}),
               (LONG, b"y" * 3000, {}), ("link", None, {"type": tarfile.SYMTYPE, "linkname": "z" * 150}),
               ("empty", b"", {})]
    if fmt == tarfile.PAX_FORMAT:
        entries.append(("x", b"1", {"pax_headers": {"SCHILY.xattr.user.a": "b"}}))
    got = read_all(build(entries, fmt), size)
    assert [g[0] for g in got] == [e[0] for e in entries]
    assert got[0][2] == b"hello" and got[2][2] == b"y" * 3000 and got[4][2] == b""
    if fmt == tarfile.PAX_FORMAT:
        assert got[-1][3]["SCHILY.xattr.user.a"] == "b"


def test_skipping_data_is_fine():
    data = build([("a", b"1" * 1000, {}), ("b", b"2", {})])
    ts = TarStream(chunks_of(data, 100))
    assert [m.name for m in ts.members()] == ["a", "b"]


def test_truncated_data_is_data_loss():
    data = build([("a", b"1" * 5000, {})])[:2048]
    ts = TarStream(chunks_of(data, 300))
    info = next(ts.members())
    with pytest.raises(errors.DataLoss):
        ts.copy_data(info, lambda v: None)


def test_truncated_header_and_garbage():
    data = build([("a", b"1", {})])
    with pytest.raises(errors.DataLoss):
        list(TarStream(chunks_of(data[:100], 50)).members())
    with pytest.raises(errors.InvalidArgument):
        list(TarStream(chunks_of(b"\x01" * 1024, 512)).members())


def test_sparse_files_refused():
    ti = tarfile.TarInfo("s")
    ti.type = tarfile.GNUTYPE_SPARSE
    raw = ti.tobuf(tarfile.GNU_FORMAT) + b"\0" * 1024
    with pytest.raises(errors.InvalidArgument, match="sparse"):
        list(TarStream(chunks_of(raw, 512)).members())


def test_huge_pax_header_is_refused_without_allocating_it():
    ti = tarfile.TarInfo("././@PaxHeader")
    ti.type = tarfile.XHDTYPE
    ti.size = 8 * 1024 ** 3 - 1           # claims 8 GiB of PAX records (the ustar maximum)
    raw = ti.tobuf(tarfile.USTAR_FORMAT) + b"\0" * 512
    with pytest.raises(errors.InvalidArgument, match="too large"):
        list(TarStream(chunks_of(raw, 512)).members())
