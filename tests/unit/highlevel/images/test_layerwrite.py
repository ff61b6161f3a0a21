"""layerwrite: an upper dir in overlay form -> a layer blob -> the same upper dir again (unpack.py)."""
import hashlib
import io
import os
import stat
import tarfile
import time

import pytest
import zstandard
from gantry.highlevel import errors
from gantry.highlevel.images import layerwrite, unpack
from gantry.highlevel.images.store import ImageStore

from tests.fixtures import treecmp

root_only = pytest.mark.root
CAP = b"\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"   # cap_net_bind_service+ep


def make_upper(base):
    """An upper dir with every kind of entry a container can leave (overlay form)."""
    up = base / "upper"
    up.mkdir()
    (up / "etc").mkdir(mode=0o755)
    (up / "etc" / "conf").write_bytes(b"x=1\n")
    os.chown(up / "etc" / "conf", 1000, 1001)
    os.chmod(up / "etc" / "conf", 0o640)
    os.mknod(up / "etc" / "gone", stat.S_IFCHR | 0, os.makedev(0, 0))     # whiteout
    os.utime(up / "etc" / "gone", (1_000_000_000, 1_000_000_000), follow_symlinks=False)   # an older marker
    (up / "var").mkdir()
    (up / "var" / "cache").mkdir()
    os.setxattr(up / "var" / "cache", "trusted.overlay.opaque", b"y")
    (up / "var" / "cache" / "new").write_bytes(b"n" * 70000)
    (up / "bin").mkdir()
    (up / "bin" / "ping").write_bytes(b"\x7fELF")
    os.chmod(up / "bin" / "ping", 0o4755)
    os.setxattr(up / "bin" / "ping", "security.capability", CAP)
    os.link(up / "bin" / "ping", up / "bin" / "ping2")
    os.symlink("../etc/conf", up / "bin" / "conf-link")
    os.mknod(up / "bin" / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.mkfifo(up / "bin" / "fifo", 0o600)
    (up / "long").mkdir()
    deep = up / "long" / ("d" * 120)
    deep.mkdir()
    (deep / ("é" * 30)).write_bytes(b"unicode")
    os.setxattr(up / "etc", "trusted.overlay.origin", b"\x00\xfb")   # overlay bookkeeping: never exported
    return up


def members(blob):
    raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(blob)).read() if blob[:4] == b"\x28\xb5\x2f\xfd" \
        else __import__("gzip").decompress(blob)
    with tarfile.open(fileobj=io.BytesIO(raw)) as t:
        return raw, t.getmembers()


@root_only
@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_round_trip_through_unpack(tmp_path, compression):
    up = make_upper(tmp_path)
    out = io.BytesIO()
    blob = layerwrite.write_layer(str(up), out, compression=compression)
    data = out.getvalue()
    assert blob.size == len(data)
    assert blob.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    res = unpack.apply_layer(io.BytesIO(data), str(tmp_path / "back"), expected_diff_id=blob.diff_id)
    assert res.entries == blob.entries
    if compression == "none":
        assert blob.digest == blob.diff_id
    # the same tree in overlay form, minus overlay's own bookkeeping
    assert treecmp.diff(str(up), str(tmp_path / "back"), mtime=True) == \
        ["etc: xattrs (('trusted.overlay.origin', b'\\x00\\xfb'),) != ()"]


@root_only
def test_tar_entries_names_order_and_whiteouts(tmp_path):
    up = make_upper(tmp_path)
    out = io.BytesIO()
    layerwrite.write_layer(str(up), out, compression="gzip")
    _raw, ms = members(out.getvalue())
    names = [m.name for m in ms]
    assert names[:9] == ["bin", "bin/conf-link", "bin/fifo", "bin/null", "bin/ping", "bin/ping2",
                         "etc", "etc/.wh.gone", "etc/conf"]
    assert names[-4:] == ["var", "var/cache", "var/cache/.wh..wh..opq", "var/cache/new"]
    by = {m.name: m for m in ms}
    assert by["bin/ping2"].islnk() and by["bin/ping2"].linkname == "bin/ping"
    assert by["bin/ping"].pax_headers["SCHILY.xattr.security.capability"].encode("utf-8", "surrogateescape") == CAP
    assert by["bin/ping"].mode == 0o4755
    assert (by["etc/conf"].uid, by["etc/conf"].gid, by["etc/conf"].mode) == (1000, 1001, 0o640)
    assert by["etc/.wh.gone"].isreg() and by["etc/.wh.gone"].size == 0
    assert by["bin/null"].ischr() and (by["bin/null"].devmajor, by["bin/null"].devminor) == (1, 3)
    assert not any("overlay" in k for m in ms for k in m.pax_headers)
    assert all(set(m.pax_headers) <= {"path", "SCHILY.xattr.security.capability"} for m in ms)


@root_only
def test_reproducible_with_epoch(tmp_path):
    up = make_upper(tmp_path)
    first = layerwrite.write_layer(str(up), io.BytesIO(), epoch=1600000000)
    os.utime(up / "etc" / "conf", (time.time(), time.time()))      # later than the epoch: clamped
    again = layerwrite.write_layer(str(up), io.BytesIO(), epoch=1600000000)
    assert first == again
    os.utime(up / "etc" / "conf", (1500000000, 1500000000))        # earlier: kept, so the layer differs
    third = layerwrite.write_layer(str(up), io.BytesIO(), epoch=1600000000)
    assert third.diff_id != first.diff_id
    _raw, ms = members(_bytes(up, 1600000000))
    assert max(m.mtime for m in ms) <= 1600000000


def _bytes(up, epoch):
    out = io.BytesIO()
    layerwrite.write_layer(str(up), out, epoch=epoch)
    return out.getvalue()


def test_plain_tree_without_root(tmp_path):
    up = tmp_path / "u"
    (up / "a").mkdir(parents=True)
    (up / "a" / "f").write_bytes(b"hello")
    (up / "z").write_bytes(b"")
    out = io.BytesIO()
    blob = layerwrite.write_layer(str(up), out, compression="gzip")
    assert blob.entries == 3 and blob.media_type.endswith("+gzip")
    _raw, ms = members(out.getvalue())
    assert [m.name for m in ms] == ["a", "a/f", "z"]


def test_empty_upper_has_no_entries(tmp_path):
    (tmp_path / "u").mkdir()
    blob = layerwrite.write_layer(str(tmp_path / "u"), io.BytesIO())
    assert layerwrite.is_empty(blob)


def test_socket_skipped_and_reserved_name_refused(tmp_path):
    import socket

    up = tmp_path / "u"
    up.mkdir()
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(up / "sock"))
    s.close()
    assert layerwrite.write_layer(str(up), io.BytesIO()).entries == 0
    (up / ".wh.evil").write_bytes(b"")
    with pytest.raises(errors.InvalidArgument, match=r"\.wh\.evil"):
        layerwrite.write_layer(str(up), io.BytesIO())


def test_missing_upper(tmp_path):
    with pytest.raises(errors.NotFound, match="nope"):
        layerwrite.write_layer(str(tmp_path / "nope"), io.BytesIO())


def test_shrinking_file_padded(tmp_path):
    f = io.BytesIO(b"abc")
    ex = layerwrite._Exactly(f, 6, "x")
    assert ex.read(4) + ex.read(4) + ex.read(4) == b"abc\0\0\0"


def test_store_layer_into_content_store_under_lease(tmp_path):
    up = tmp_path / "u"
    up.mkdir()
    (up / "f").write_bytes(os.urandom(100000))
    store = ImageStore(str(tmp_path / "root"))
    with store.lease() as lease:
        blob = layerwrite.store_layer(store, str(up), lease, compression="zstd")
        assert store.content.exists(blob.digest)
        assert store.content.info(blob.digest).size == blob.size
        assert blob.digest in store.meta.leased("content")
        assert store.gc() is not None
        assert store.content.exists(blob.digest)        # the lease kept it
    assert store.content.ingests() == []
    with store.content.open(blob.digest) as f:
        res = unpack.apply_layer(f, str(tmp_path / "back"), expected_diff_id=blob.diff_id)
    assert res.entries == 1


def test_store_layer_failure_leaves_no_ingest(tmp_path):
    store = ImageStore(str(tmp_path / "root"))
    with store.lease() as lease, pytest.raises(errors.NotFound):
        layerwrite.store_layer(store, str(tmp_path / "absent"), lease)
    assert store.content.ingests() == []


def test_exclude_only_empty_mount_points(tmp_path):
    up = tmp_path / "u"
    (up / "etc").mkdir(parents=True)
    (up / "etc" / "hosts").write_bytes(b"")             # a bind-mount target the runtime made: left out
    (up / "etc" / "resolv.conf").write_bytes(b"x")      # written by the container: kept
    (up / "proc").mkdir()                               # an empty mount point dir: left out
    (up / "data").mkdir()
    (up / "data" / "f").write_bytes(b"")
    out = io.BytesIO()
    layerwrite.write_layer(str(up), out, exclude=["/etc/hosts", "/etc/resolv.conf", "/proc", "/data"])
    _raw, ms = members(out.getvalue())
    assert [m.name for m in ms] == ["data", "data/f", "etc", "etc/resolv.conf"]
