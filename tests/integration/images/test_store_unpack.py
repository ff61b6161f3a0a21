"""Storage against the real kernel and reference tools (root).

- the read-only overlay view of our snapshots equals ``umoci unpack`` of the
  same OCI layout (types, modes, owners, link targets, xattrs, devices,
  contents, mtimes, hardlink groups);
- a container snapshot of a 120-layer image mounts and takes writes in its upper dir;
- an OCI layout written by ``skopeo copy`` imports, and our export reads back in skopeo and umoci.
"""
import hashlib
import json
import os
import stat
import subprocess

import pytest
from gantry.highlevel.images import archive
from gantry.highlevel.images import snapshots as sn
from gantry.highlevel.images.service import ImageService
from gantry.highlevel.images.store import ImageStore

from tests.fixtures import ociimage as oi
from tests.integration.fixtures.test_registry_containerd import ctr  # noqa: F401  (a private containerd)

pytestmark = [pytest.mark.root]

XATTR_SKIP = ("trusted.overlay.", "security.selinux")


def snapshot_of_tree(root):
    """path -> comparable facts, for every entry below root."""
    out, inodes = {}, {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            facts = {"type": stat.S_IFMT(st.st_mode), "mode": stat.S_IMODE(st.st_mode),
                     "uid": st.st_uid, "gid": st.st_gid}
            if stat.S_ISLNK(st.st_mode):
                facts["target"] = os.readlink(p)
            else:
                facts["xattrs"] = {k: os.getxattr(p, k, follow_symlinks=False)
                                   for k in sorted(os.listxattr(p, follow_symlinks=False))
                                   if not k.startswith(XATTR_SKIP)}
                facts["mtime"] = int(st.st_mtime)
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    facts["sha256"] = hashlib.sha256(f.read()).hexdigest()
                if st.st_nlink > 1:
                    inodes.setdefault(st.st_ino, []).append(rel)
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                facts["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
            out[rel] = facts
    links = sorted(sorted(g) for g in inodes.values() if len(g) > 1)
    return out, links


@pytest.fixture
def store(tmp_path):
    s = ImageStore(str(tmp_path / "store"))
    yield s
    s.close()


def umoci_rootfs(layout, tag, dest):
    p = subprocess.run(["umoci", "unpack", "--image", f"{layout}:{tag}", dest], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return os.path.join(dest, "rootfs")


def mounted_view(store, image_id, target):
    top = store.meta.get_image(image_id).layers[-1].chain_id
    key = "view-" + os.path.basename(target)
    mounts = store.snapshots.view(key, top)
    os.makedirs(target, exist_ok=True)
    sn.mount_all(mounts, target, store.snapshots.root)
    return key


def compare_with_umoci(tmp_path, store, img, tag="v1", bumped_dirs=()):
    """``bumped_dirs``: directories a layer writes into without an entry of its own; umoci
    (like tar) leaves them with the extraction time as mtime, we keep the lower layer's
    (or, for a directory new in that layer, both use the extraction time: not comparable)."""
    layout = str(tmp_path / "layout")
    oi.write_layout(layout, {tag: img})
    ((image_id, _),) = archive.import_oci_layout(store, layout, base_name="test.local/img")
    reference = umoci_rootfs(layout, tag, str(tmp_path / "umoci"))
    mnt = str(tmp_path / "mnt")
    key = mounted_view(store, image_id, mnt)
    try:
        ours, our_links = snapshot_of_tree(mnt)
        theirs, their_links = snapshot_of_tree(reference)
    finally:
        sn.unmount(mnt)
        store.snapshots.remove(key)
    assert sorted(ours) == sorted(theirs)
    for p in bumped_dirs:
        ours[p].pop("mtime")
        theirs[p].pop("mtime")
    diffs = {p: (ours[p], theirs[p]) for p in ours if ours[p] != theirs[p]}
    assert diffs == {}, repr(diffs)
    assert our_links == their_links
    return ours


def test_feature_layers_equal_umoci(tmp_path, store):
    tree = compare_with_umoci(tmp_path, store, oi.Image(oi.feature_layers("gzip")))
    # the comparison saw what it was meant to see
    assert "c/gone" not in tree and "b/old1" not in tree and "b/new" in tree
    assert tree["m/suid"]["mode"] == 0o4755
    assert tree["d/target"]["xattrs"] == {"user.bin": b"\x00\x01\xffbin", "user.fixture": b"value"}
    assert tree["d/null"]["rdev"] == (1, 3)


def test_busybox_with_masking_layer_equals_umoci(tmp_path, store, busybox_rootfs):
    base = oi.Layer.from_dir(busybox_rootfs)
    top = oi.Layer([
        oi.Dir("bin"), oi.Whiteout("bin/ls"),
        oi.Dir("etc"), oi.Opaque("etc"), oi.File("etc/passwd", b"root:x:0:0::/:/bin/sh\n"),
        oi.Dir("usr/local/bin", uid=1000, gid=1000), oi.Hardlink("usr/local/bin/sh2", "etc/passwd"),
    ], "none")
    tree = compare_with_umoci(tmp_path, store, oi.Image([base, top]), bumped_dirs=["usr", "usr/local"])
    assert "bin/ls" not in tree and "bin/sh" in tree
    assert [p for p in tree if p.startswith("etc/")] == ["etc/passwd"]


def test_implicit_parents_keep_lower_attributes(tmp_path, store):
    low = oi.Layer([oi.Dir("opt", mode=0o711, uid=7, gid=8, xattrs={"user.k": b"v"}), oi.File("opt/y", b"y"),
                    oi.Dir("opt/deep", mode=0o700, uid=9, gid=9)])
    high = oi.Layer([oi.File("opt/deep/x", b"x", uid=3)], "none")   # umoci 0.4.7 reads no zstd
    tree = compare_with_umoci(tmp_path, store, oi.Image([low, high]), bumped_dirs=["opt/deep"])
    assert (tree["opt"]["mode"], tree["opt"]["uid"], tree["opt"]["xattrs"]) == (0o711, 7, {"user.k": b"v"})
    assert (tree["opt/deep"]["mode"], tree["opt/deep"]["uid"]) == (0o700, 9)


def test_hardlink_into_a_lower_layer_equals_umoci(tmp_path, store):
    low = oi.Layer([oi.Dir("opt"), oi.Dir("opt/bin"),
                    oi.File("opt/bin/tool", b"#!/bin/sh\n", mode=0o4755, uid=12, gid=34, xattrs={"user.x": b"y"})])
    high = oi.Layer([oi.Dir("usr", mode=0o755), oi.Hardlink("usr/tool-link", "opt/bin/tool")], "none")
    tree = compare_with_umoci(tmp_path, store, oi.Image([low, high]))
    assert tree["usr/tool-link"] == tree["opt/bin/tool"]


def test_120_layer_image_mounts(tmp_path, store):
    layers = [oi.Layer([oi.Dir("l"), oi.File(f"l/{i:03d}", str(i).encode())], "none") for i in range(120)]
    img = oi.Image(layers)
    layout = str(tmp_path / "layout")
    oi.write_layout(layout, {"deep": img})
    ((image_id, _),) = archive.import_oci_layout(store, layout, base_name="test.local/deep")
    top = store.meta.get_image(image_id).layers[-1].chain_id
    mounts = store.snapshots.prepare("ctr-deep", top)
    assert len(sn.option_string(mounts[0].options)) > sn.PAGE_LIMIT     # needs the compact form here
    target = str(tmp_path / "rootfs")
    os.makedirs(target)
    sn.mount_all(mounts, target, store.snapshots.root)
    try:
        assert sorted(os.listdir(os.path.join(target, "l"))) == [f"{i:03d}" for i in range(120)]
        with open(os.path.join(target, "l", "new"), "w") as f:
            f.write("written")
    finally:
        sn.unmount(target)
    assert open(os.path.join(store.snapshots.fs_path("ctr-deep"), "l", "new")).read() == "written"
    store.snapshots.remove("ctr-deep")


def skopeo_copy(tmp_path, img, dest):
    """Write ``img`` as an OCI layout and let skopeo copy it to ``dest`` (a skopeo transport:path)."""
    src = str(tmp_path / "src")
    if not os.path.exists(src):
        oi.write_layout(src, {"v1": img})
    subprocess.run(["skopeo", "copy", "--quiet", f"oci:{src}:v1", dest], check=True, capture_output=True)
    return src


def skopeo_diff_ids(ref):
    """What skopeo reads as the image config's diff_ids (proves our export is readable by a peer)."""
    p = subprocess.run(["skopeo", "inspect", "--config", ref], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["rootfs"]["diff_ids"]


def test_skopeo_layout_import_and_export(tmp_path, store):
    img = oi.Image(oi.feature_layers("gzip"), cmd=["/bin/true"])
    copied = str(tmp_path / "skopeo")
    skopeo_copy(tmp_path, img, f"oci:{copied}:v1")
    ((image_id, names),) = archive.import_oci_layout(store, copied, base_name="test.local/sk")
    assert image_id == img.config_digest and names == ["test.local/sk:v1"]
    out = str(tmp_path / "out")
    archive.export_oci_layout(ImageService(store), ["test.local/sk:v1"], out)
    assert skopeo_diff_ids(f"oci:{out}:v1") == [layer.diff_id for layer in img.layers]
    again = str(tmp_path / "again")
    subprocess.run(["skopeo", "copy", "--quiet", f"oci:{out}:v1", f"oci:{again}:v1"], check=True,
                   capture_output=True)
    theirs, _ = snapshot_of_tree(umoci_rootfs(again, "v1", str(tmp_path / "umoci")))
    assert theirs["a/file"]["sha256"] == hashlib.sha256(b"v2\n").hexdigest()


def test_docker_archive_from_skopeo_imports_and_ours_reads_back(tmp_path, store):
    img = oi.Image(oi.feature_layers("gzip"))
    tar = str(tmp_path / "saved.tar")
    src = skopeo_copy(tmp_path, img, f"docker-archive:{tar}:test.local/saved:v1")
    ((image_id, names),) = archive.import_docker_archive(store, tar)
    assert names == ["test.local/saved:v1"]     # skopeo rewrites the config for the docker format
    mnt = str(tmp_path / "mnt")
    key = mounted_view(store, image_id, mnt)
    try:
        ours, _ = snapshot_of_tree(mnt)
    finally:
        sn.unmount(mnt)
        store.snapshots.remove(key)
    theirs, _ = snapshot_of_tree(umoci_rootfs(src, "v1", str(tmp_path / "umoci")))
    assert ours == theirs, (sorted(ours), sorted(theirs), theirs.get("esc"))
    out = str(tmp_path / "ours.tar")
    archive.export_docker_archive(ImageService(store), ["test.local/saved:v1"], out)
    assert skopeo_diff_ids(f"docker-archive:{out}") == [layer.diff_id for layer in img.layers]


def test_single_layer_images_use_bind_mounts(tmp_path, store):
    img = oi.Image([oi.Layer([oi.Dir("etc"), oi.File("etc/hello", b"hi\n")])])
    layout = str(tmp_path / "layout")
    oi.write_layout(layout, {"one": img})
    ((image_id, _),) = archive.import_oci_layout(store, layout, base_name="test.local/one")
    top = store.meta.get_image(image_id).layers[-1].chain_id
    ro = str(tmp_path / "ro")
    key = mounted_view(store, image_id, ro)
    try:
        assert open(os.path.join(ro, "etc", "hello")).read() == "hi\n"
        with pytest.raises(OSError) as err:
            open(os.path.join(ro, "etc", "new"), "w")
        assert err.value.errno == 30          # EROFS
    finally:
        sn.unmount(ro)
        store.snapshots.remove(key)
    # a scratch container (no parent) gets its own directory bind-mounted read-write
    rw = str(tmp_path / "rw")
    os.makedirs(rw)
    mounts = store.snapshots.prepare("scratch", None)
    assert [m.type for m in mounts] == ["bind"]
    sn.mount_all(mounts, rw)
    try:
        with open(os.path.join(rw, "f"), "w") as f:
            f.write("x")
    finally:
        sn.unmount(rw)
    assert os.listdir(store.snapshots.fs_path("scratch")) == ["f"]
    store.snapshots.remove("scratch")
    assert store.snapshots.exists(top)


def test_oci_archive_from_skopeo_imports_and_ours_reads_back(tmp_path, store):
    img = oi.Image(oi.feature_layers("gzip"))
    tar = str(tmp_path / "skopeo.tar")
    skopeo_copy(tmp_path, img, f"oci-archive:{tar}:v1")
    ((image_id, names),) = archive.import_archive(store, tar, base_name="test.local/oa")
    assert image_id == img.config_digest and names == ["test.local/oa:v1"]
    out = str(tmp_path / "ours.tar")
    archive.export_oci_archive(ImageService(store), ["test.local/oa:v1"], out)
    assert skopeo_diff_ids(f"oci-archive:{out}:v1") == [layer.diff_id for layer in img.layers]


SRV = [oi.Dir("srv"), oi.Dir("srv/data", mode=0o750, uid=5, gid=6, xattrs={"user.k": b"v"}),
       oi.File("srv/data/old", b"old"), oi.Dir("srv/data/sub", mode=0o711, uid=7, gid=8)]

# Layer 1 makes a symlink, layer 2 writes below it without an entry of its own for it.
SYMLINK_CASES = {
    "absolute": [SRV + [oi.Symlink("esc", "/srv/data")], [oi.File("esc/file", b"new"), oi.File("esc/new/f", b"n")]],
    "relative": [SRV + [oi.Symlink("esc", "srv/data")], [oi.File("esc/file", b"new")]],
    "climbing": [SRV + [oi.Symlink("esc", "../../srv/./data")], [oi.File("esc/file", b"new")]],
    "deeper": [SRV + [oi.Symlink("esc", "/srv/data")], [oi.File("esc/sub/file", b"new")]],
    "middle": [SRV + [oi.Dir("d"), oi.Symlink("d/esc", "../srv/data")], [oi.Dir("d", mode=0o700),
                                                                         oi.File("d/esc/file", b"new")]],
    "chain": [SRV + [oi.Symlink("a", "b"), oi.Symlink("b", "/srv/data")], [oi.File("a/file", b"new")]],
    "dangling": [[oi.Symlink("esc", "/nowhere/x")], [oi.File("esc/file", b"new")]],
    "to-a-file": [[oi.File("f", b"x"), oi.Symlink("esc", "f")], [oi.File("esc/file", b"new")]],
    "merged-usr": [[oi.Dir("usr"), oi.Dir("usr/bin", mode=0o751), oi.File("usr/bin/sh", b"sh", mode=0o755),
                    oi.Symlink("bin", "usr/bin")], [oi.File("bin/tool", b"tool", mode=0o755)]],
}


def containerd_tree(ctr, tmp_path, img, name):  # noqa: F811
    """The rootfs containerd 1.6 makes of img (ctr images import + mount), as snapshot_of_tree facts."""
    argv, _ = ctr
    path = str(tmp_path / "img.tar")
    oi.write_docker_archive(path, {name: img})
    p = subprocess.run(argv + ["images", "import", path], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    mnt = str(tmp_path / "ctd-mnt")
    os.makedirs(mnt)
    p = subprocess.run(argv + ["images", "mount", name, mnt], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    try:
        return snapshot_of_tree(mnt)[0]
    finally:
        subprocess.run(argv + ["images", "unmount", "--rm", mnt], capture_output=True, timeout=60)


def our_tree(tmp_path, store, img):
    layout = str(tmp_path / "layout")
    oi.write_layout(layout, {"v1": img})
    ((image_id, _),) = archive.import_oci_layout(store, layout, base_name="test.local/img")
    mnt = str(tmp_path / "mnt")
    key = mounted_view(store, image_id, mnt)
    try:
        return snapshot_of_tree(mnt)[0]
    finally:
        sn.unmount(mnt)
        store.snapshots.remove(key)


@pytest.mark.parametrize("case", sorted(SYMLINK_CASES))
def test_layer_writing_under_a_lower_symlink_equals_containerd(tmp_path, store, ctr, case):  # noqa: F811
    """containerd 1.6 keeps a directory where layer 2 writes (hiding layer 1's symlink) and gives it
    the attributes of what the symlink leads to inside the image: so do we (umoci writes through the
    symlink instead; see layerfixups.py)."""
    img = oi.Image([oi.Layer(entries, "none") for entries in SYMLINK_CASES[case]])
    theirs = containerd_tree(ctr, tmp_path, img, "test.local/symlink-%s:v1" % case)
    ours = our_tree(tmp_path, store, img)
    for tree in (ours, theirs):
        for facts in tree.values():
            if facts["type"] == stat.S_IFDIR:
                facts.pop("mtime")     # directories a layer writes into: extraction time for containerd
    assert ours == theirs
    if case in ("absolute", "deeper"):      # the comparison saw what it was meant to see
        assert (ours["esc"]["type"], ours["esc"]["mode"], ours["esc"]["uid"]) == (stat.S_IFDIR, 0o750, 5)
        assert ours["esc"]["xattrs"] == {"user.k": b"v"}
        assert "srv/data/file" not in ours and "srv/data/sub/file" not in ours
    if case == "deeper":
        assert (ours["esc/sub"]["mode"], ours["esc/sub"]["uid"]) == (0o711, 7)


def test_symlink_loop_below_a_layer_directory_is_refused(tmp_path, store):
    """containerd refuses it too ("too many links")."""
    from gantry.highlevel import errors
    layout = str(tmp_path / "layout")
    img = oi.Image([oi.Layer([oi.Symlink("a", "b"), oi.Symlink("b", "a")], "none"),
                    oi.Layer([oi.File("a/file", b"x")], "none")])
    oi.write_layout(layout, {"v1": img})
    with pytest.raises(errors.InvalidArgument, match="layer directory 'a': more than 40 symlinks below"):
        archive.import_oci_layout(store, layout, base_name="test.local/img")
