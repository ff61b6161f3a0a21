"""Overlay snapshotter: verbs, mount options, 120 layers under one page, crash orphans."""
import io
import os
import subprocess

import pytest
from gantry.highlevel import errors
from gantry.highlevel.images import snapshots as sn
from gantry.highlevel.images.metadata import Metadata

from tests.fixtures import ociimage as oi


@pytest.fixture
def snaps(tmp_path):
    m = Metadata(str(tmp_path / "metadata.db"))
    yield sn.Snapshotter(str(tmp_path), m)
    m.close()


def committed_chain(snaps, n):
    parent = None
    for i in range(n):
        snaps.prepare(f"a{i}", parent)
        snaps.commit(f"c{i}", f"a{i}")
        parent = f"c{i}"
    return parent


def test_prepare_commit_view_remove(snaps):
    m = snaps.prepare("a", None)
    assert m == [sn.Mount("bind", snaps.fs_path("a"), ["rbind", "rw"])]
    open(os.path.join(snaps.fs_path("a"), "f"), "w").close()
    snaps.commit("base", "a")
    assert snaps.stat("base").kind == "committed"
    assert not snaps.exists("a")
    assert os.listdir(snaps.fs_path("base")) == ["f"]
    assert not os.path.exists(os.path.join(os.path.dirname(snaps.fs_path("base")), "work"))
    v = snaps.view("v", "base")
    assert v == [sn.Mount("bind", snaps.fs_path("base"), ["rbind", "ro"])]
    with pytest.raises(errors.FailedPrecondition, match="children"):
        snaps.remove("base")
    snaps.remove("v")
    snaps.remove("base")
    assert snaps.walk() == []
    assert [n for n in os.listdir(snaps.root)] == []


def test_overlay_mounts_list_parents_top_first(snaps):
    top = committed_chain(snaps, 3)
    m = snaps.prepare("ctr", top)[0]
    ids = [snaps.stat(k).id for k in ("ctr", "c2", "c1", "c0")]
    assert m.type == "overlay"
    assert m.options == [
        "index=off",
        f"workdir={snaps.root}/{ids[0]}/work", f"upperdir={snaps.root}/{ids[0]}/fs",
        f"lowerdir={snaps.root}/{ids[1]}/fs:{snaps.root}/{ids[2]}/fs:{snaps.root}/{ids[3]}/fs"]
    v = snaps.view("ro", top)[0]
    assert v.options == [f"lowerdir={snaps.root}/{ids[1]}/fs:{snaps.root}/{ids[2]}/fs:{snaps.root}/{ids[3]}/fs"]
    assert snaps.mounts("ctr") == [m]


def test_verb_errors(snaps):
    committed_chain(snaps, 1)
    with pytest.raises(errors.AlreadyExists):
        snaps.prepare("c0", None)
    with pytest.raises(errors.NotFound):
        snaps.prepare("x", "nope")
    snaps.prepare("act", "c0")
    with pytest.raises(errors.FailedPrecondition):
        snaps.prepare("y", "act")
    with pytest.raises(errors.FailedPrecondition):
        snaps.commit("z", "c0")
    with pytest.raises(errors.AlreadyExists):
        snaps.commit("c0", "act")
    with pytest.raises(errors.FailedPrecondition):
        snaps.mounts("c0")
    with pytest.raises(errors.NotFound):
        snaps.remove("missing")


def test_120_layers_fit_one_page_after_compaction(tmp_path, snaps):
    top = committed_chain(snaps, 120)
    mounts = snaps.prepare("ctr", top)
    calls = []

    def runner(argv, cwd=None, **kw):
        calls.append((argv, cwd))
        return subprocess.CompletedProcess(argv, 0, "", "")

    sn.mount_all(mounts, "/mnt/x", snaps.root, runner=runner)
    (argv, cwd), = calls
    assert cwd == snaps.root
    opts = argv[argv.index("-o") + 1]
    assert len(opts) < sn.PAGE_LIMIT
    lower = [o for o in opts.split(",") if o.startswith("lowerdir=")][0][len("lowerdir="):].split(":")
    assert len(lower) == 120 and all(not p.startswith("/") and p.endswith("/fs") for p in lower)
    # the absolute form (pytest's deep tmp path) really is too long for mount(2)
    assert len(sn.option_string(mounts[0].options)) > sn.PAGE_LIMIT


def test_short_option_strings_mount_absolute(snaps):
    top = committed_chain(snaps, 2)
    calls = []
    sn.mount_all(snaps.prepare("ctr", top), "/t", snaps.root,
                 runner=lambda argv, cwd=None, **kw: calls.append((argv, cwd)) or
                 subprocess.CompletedProcess(argv, 0, "", ""))
    assert calls[0][1] is None and calls[0][0][:3] == ["mount", "-t", "overlay"]


def test_mount_failure_names_target(snaps):
    with pytest.raises(errors.Internal, match="/t"):
        sn.mount_all([sn.Mount("overlay", "overlay", ["lowerdir=/a:/b"])], "/t",
                     runner=lambda argv, **kw: subprocess.CompletedProcess(argv, 32, "", "bad"))


def test_chain_ids():
    a, b, c = "sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "c" * 64
    ids = sn.chain_ids([a, b, c])
    assert ids[0] == a
    import hashlib
    assert ids[1] == "sha256:" + hashlib.sha256(f"{a} {b}".encode()).hexdigest()
    assert ids[2] == "sha256:" + hashlib.sha256(f"{ids[1]} {c}".encode()).hexdigest()


def test_unpack_layer_idempotent_and_reparented(snaps):
    l1 = oi.Layer([oi.File("one", b"1")])
    l2 = oi.Layer([oi.File("two", b"2")])
    chains = sn.chain_ids([l1.diff_id, l2.diff_id])
    # upper layer first: extraction does not need its parent
    key, res = snaps.extract_layer(io.BytesIO(l2.blob), l2.diff_id)
    assert res.diff_id == l2.diff_id
    assert snaps.unpack_layer(chains[0], None, io.BytesIO(l1.blob), l1.diff_id) is True
    snaps.commit(chains[1], key, parent=chains[0])
    assert snaps.stat(chains[1]).parent == chains[0]
    assert snaps.unpack_layer(chains[1], chains[0], io.BytesIO(b"never read"), l2.diff_id) is False
    assert os.listdir(snaps.fs_path(chains[1])) == ["two"]


def test_failed_extract_leaves_nothing(snaps):
    layer = oi.Layer([oi.File("../evil", b"x")])
    with pytest.raises(errors.InvalidArgument):
        snaps.unpack_layer("c", None, io.BytesIO(layer.blob), layer.diff_id)
    assert snaps.walk() == []
    assert os.listdir(snaps.root) == []


def test_orphans_from_crashes_are_cleaned(snaps):
    committed_chain(snaps, 1)
    os.makedirs(os.path.join(snaps.root, "999", "fs"))
    os.makedirs(os.path.join(snaps.root, "new-abc", "fs"))
    os.makedirs(os.path.join(snaps.root, "rm-3-x"))
    assert sorted(snaps.clean_orphans()) == ["999", "rm-3-x"]      # new-abc may be a prepare in progress
    os.utime(os.path.join(snaps.root, "new-abc"), (0, 0))
    assert snaps.clean_orphans() == ["new-abc"]
    assert os.listdir(snaps.root) == [str(snaps.stat("c0").id)]


def test_orphan_directory_with_a_reused_id_is_replaced(snaps):
    # a crash after the rename but before COMMIT leaves <next id>/ behind; the next prepare reuses the id
    os.makedirs(os.path.join(snaps.root, "1", "fs"))
    open(os.path.join(snaps.root, "1", "fs", "stale"), "w").close()
    snaps.prepare("a", None)
    assert snaps.stat("a").id == 1
    assert os.listdir(snaps.fs_path("a")) == []


def test_implicit_parents_inherit_from_the_parent_chain_in_any_extraction_order(snaps):
    low = oi.Layer([oi.Dir("opt", mode=0o711, mtime=oi.EPOCH + 3), oi.Dir("opt/a", mode=0o750)])
    high = oi.Layer([oi.File("opt/a/x", b"x"), oi.File("new/y", b"y")])
    chains = sn.chain_ids([low.diff_id, high.diff_id])
    key, res = snaps.extract_layer(io.BytesIO(high.blob), high.diff_id)
    assert sorted(res.implicit_dirs) == [("new",), ("opt",), ("opt", "a")]
    snaps.unpack_layer(chains[0], None, io.BytesIO(low.blob), low.diff_id)
    assert snaps.commit_layer(chains[1], key, chains[0], res) is True
    fs = snaps.fs_path(chains[1])
    assert os.stat(os.path.join(fs, "opt")).st_mode & 0o7777 == 0o711
    assert os.stat(os.path.join(fs, "opt")).st_mtime == oi.EPOCH + 3
    assert os.stat(os.path.join(fs, "opt", "a")).st_mode & 0o7777 == 0o750
    assert os.stat(os.path.join(fs, "new")).st_mode & 0o7777 == 0o755


def test_failed_read_only_remount_unmounts_the_bind():
    calls = []

    def runner(argv, cwd=None, **kw):
        calls.append(argv)
        rc = 32 if "remount,bind,ro" in argv else 0
        return subprocess.CompletedProcess(argv, rc, "", "nope")

    with pytest.raises(errors.Internal):
        sn.mount_all([sn.Mount("bind", "/src", ["rbind", "ro"])], "/t", runner=runner)
    assert calls == [["mount", "--rbind", "/src", "/t"], ["mount", "-o", "remount,bind,ro", "/t"], ["umount", "/t"]]


def _stack(snaps, *layers):
    parent = None
    for layer in layers:
        chain = sn.chain_ids([x.diff_id for x in layers[:layers.index(layer) + 1]])[-1]
        snaps.unpack_layer(chain, parent, io.BytesIO(layer.blob), layer.diff_id)
        parent = chain
    return parent


def test_hardlink_to_a_lower_file_copies_it_up(snaps):
    low = oi.Layer([oi.Dir("opt", mode=0o711), oi.Dir("opt/bin"),
                    oi.File("opt/bin/tool", b"tool", mode=0o751, mtime=oi.EPOCH + 9, xattrs={"user.t": b"1"})])
    high = oi.Layer([oi.Dir("usr"), oi.Hardlink("usr/tool2", "opt/bin/tool")])
    top = _stack(snaps, low, high)
    fs = snaps.fs_path(top)
    up, link = os.path.join(fs, "opt", "bin", "tool"), os.path.join(fs, "usr", "tool2")
    assert open(up, "rb").read() == b"tool" and os.lstat(up).st_ino == os.lstat(link).st_ino
    st = os.lstat(up)
    assert (st.st_mode & 0o7777, st.st_mtime, os.getxattr(up, "user.t")) == (0o751, oi.EPOCH + 9, b"1")
    assert os.stat(os.path.join(fs, "opt")).st_mode & 0o7777 == 0o711     # copied-up parents inherit too


@pytest.mark.parametrize("hider", [
    oi.Layer([oi.Dir("opt"), oi.Dir("opt/bin"), oi.Whiteout("opt/bin/tool")]),
    oi.Layer([oi.Dir("opt"), oi.Opaque("opt")]),
    oi.Layer([oi.File("opt", b"now a file")]),
])
def test_hardlink_to_a_hidden_or_missing_lower_file_is_refused(snaps, hider):
    low = oi.Layer([oi.Dir("opt"), oi.Dir("opt/bin"), oi.File("opt/bin/tool", b"tool")])
    high = oi.Layer([oi.Hardlink("t2", "opt/bin/tool")])
    parent = _stack(snaps, low, hider)
    before = {s.key for s in snaps.walk()}
    chain = sn.chain_ids([low.diff_id, hider.diff_id, high.diff_id])[-1]
    with pytest.raises(errors.InvalidArgument, match="hardlink target"):
        snaps.unpack_layer(chain, parent, io.BytesIO(high.blob), high.diff_id)
    assert {s.key for s in snaps.walk()} == before


def test_hardlink_without_any_target_is_refused(snaps):
    layer = oi.Layer([oi.Hardlink("h", "nope")])
    with pytest.raises(errors.InvalidArgument, match="hardlink target 'nope'"):
        snaps.unpack_layer(layer.diff_id, None, io.BytesIO(layer.blob), layer.diff_id)
    assert snaps.walk() == [] and os.listdir(snaps.root) == []


def test_more_layers_than_overlay_stacks_is_a_clear_error(snaps):
    top = committed_chain(snaps, sn.MAX_LOWERS + 1)
    with pytest.raises(errors.InvalidArgument, match="more than overlayfs stacks"):
        snaps.prepare("ctr", top)
    assert not snaps.exists("ctr")


def test_mount_points_parse_mountinfo_escapes(tmp_path):
    from gantry.highlevel.images import snapshots as snapmod

    info = tmp_path / "mountinfo"
    info.write_text("22 1 0:21 / /run rw - tmpfs tmpfs rw\n"
                    "30 22 254:0 /x /run/a\\040b/rootfs ro - ext4 /dev/vda rw\n"
                    "31 22 254:0 /y /run/ab ro - ext4 /dev/vda rw\n")
    points = snapmod.mount_points(str(info))
    assert points == {"/run", "/run/a b/rootfs", "/run/ab"}
    assert snapmod.is_mounted("/run/a b/rootfs", points) and not snapmod.is_mounted("/run/a b", points)
    assert snapmod.mounts_below("/run/a b", points) == ["/run/a b/rootfs"]
    assert snapmod.mounts_below("/run/a", points) == []          # a prefix of a name is not "below"


@pytest.mark.parametrize("sync, fixups, flushes", [
    (True, False, 0),     # apply_layer flushed the tree, nothing changed since
    (False, False, 1),    # a pull's extraction: commit_layer flushes
    (True, True, 1),      # fixups (an implicit dir under a lower layer) written after the flush
    (False, True, 1),
])
def test_commit_layer_flushes_before_the_row_is_committed(snaps, monkeypatch, sync, fixups, flushes):
    base = oi.Layer([oi.Dir("d", mode=0o750), oi.File("d/a", b"a")])
    upper = oi.Layer([oi.File("d/b", b"b")] if fixups else [oi.File("c", b"c")])
    chains = sn.chain_ids([base.diff_id, upper.diff_id])
    assert snaps.unpack_layer(chains[0], None, io.BytesIO(base.blob), base.diff_id)
    key, res = snaps.extract_layer(io.BytesIO(upper.blob), upper.diff_id, sync=sync)
    assert res.flushed is sync
    path = snaps.fs_path(key)
    events = []
    monkeypatch.setattr(sn, "syncfs", lambda path: events.append(("syncfs", path)))
    real_commit = snaps.commit
    monkeypatch.setattr(snaps, "commit", lambda *a, **k: (events.append(("commit", a[0])), real_commit(*a, **k))[1])
    assert snaps.commit_layer(chains[1], key, chains[0], res) is True
    assert [e[0] for e in events] == ["syncfs"] * flushes + ["commit"]
    if flushes:
        assert events[0][1] == path


def test_flush_extraction_flushes_once(snaps, monkeypatch):
    layer = oi.Layer([oi.File("f", b"f")])
    key, res = snaps.extract_layer(io.BytesIO(layer.blob), layer.diff_id, sync=False)
    calls = []
    monkeypatch.setattr(sn, "syncfs", calls.append)
    flushed = snaps.flush_extraction(key, res)
    assert flushed.flushed and calls == [snaps.fs_path(key)]
    assert snaps.flush_extraction(key, flushed) is flushed and len(calls) == 1
    assert snaps.commit_layer(layer.diff_id, key, None, flushed) is True
    assert len(calls) == 1     # nothing changed after the flush: commit_layer does not flush again
