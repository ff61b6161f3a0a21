"""tarheader.Header.frombuf against tarfile.TarInfo.frombuf: the same object or the same error."""
import io
import random
import tarfile

import pytest
from gantry.highlevel.images.tarheader import Header, checksum_matches, unsigned_checksum

ENC, ERR = tarfile.ENCODING, "surrogateescape"


def decode(cls, buf):
    """(exception type, message) or the decoded fields of one block."""
    try:
        info = cls.frombuf(buf, ENC, ERR)
    except tarfile.HeaderError as exc:
        return type(exc), str(exc)
    return {k: getattr(info, k, "<unset>") for k in tarfile.TarInfo.__slots__ if k != "tarfile"}


def same(buf):
    assert decode(Header, buf) == decode(tarfile.TarInfo, buf), buf


def with_checksum(block, signed=False):
    block = bytearray(block)
    block[148:156] = b"        "
    total = sum(b - 256 if signed and b > 127 else b for b in block)
    block[148:156] = b"%06o\0 " % (total & 0o777777)
    return bytes(block)


def headers():
    """Header blocks of every kind and format tarfile writes."""
    out = []
    kinds = [(tarfile.REGTYPE, {}), (tarfile.DIRTYPE, {}), (tarfile.SYMTYPE, {"linkname": "../t"}),
             (tarfile.LNKTYPE, {"linkname": "a/b"}), (tarfile.CHRTYPE, {"devmajor": 4, "devminor": 64}),
             (tarfile.FIFOTYPE, {}), (tarfile.GNUTYPE_SPARSE, {})]
    names = ["a", "dir/", "d/" + "x" * 120 + "/f", "ünï/côdé", "./a//b"]
    for fmt in (tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        for kind, extra in kinds:
            for name in names:
                ti = tarfile.TarInfo(name)
                ti.type, ti.size, ti.mtime, ti.mode = kind, 4096 if kind == tarfile.REGTYPE else 0, 1.7e9, 0o4755
                ti.uid, ti.gid, ti.uname, ti.gname = 1000, 2 ** 21 + 5, "üser", "grp"
                for k, v in extra.items():
                    setattr(ti, k, v)
                try:
                    raw = ti.tobuf(fmt, ENC, ERR)
                except ValueError:
                    continue      # e.g. a name too long for plain ustar
                out += [raw[i:i + 512] for i in range(0, len(raw), 512)]
    return out


@pytest.mark.parametrize("buf", headers())
def test_blocks_tarfile_writes(buf):
    same(buf)


def test_signed_checksums_old_tars_wrote():
    ti = tarfile.TarInfo("caf\xe9")
    raw = ti.tobuf(tarfile.USTAR_FORMAT, "latin-1", ERR)[:512]
    assert raw != with_checksum(raw, signed=True)
    same(with_checksum(raw, signed=True))
    assert Header.frombuf(with_checksum(raw, signed=True), ENC, ERR).name == "caf\udce9"


@pytest.mark.parametrize("buf", [b"", b"\0" * 511, b"\0" * 512, b"\0" * 513, b"\xff" * 512, b" " * 512,
                                 with_checksum(b"\0" * 512), with_checksum(b"\xff" * 512),
                                 with_checksum(b"\xff" * 512, signed=True)])
def test_edge_blocks(buf):
    same(buf)


def test_checksum_is_tarfiles():
    rng = random.Random(7)
    for _ in range(2000):
        buf = bytes(rng.choice((0, 32, 48, 255, rng.randrange(256))) for _ in range(512))
        assert unsigned_checksum(buf) == tarfile.calc_chksums(buf)[0]
        for chksum in (*tarfile.calc_chksums(buf), unsigned_checksum(buf) + 1, 0, -1):
            assert checksum_matches(buf, chksum) == (chksum in tarfile.calc_chksums(buf))


def test_mutated_blocks():
    """Every header byte set to interesting values, checksum fixed up (so the fields are reached)."""
    rng = random.Random(11)
    blocks = headers()
    for _ in range(3000):
        block = bytearray(rng.choice(blocks))
        for _ in range(rng.randint(1, 6)):
            block[rng.randrange(512)] = rng.choice((0, 0x20, 0x2f, 0x30, 0x37, 0x38, 0x5f, 0x6f, 0x7f,
                                                    0x80, 0x1c, 0xff, rng.randrange(256)))
        same(bytes(block))
        same(with_checksum(block))
        same(with_checksum(block, signed=True))


def test_whole_archives_read_the_same():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for i, name in enumerate(["a", "b/" + "y" * 300, "c"]):
            ti = tarfile.TarInfo(name)
            ti.pax_headers = {"SCHILY.xattr.user.k": "v%d" % i}
            ti.size = i
            tf.addfile(ti, io.BytesIO(b"z" * i))

    class _Tar(tarfile.TarFile):
        tarinfo = Header

    def members(cls):
        with cls.open(fileobj=io.BytesIO(buf.getvalue())) as tf:
            return [(m.name, m.size, m.offset, m.offset_data, m.pax_headers) for m in tf.getmembers()]
    assert members(_Tar) == members(tarfile.TarFile)
