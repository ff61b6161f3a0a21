"""Layer application: every entry kind, compressions, diff_id, hostile layers (nothing escapes or stays)."""
import io
import os
import stat

import pytest
from gantry.highlevel import errors
from gantry.highlevel.images import unpack

from tests.fixtures import hostilelayers
from tests.fixtures import ociimage as oi

root_only = pytest.mark.root


def apply(layer, target, **kw):
    return unpack.apply_layer(io.BytesIO(layer.blob), str(target), expected_diff_id=layer.diff_id, **kw)


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_compressions_and_diff_id(tmp_path, compression):
    layer = oi.Layer([oi.Dir("a"), oi.File("a/f", b"data" * 10000)], compression)
    res = apply(layer, tmp_path / "t")
    assert res.diff_id == layer.diff_id
    assert res.size == len(layer.tar)
    assert res.entries == 2
    assert (tmp_path / "t" / "a" / "f").read_bytes() == b"data" * 10000


def test_multi_member_gzip(tmp_path):
    import gzip

    layer = oi.Layer([oi.File("f", b"x" * 5000)], "none")
    half = len(layer.tar) // 2
    blob = gzip.compress(layer.tar[:half]) + gzip.compress(layer.tar[half:])
    res = unpack.apply_layer(io.BytesIO(blob), str(tmp_path / "t"), expected_diff_id=layer.diff_id)
    assert res.diff_id == layer.diff_id


def test_diff_id_mismatch_leaves_target_untouched(tmp_path):
    layer = oi.Layer([oi.File("f", b"x")], "gzip")
    target = tmp_path / "t"
    target.mkdir()
    with pytest.raises(errors.DataLoss, match="diff_id"):
        unpack.apply_layer(io.BytesIO(layer.blob), str(target), expected_diff_id="sha256:" + "0" * 64)
    assert os.listdir(target) == []
    assert sorted(os.listdir(tmp_path)) == ["t"]


@pytest.mark.parametrize("cut", [10, 600, -30])
def test_truncated_streams_refused(tmp_path, cut):
    layer = oi.Layer([oi.File("f", os.urandom(4096))], "gzip")
    with pytest.raises(errors.GantryError):
        unpack.apply_layer(io.BytesIO(layer.blob[:cut]), str(tmp_path / "t"), expected_diff_id=layer.diff_id)
    assert os.listdir(tmp_path) == []


def test_corrupt_zstd_refused(tmp_path):
    layer = oi.Layer([oi.File("f", os.urandom(4096))], "zstd")
    blob = bytearray(layer.blob)
    blob[len(blob) // 2] ^= 0xFF
    with pytest.raises(errors.GantryError):
        unpack.apply_layer(io.BytesIO(bytes(blob)), str(tmp_path / "t"), expected_diff_id=layer.diff_id)
    assert os.listdir(tmp_path) == []


def test_nonempty_target_refused(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "x").write_text("keep")
    with pytest.raises(errors.FailedPrecondition):
        apply(oi.Layer([oi.File("f")]), tmp_path / "t")
    assert (tmp_path / "t" / "x").read_text() == "keep"


@root_only
def test_every_entry_kind(tmp_path):
    layer = oi.Layer([
        oi.Dir("d", mode=0o750, uid=1000, gid=1001, mtime=oi.EPOCH + 7),
        oi.File("d/f", b"content", mode=0o640, uid=1002, gid=1003, mtime=oi.EPOCH + 1,
                xattrs={"user.k": b"v", "user.bin": b"\x00\x01\xff"}),
        oi.File("d/suid", b"#!", mode=0o4755), oi.File("d/sgid", b"#!", mode=0o2711),
        oi.Dir("d/sticky", mode=0o1777),
        oi.Symlink("d/rel", "f"), oi.Symlink("d/abs", "/etc/passwd", uid=5, gid=6),
        oi.Hardlink("d/hard", "d/f"),
        oi.CharDev("d/null", 1, 3, mode=0o666), oi.BlockDev("d/blk", 7, 9, mode=0o660), oi.Fifo("d/fifo", mode=0o600),
        oi.File("implicit/parent/f", b"x"),
    ], "gzip")
    t = tmp_path / "t"
    apply(layer, t)
    st = os.lstat(t / "d")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime) == (0o750, 1000, 1001, oi.EPOCH + 7)
    st = os.lstat(t / "d" / "f")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime, st.st_nlink) == \
        (0o640, 1002, 1003, oi.EPOCH + 1, 2)
    assert os.getxattr(t / "d" / "f", "user.k") == b"v"
    assert os.getxattr(t / "d" / "f", "user.bin") == b"\x00\x01\xff"
    assert stat.S_IMODE(os.lstat(t / "d" / "suid").st_mode) == 0o4755
    assert stat.S_IMODE(os.lstat(t / "d" / "sgid").st_mode) == 0o2711
    assert stat.S_IMODE(os.lstat(t / "d" / "sticky").st_mode) == 0o1777
    assert os.readlink(t / "d" / "rel") == "f"
    assert os.readlink(t / "d" / "abs") == "/etc/passwd"
    assert (os.lstat(t / "d" / "abs").st_uid, os.lstat(t / "d" / "abs").st_gid) == (5, 6)
    assert os.lstat(t / "d" / "hard").st_ino == os.lstat(t / "d" / "f").st_ino
    st = os.lstat(t / "d" / "null")
    assert stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
    assert stat.S_IMODE(st.st_mode) == 0o666
    st = os.lstat(t / "d" / "blk")
    assert stat.S_ISBLK(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (7, 9)
    assert stat.S_ISFIFO(os.lstat(t / "d" / "fifo").st_mode)
    assert (t / "implicit" / "parent" / "f").read_bytes() == b"x"
    assert stat.S_IMODE(os.lstat(t / "implicit").st_mode) == 0o755
    assert stat.S_IMODE(os.lstat(t).st_mode) == 0o755


@root_only
def test_whiteouts_and_opaque_become_overlay_form(tmp_path):
    layer = oi.Layer([oi.Dir("etc"), oi.Whiteout("etc/hostname"), oi.Opaque("tmp"), oi.File("tmp/new", b"n"),
                      oi.Whiteout("gone-dir")], "zstd")
    t = tmp_path / "t"
    apply(layer, t)
    for p in ("etc/hostname", "gone-dir"):
        st = os.lstat(t / p)
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)
    assert os.getxattr(t / "tmp", "trusted.overlay.opaque") == b"y"
    assert not os.path.lexists(t / "etc" / ".wh.hostname")
    assert not os.path.lexists(t / "tmp" / ".wh..wh..opq")


@root_only
def test_later_entries_replace_earlier_ones(tmp_path):
    layer = oi.Layer([
        oi.File("x", b"first"), oi.File("x", b"second"),
        oi.Dir("d"), oi.File("d/inner", b"i"), oi.File("d", b"now a file"),
        oi.Whiteout("w"), oi.File("w", b"real"),            # the layer's own entry wins over its whiteout
        oi.File("v", b"real"), oi.Whiteout("v"),
        oi.Dir("keep", mode=0o700), oi.File("keep/a", b"a"), oi.Dir("keep", mode=0o711),
    ], "none")
    t = tmp_path / "t"
    apply(layer, t)
    assert (t / "x").read_bytes() == b"second"
    assert (t / "d").read_bytes() == b"now a file"
    assert (t / "w").read_bytes() == b"real"
    assert (t / "v").read_bytes() == b"real"
    assert (t / "keep" / "a").read_bytes() == b"a"
    assert stat.S_IMODE(os.lstat(t / "keep").st_mode) == 0o711


REFUSED_LAYERS = {
    "overlay-xattr": [oi.File("f", b"x", xattrs={"trusted.overlay.redirect": b"/etc"})],
    "user-overlay-xattr": [oi.File("f", b"x", xattrs={"user.overlay.opaque": b"y"})],
    "hardlink-to-dir": [oi.Dir("d"), oi.Hardlink("h", "d")],
    "hardlink-through-file": [oi.File("f", b"x"), oi.Hardlink("h", "f/x")],
    "parent-is-file": [oi.File("f", b"x"), oi.File("f/child", b"y")],
    "symlink-parent": [oi.Symlink("s", "."), oi.File("s/f", b"x")],
}


@pytest.mark.parametrize("name", sorted(REFUSED_LAYERS))
def test_refused_layers(tmp_path, name):
    layer = oi.Layer(REFUSED_LAYERS[name], "gzip")
    with pytest.raises(errors.InvalidArgument, match="layer entry"):
        apply(layer, tmp_path / "t")
    assert os.listdir(tmp_path) == []


@root_only
@pytest.mark.parametrize("name", hostilelayers.NAMES)
def test_hostile_layers_never_escape(tmp_path, name):
    dest = tmp_path / "snapshot"
    case = hostilelayers.case(str(dest), name, compression="gzip")
    case.prepare()
    outside_before = set(os.listdir(tmp_path))
    try:
        for i, layer in enumerate(case.layers):
            target = dest if i == 0 else tmp_path / f"snapshot-layer{i}"
            try:
                unpack.apply_layer(io.BytesIO(layer.blob), str(target), expected_diff_id=layer.diff_id)
            except errors.InvalidArgument as e:
                assert "layer entry" in str(e)
                assert not os.path.lexists(target) or os.listdir(target) == []
                break
        assert case.violations() == []
        # no temporary directory stays behind
        left = set(os.listdir(tmp_path)) - outside_before - {"snapshot"} - {
            f"snapshot-layer{i}" for i in range(1, len(case.layers))}
        assert left == set()
    finally:
        case.cleanup()


def test_hardlinks_into_lower_layers_are_deferred_to_commit(tmp_path):
    layer = oi.Layer([oi.Dir("a"), oi.Hardlink("a/h", "lower/file"), oi.Hardlink("a/gone", "x"), oi.File("a/gone")])
    res = apply(layer, tmp_path / "t")
    assert res.deferred_links == ((("a", "h"), ("lower", "file")),)     # a/gone was replaced by a file
    assert not os.path.lexists(tmp_path / "t" / "a" / "h")


def test_single_layer_hostile_cases_are_refused(tmp_path):
    """Every single-layer case is refused outright (not merely contained)."""
    for name in hostilelayers.NAMES:
        dest = tmp_path / "snapshot"
        case = hostilelayers.case(str(dest), name)
        if len(case.layers) != 1:
            continue
        case.prepare()
        with pytest.raises(errors.InvalidArgument, match="layer entry"):
            unpack.apply_layer(io.BytesIO(case.layers[0].blob), str(dest))
        assert case.violations() == []
        assert not os.path.exists(dest)
        case.cleanup()


def test_detect_compression():
    assert unpack.detect_compression(b"\x1f\x8b\x08\x00") == "gzip"
    assert unpack.detect_compression(b"\x28\xb5\x2f\xfd") == "zstd"
    assert unpack.detect_compression(b"etc/") == "none"
    assert unpack.detect_compression(b"") == "none"


def test_diff_reader_reads_in_pieces():
    layer = oi.Layer([oi.File("f", os.urandom(100_000))], "zstd")
    r = unpack.DiffReader(io.BytesIO(layer.blob))
    out = b""
    while True:
        chunk = r.read(777)
        if not chunk:
            break
        out += chunk
    assert out == layer.tar and r.digest == layer.diff_id and r.size == len(layer.tar)


def test_disk_full_is_resource_exhausted_and_leaves_nothing(tmp_path, monkeypatch):
    import errno as errno_mod

    real_write = os.write
    written = [0]

    def full_write(fd, data):
        written[0] += 1
        if written[0] > 2:
            raise OSError(errno_mod.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(unpack.os, "write", full_write)
    layer = oi.Layer([oi.File(f"f{i}", b"x" * 100) for i in range(5)])
    with pytest.raises(errors.ResourceExhausted, match="no space"):
        apply(layer, tmp_path / "t")
    assert os.listdir(tmp_path) == []


@root_only
def test_file_capabilities_survive_the_owner_change(tmp_path):
    import struct

    cap_net_raw = 1 << 13
    vfs_cap_v2 = struct.pack("<IIIII", 0x02000001, cap_net_raw, 0, 0, 0)   # effective + permitted
    layer = oi.Layer([oi.File("ping", b"\x7fELF", mode=0o755, uid=1000, gid=1000,
                              xattrs={"security.capability": vfs_cap_v2})])
    apply(layer, tmp_path / "t")
    p = tmp_path / "t" / "ping"
    assert os.lstat(p).st_uid == 1000
    assert os.getxattr(p, "security.capability") == vfs_cap_v2


def test_gzip_output_is_bounded_per_chunk():
    import gzip

    data = b"\0" * (64 << 20)
    blob = gzip.compress(data, 9)
    assert len(blob) < (1 << 20)
    r = unpack.DiffReader(io.BytesIO(blob))
    sizes = []
    while True:
        chunk = r.chunk()
        if not chunk:
            break
        sizes.append(len(chunk))
    assert sum(sizes) == len(data) and max(sizes) <= unpack.OUT_MAX


def test_overlong_names_are_invalid_argument(tmp_path):
    layer = oi.Layer([oi.File("x" * 300, b"x")])
    with pytest.raises(errors.InvalidArgument, match="too long"):
        apply(layer, tmp_path / "t")
    assert os.listdir(tmp_path) == []


def test_zstd_chunked_style_skippable_frames_are_ignored(tmp_path):
    import struct

    import zstandard

    layer = oi.Layer([oi.File("a", b"a" * 5000), oi.File("b", b"b" * 5000)], "none")
    half = len(layer.tar) // 2
    cz = zstandard.ZstdCompressor()
    toc = struct.pack("<II", 0x184D2A50, 7) + b"tocdata"      # a skippable frame, as zstd:chunked writes
    blob = cz.compress(layer.tar[:half]) + toc + cz.compress(layer.tar[half:]) + toc
    res = unpack.apply_layer(io.BytesIO(blob), str(tmp_path / "t"), expected_diff_id=layer.diff_id)
    assert res.diff_id == layer.diff_id and (tmp_path / "t" / "b").read_bytes() == b"b" * 5000


def test_names_that_are_not_utf8_keep_their_bytes(tmp_path):
    layer = oi.Layer([oi.File("caf\udce9-latin1", b"x"), oi.File("ünïcode", b"y")])
    apply(layer, tmp_path / "t")
    assert sorted(os.listdir(os.fsencode(tmp_path / "t"))) == [b"caf\xe9-latin1", "ünïcode".encode()]


# found by tests/fuzz (fuzz_unpack): base-256 header fields can be negative or huge; chmod/lchown/makedev
# raised OverflowError, and uid -1 would have meant "leave the owner unchanged" to lchown
@pytest.mark.parametrize("kind, field, value", [
    ("file", slice(100, 108), b"\xff" * 8),                 # mode -1
    ("file", slice(108, 116), b"\xff" * 8),                 # uid -1
    ("file", slice(116, 124), b"\x80" + b"\xff" * 7),       # gid 2**56-1
    ("char", slice(329, 337), b"\x80" + b"\xff" * 7),       # devmajor 2**56-1
    ("char", slice(329, 337), b"%07o\0" % 4096),              # devmajor 4096: mknod says EINVAL (was Internal)
    ("char", slice(337, 345), b"%07o\0" % 0x100000),          # devminor 2**20
])
def test_out_of_range_header_numbers_are_refused(tmp_path, kind, field, value):
    import tarfile
    ti = tarfile.TarInfo("x")
    ti.type = tarfile.CHRTYPE if kind == "char" else tarfile.REGTYPE
    hdr = bytearray(ti.tobuf(tarfile.USTAR_FORMAT))
    hdr[field] = value
    hdr[148:156] = b"        "
    hdr[148:156] = b"%06o\0 " % sum(hdr)
    with pytest.raises(errors.InvalidArgument, match="out of range"):
        unpack.apply_layer(io.BytesIO(bytes(hdr) + b"\0" * 1024), str(tmp_path / "t"), sync=False)
    assert os.listdir(tmp_path) == []


def test_nul_in_a_symlink_target_or_xattr_name_is_refused(tmp_path):
    # found by tests/fuzz (fuzz_unpack): a PAX linkpath with a NUL made os.symlink raise ValueError
    import tarfile
    for kind, pax, what in ((tarfile.SYMTYPE, {"linkpath": "a\0b"}, "link target"),
                            (tarfile.REGTYPE, {"SCHILY.xattr.user.a\0b": "1"}, "xattr name")):
        ti = tarfile.TarInfo("x")
        ti.type, ti.pax_headers = kind, pax
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            tar.addfile(ti)
        with pytest.raises(errors.InvalidArgument, match=what):
            unpack.apply_layer(io.BytesIO(buf.getvalue()), str(tmp_path / "t"), sync=False)
        assert os.listdir(tmp_path) == []


def test_symlink_with_an_empty_target_is_refused(tmp_path):
    # found by tests/fuzz (test_properties): symlink("") fails with ENOENT, reported as Internal
    layer = oi.Layer([oi.Symlink("a", "")], "none")
    with pytest.raises(errors.InvalidArgument, match="empty target"):
        unpack.apply_layer(io.BytesIO(layer.blob), str(tmp_path / "t"), sync=False)
    assert os.listdir(tmp_path) == []


@root_only
def test_lchown_only_where_the_owner_differs(tmp_path, monkeypatch):
    calls = []
    real = os.lchown
    monkeypatch.setattr(unpack.os, "lchown", lambda p, u, g: (calls.append((os.path.basename(p), u, g)), real(p, u, g)))
    layer = oi.Layer([oi.Dir("d", uid=0, gid=0), oi.File("d/mine", b"1", uid=0, gid=0),
                      oi.File("d/theirs", b"2", uid=1000, gid=0), oi.File("d/grp", b"3", uid=0, gid=5),
                      oi.Symlink("d/ln", "mine", uid=7, gid=7)])
    apply(layer, tmp_path / "t")
    assert sorted(calls) == [("grp", 0, 5), ("ln", 7, 7), ("theirs", 1000, 0)]
    t = tmp_path / "t" / "d"
    assert [(os.lstat(t / n).st_uid, os.lstat(t / n).st_gid) for n in ("mine", "theirs", "grp", "ln")] == [
        (0, 0), (1000, 0), (0, 5), (7, 7)]


@root_only
def test_owners_in_a_setgid_parent_are_all_set(tmp_path, monkeypatch):
    parent = tmp_path / "sgid"
    parent.mkdir()
    os.chown(parent, 0, 5)
    os.chmod(parent, 0o2755)
    layer = oi.Layer([oi.File("f", b"1", uid=0, gid=0)])
    apply(layer, parent / "t")
    assert os.lstat(parent / "t" / "f").st_gid == 0
