"""layerdiff: upper-dir entries -> layer tar headers (pure, from tables)."""
import os
import stat
import tarfile
from types import SimpleNamespace

import pytest
from gantry.highlevel import errors
from gantry.highlevel.images import layerdiff as ld

OPQ = {"trusted.overlay.opaque": b"y"}


@pytest.mark.parametrize("mode,rdev,xattrs,kind", [
    (stat.S_IFCHR | 0, 0, {}, ld.WHITEOUT),
    (stat.S_IFCHR | 0o666, os.makedev(1, 3), {}, ld.CHR),
    (stat.S_IFBLK | 0o660, os.makedev(7, 0), {}, ld.BLK),
    (stat.S_IFDIR | 0o755, 0, {}, ld.DIR),
    (stat.S_IFDIR | 0o755, 0, OPQ, ld.OPAQUE_DIR),
    (stat.S_IFDIR | 0o755, 0, {"user.overlay.opaque": b"y"}, ld.OPAQUE_DIR),
    (stat.S_IFDIR | 0o755, 0, {"trusted.overlay.opaque": b"x"}, ld.DIR),   # "has xwhiteouts", not opaque
    (stat.S_IFDIR | 0o755, 0, {"trusted.overlay.origin": b"\0"}, ld.DIR),
    (stat.S_IFREG | 0o644, 0, {}, ld.FILE),
    (stat.S_IFREG | 0o000, 0, {"trusted.overlay.whiteout": b""}, ld.WHITEOUT),
    (stat.S_IFLNK | 0o777, 0, {}, ld.SYMLINK),
    (stat.S_IFIFO | 0o644, 0, {}, ld.FIFO),
    (stat.S_IFSOCK | 0o755, 0, {}, ld.SOCKET),
])
def test_classify_upper(mode, rdev, xattrs, kind):
    assert ld.classify_upper("p", mode, rdev, xattrs) == kind


@pytest.mark.parametrize("xattr,err", [
    ("trusted.overlay.redirect", errors.Unimplemented),
    ("user.overlay.metacopy", errors.Unimplemented),
])
def test_classify_refuses_overlay_features(xattr, err):
    with pytest.raises(err, match="a/b"):
        ld.classify_upper("a/b", stat.S_IFDIR | 0o755, 0, {xattr: b"/x"})


def test_classify_unknown_type():
    with pytest.raises(errors.InvalidArgument, match="unknown file type"):
        ld.classify_upper("p", 0o170000, 0, {})


@pytest.mark.parametrize("name,ok", [
    ("a", True), (".wh", True), ("x.wh.y", True), (".wh.a", False), (".wh..wh..opq", False), (".wh..wh.x", False),
])
def test_check_name(name, ok):
    if ok:
        ld.check_name("d/" + name, name)
    else:
        with pytest.raises(errors.InvalidArgument, match="whiteout"):
            ld.check_name("d/" + name, name)


@pytest.mark.parametrize("mtime,epoch,out", [
    (1700000000.9, None, 1700000000),
    (1700000000.9, 1600000000, 1600000000),
    (1500000000.2, 1600000000, 1500000000),
    (-5.0, None, 0),
    (0, 0, 0),
])
def test_clamp_mtime(mtime, epoch, out):
    assert ld.clamp_mtime(mtime, epoch) == out


@pytest.mark.parametrize("text,out", [(None, None), ("", None), ("0", 0), (" 1700000000\n", 1700000000)])
def test_parse_epoch(text, out):
    assert ld.parse_epoch(text) == out


@pytest.mark.parametrize("text", ["-1", "1.5", "yesterday"])
def test_parse_epoch_refuses(text):
    with pytest.raises(errors.InvalidArgument, match="SOURCE_DATE_EPOCH"):
        ld.parse_epoch(text)


@pytest.mark.parametrize("compression,media", [
    ("gzip", "application/vnd.oci.image.layer.v1.tar+gzip"),
    ("zstd", "application/vnd.oci.image.layer.v1.tar+zstd"),
    ("none", "application/vnd.oci.image.layer.v1.tar"),
])
def test_media_type(compression, media):
    assert ld.media_type(compression) == media


def test_media_type_refuses():
    with pytest.raises(errors.InvalidArgument, match="bzip2"):
        ld.media_type("bzip2")


def _st(mode, uid=0, gid=0, size=0, mtime=1700000000.5, rdev=0):
    return SimpleNamespace(st_mode=mode, st_uid=uid, st_gid=gid, st_size=size, st_mtime=mtime, st_rdev=rdev)


CAP = b"\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"


@pytest.mark.parametrize("kind,st,kw,expect", [
    (ld.FILE, _st(stat.S_IFREG | 0o4755, 1000, 100, 42), {},
     dict(type=tarfile.REGTYPE, mode=0o4755, uid=1000, gid=100, size=42, mtime=1700000000)),
    (ld.DIR, _st(stat.S_IFDIR | 0o1777), {}, dict(type=tarfile.DIRTYPE, mode=0o1777, size=0)),
    (ld.OPAQUE_DIR, _st(stat.S_IFDIR | 0o700), {}, dict(type=tarfile.DIRTYPE, mode=0o700)),
    (ld.SYMLINK, _st(stat.S_IFLNK | 0o777, 5, 6), {"linkname": "../t"},
     dict(type=tarfile.SYMTYPE, linkname="../t", mode=0o777, uid=5, gid=6)),
    (ld.CHR, _st(stat.S_IFCHR | 0o666, rdev=os.makedev(1, 3)), {},
     dict(type=tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666)),
    (ld.BLK, _st(stat.S_IFBLK | 0o660, rdev=os.makedev(259, 70000)), {},
     dict(type=tarfile.BLKTYPE, devmajor=259, devminor=70000)),
    (ld.FIFO, _st(stat.S_IFIFO | 0o600), {}, dict(type=tarfile.FIFOTYPE, mode=0o600)),
    (ld.FILE, _st(stat.S_IFREG | 0o644, size=9), {"hardlink_to": "a/first"},
     dict(type=tarfile.LNKTYPE, linkname="a/first", size=0)),
    (ld.FILE, _st(stat.S_IFREG | 0o755, size=1), {"epoch": 1600000000}, dict(mtime=1600000000)),
    (ld.FILE, _st(stat.S_IFREG | 0o755, size=1),
     {"xattrs": {"security.capability": CAP, "user.x": b"1", "trusted.overlay.origin": b"o"}},
     dict(pax_headers={"SCHILY.xattr.security.capability": CAP.decode("utf-8", "surrogateescape")})),
])
def test_header(kind, st, kw, expect):
    epoch = kw.pop("epoch", None)
    info = ld.header("a/b", kind, st, epoch, **kw)
    assert info.name == "a/b"
    assert info.uname == info.gname == ""
    for key, value in expect.items():
        assert getattr(info, key) == value, key


def test_whiteout_and_opaque_headers():
    w = ld.whiteout_header("etc", "passwd", 1700000000.7, None)
    assert (w.name, w.type, w.mode, w.size, w.mtime) == ("etc/.wh.passwd", tarfile.REGTYPE, 0, 0, 1700000000)
    assert ld.whiteout_header("", "top", 5, None).name == ".wh.top"
    o = ld.opaque_header("var/cache", 1800000000, 1700000000)
    assert (o.name, o.mtime) == ("var/cache/.wh..wh..opq", 1700000000)


def test_sort_key_is_byte_order():
    names = ["b", "B", "a.b", "a", "a-b", "\udcff", "é"]
    assert sorted(names, key=ld.sort_key) == ["B", "a", "a-b", "a.b", "b", "é", "\udcff"]
