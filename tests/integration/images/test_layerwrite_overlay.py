"""A layer written from a real overlay upper dir means what the overlay showed (root: mounts, devices).

Changes are made through an overlay mount (so the kernel writes the whiteouts, opaque dirs and
copy-ups), the merged view is recorded, the upper dir becomes a layer (layerwrite), and the base + that
layer are unpacked by umoci and by our own unpacker; both must equal the merged view.  GNU tar reads
the layer too (names, whiteout files, hardlinks, the file capability)."""
import io
import os
import shutil
import subprocess

import pytest
from gantry.highlevel.images import layerwrite, unpack

from tests.fixtures import ociimage as oi
from tests.fixtures import treecmp

pytestmark = [pytest.mark.root]
CAP = b"\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"


def build_lower(d):
    (d / "etc" / "sub").mkdir(parents=True)
    (d / "etc" / "passwd").write_bytes(b"root:x:0:0::/root:/bin/sh\n")
    (d / "etc" / "hostname").write_bytes(b"lower\n")
    (d / "etc" / "sub" / "x").write_bytes(b"x")
    (d / "var" / "cache" / "deep").mkdir(parents=True)
    (d / "var" / "cache" / "deep" / "old").write_bytes(b"old")
    (d / "var" / "cache" / "keep").write_bytes(b"k")
    (d / "bin").mkdir()
    (d / "bin" / "tool").write_bytes(b"\x7fELF tool")
    os.chmod(d / "bin" / "tool", 0o755)
    (d / "data").mkdir()
    (d / "data" / "big").write_bytes(os.urandom(300000))


def change_through_overlay(m):
    os.unlink(m / "etc" / "hostname")                              # whiteout
    shutil.rmtree(m / "var" / "cache")                             # dir whiteout, then ...
    (m / "var" / "cache").mkdir()                                  # ... recreated: opaque
    (m / "var" / "cache" / "new").write_bytes(b"new")
    with open(m / "etc" / "passwd", "ab") as f:                    # copy-up of a file
        f.write(b"app:x:1000:1000::/home/app:/bin/sh\n")
    os.chown(m / "etc" / "sub" / "x", 1000, 1000)                  # metadata-only change
    os.chmod(m / "bin" / "tool", 0o4750)
    os.setxattr(m / "bin" / "tool", "security.capability", CAP)
    os.link(m / "bin" / "tool", m / "bin" / "tool-hard")           # hardlink inside the upper
    os.symlink("/etc/passwd", m / "etc" / "pw-link")
    os.mknod(m / "dev-null", 0o020666, os.makedev(1, 3))
    os.mkfifo(m / "fifo", 0o640)
    os.rename(m / "data" / "big", m / "data" / "moved")            # rename: copy-up + whiteout
    (m / "home" / "app").mkdir(parents=True)
    os.chown(m / "home" / "app", 1000, 1000)


@pytest.fixture
def overlay_change(tmp_path):
    lower, upper, work, merged = (tmp_path / n for n in ("lower", "upper", "work", "merged"))
    for d in (lower, upper, work, merged):
        d.mkdir()
    build_lower(lower)
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={lower},upperdir={upper},workdir={work},index=off", str(merged)], check=True)
    try:
        change_through_overlay(merged)
        view = treecmp.snapshot(str(merged))
    finally:
        subprocess.run(["umount", str(merged)], check=True)
    return lower, upper, view


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_layer_from_overlay_equals_merged_view(tmp_path, overlay_change, compression):
    lower, upper, view = overlay_change
    out = io.BytesIO()
    blob = layerwrite.write_layer(str(upper), out, compression=compression)
    top = oi.Layer(tar_bytes=oi.decompress(out.getvalue()), compression="gzip")    # umoci 0.4.7: gzip only
    assert top.diff_id == blob.diff_id
    base = oi.Layer.from_dir(str(lower))
    layout = str(tmp_path / "layout")
    oi.write_layout(layout, {"v1": oi.Image([base, top])})
    rootfs = treecmp.umoci_unpack(layout, "v1", str(tmp_path / "umoci"))
    assert treecmp.diff(view, rootfs) == []

    # our unpacker: base and layer as snapshots, read through an overlay again
    b, t = tmp_path / "b", tmp_path / "t"
    unpack.apply_layer(io.BytesIO(base.blob), str(b), expected_diff_id=base.diff_id)
    unpack.apply_layer(io.BytesIO(out.getvalue()), str(t), expected_diff_id=blob.diff_id)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={t}:{b}", str(mnt)], check=True)
    try:
        assert treecmp.diff(view, str(mnt)) == []
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_gnu_tar_reads_the_layer(tmp_path, overlay_change):
    _lower, upper, _view = overlay_change
    path = tmp_path / "layer.tar"
    with open(path, "wb") as f:
        blob = layerwrite.write_layer(str(upper), f, compression="none")
    listing = subprocess.run(["tar", "-tvf", str(path)], check=True, capture_output=True, text=True).stdout
    names = [line.split()[-1] if " -> " not in line and " link to " not in line else line.split()[5]
             for line in listing.splitlines()]
    assert "etc/.wh.hostname" in names and "data/.wh.big" in names and "var/cache/.wh..wh..opq" in names
    assert len(listing.splitlines()) == blob.entries
    assert "bin/tool-hard link to bin/tool" in listing
    out = tmp_path / "x"
    out.mkdir()
    subprocess.run(["tar", "--xattrs", "--xattrs-include=security.capability", "-xpf", str(path), "-C", str(out)],
                   check=True)
    assert os.getxattr(out / "bin" / "tool", "security.capability") == CAP
    assert os.stat(out / "bin" / "tool").st_ino == os.stat(out / "bin" / "tool-hard").st_ino
    assert (out / "etc" / "passwd").read_bytes().endswith(b"app:x:1000:1000::/home/app:/bin/sh\n")
    assert os.stat(out / "home" / "app").st_uid == 1000


def test_same_upper_same_bytes_with_epoch(overlay_change):
    _lower, upper, _view = overlay_change
    a, b = io.BytesIO(), io.BytesIO()
    layerwrite.write_layer(str(upper), a, compression="zstd", epoch=1700000000)
    layerwrite.write_layer(str(upper), b, compression="zstd", epoch=1700000000)
    assert a.getvalue() == b.getvalue()
