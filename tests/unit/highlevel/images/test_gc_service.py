"""ImageStore + ImageService + GC: lookups, removal semantics, shared layers, leases, concurrency."""
import os
import threading
import time

import pytest
from gantry.highlevel import errors
from gantry.highlevel.images.service import ImageService, user_fields
from gantry.highlevel.images.store import ImageStore

from tests.fixtures import ociimage as oi

BASE = oi.Layer([oi.Dir("bin"), oi.File("bin/sh", b"#!sh", mode=0o755)])
MID = oi.Layer([oi.File("etc/os-release", b"ID=test\n")], "zstd")


def add_image(store, img, *names, repo_digest=True):
    with store.lease() as lease:
        for dg, blob in img.blobs.items():
            w = lease.writer("t-" + dg, dg, len(blob))
            w.write(blob)
            w.commit()
        layers = [(x.digest, x.media_type(), x.size) for x in img.layers]
        store.unpack_from_content(img.config_digest, layers, lease)
        recs = []
        for n in names:
            recs.append((n, "tag"))
            if repo_digest:
                recs.append((n.rsplit(":", 1)[0] + "@" + img.manifest_digest, "digest"))
        return store.record_image(recs, img.manifest_digest, img.media_type, img.config_digest, layers)


@pytest.fixture
def store(tmp_path):
    s = ImageStore(str(tmp_path))
    yield s
    s.close()


@pytest.fixture
def svc(store):
    return ImageService(store)


def two_images():
    a = oi.Image([BASE, MID], user="1000:1000", cmd=["a"])
    b = oi.Image([BASE, oi.Layer([oi.File("b", b"b")])], user="nobody", cmd=["b"])
    return a, b


def blobs(store):
    return {b.digest for b in store.content.walk()}


def test_image_fields_and_lookups(store, svc):
    a, _ = two_images()
    iid = add_image(store, a, "docker.io/library/a:1")
    assert iid == a.config_digest
    img = svc.image_status("a:1")
    assert img.id == iid
    assert img.repo_tags == ["docker.io/library/a:1"]
    assert img.repo_digests == ["docker.io/library/a@" + a.manifest_digest]
    assert img.uid == 1000 and img.username == ""
    assert img.size == sum(len(v) for v in a.blobs.values())
    for ref in (iid, iid[7:], iid[7:19], "docker.io/library/a:1", "a@" + a.manifest_digest):
        assert svc.image_status(ref).id == iid, ref
    assert svc.image_status("a:2") is None
    assert svc.image_status("sha256:" + "0" * 64) is None
    assert [i.id for i in svc.list_images()] == [iid]
    assert svc.list_images("a:1")[0].id == iid and svc.list_images("zzz") == []
    assert svc.config(iid)["config"]["Cmd"] == ["a"]


@pytest.mark.parametrize("user,expect", [("", (None, "")), ("0", (0, "")), ("1000:1000", (1000, "")),
                                         ("nobody", (None, "nobody")), ("www:www", (None, "www"))])
def test_user_fields(user, expect):
    assert user_fields(user) == expect


def test_remove_by_tag_keeps_other_tags(store, svc):
    a, _ = two_images()
    iid = add_image(store, a, "docker.io/library/a:1", "docker.io/library/a:2")
    svc.remove("a:1")
    assert svc.image_status(iid).repo_tags == ["docker.io/library/a:2"]
    svc.remove("a:2")
    assert svc.image_status(iid) is None
    assert blobs(store) == set()
    assert store.snapshots.walk() == []


def test_remove_by_id_drops_every_name_and_is_idempotent(store, svc):
    a, _ = two_images()
    iid = add_image(store, a, "docker.io/library/a:1", "docker.io/library/a:2")
    svc.remove(iid)
    assert svc.list_images() == []
    svc.remove(iid)
    svc.remove("a:1")
    assert store.meta.all_names() == []


def test_remove_by_digest_reference(store, svc):
    a, _ = two_images()
    add_image(store, a, "docker.io/library/a:1")
    svc.remove("docker.io/library/a@" + a.manifest_digest)
    assert svc.list_images() == []


def test_shared_layers_survive_until_last_image_goes(store, svc):
    a, b = two_images()
    add_image(store, a, "docker.io/library/a:1")
    add_image(store, b, "docker.io/library/b:1")
    base_chain = BASE.diff_id
    svc.remove("a:1")
    assert store.snapshots.exists(base_chain)
    assert BASE.digest in blobs(store) and MID.digest not in blobs(store)
    assert len(store.snapshots.walk()) == 2
    svc.remove("b:1")
    assert blobs(store) == set() and store.snapshots.walk() == []
    assert os.listdir(store.snapshots.root) == []


def test_containers_keep_their_snapshots(store, svc):
    a, _ = two_images()
    add_image(store, a, "docker.io/library/a:1")
    top = store.meta.get_image(a.config_digest).layers[-1].chain_id
    store.snapshots.prepare("container-1", top)
    svc.remove("a:1")
    assert len(store.snapshots.walk()) == 3       # the rootfs and both parents stay
    assert blobs(store) == set()                  # content goes
    store.snapshots.remove("container-1")
    store.gc()
    assert store.snapshots.walk() == []


def test_leases_protect_a_pull_in_progress(store):
    with store.lease() as lease:
        w = lease.writer("x", oi.sha256_digest(b"pending"), 7)
        w.write(b"pending")
        w.commit()
        store.gc()
        assert store.content.exists(oi.sha256_digest(b"pending"))
    store.gc()
    assert not store.content.exists(oi.sha256_digest(b"pending"))


def test_crashed_extractions_are_collected_after_grace(store):
    key, _ = store.snapshots.extract_layer(__import__("io").BytesIO(BASE.blob), BASE.diff_id)
    store.gc()
    assert store.snapshots.exists(key)
    store.gc(now=time.time() + 7200)
    assert not store.snapshots.exists(key)


def test_record_image_needs_committed_snapshots(store):
    a, _ = two_images()
    for dg, blob in a.blobs.items():
        store.content.put_bytes(blob, dg)
    with pytest.raises(errors.FailedPrecondition, match="snapshot"):
        store.record_image([("x:1", "tag")], a.manifest_digest, a.media_type, a.config_digest,
                           [(x.digest, x.media_type(), x.size) for x in a.layers])


def test_concurrent_removes_are_safe(store, svc):
    a, b = two_images()
    add_image(store, a, "docker.io/library/a:1", "docker.io/library/a:2")
    add_image(store, b, "docker.io/library/b:1")
    refs = ["a:1", "a:2", a.config_digest, "b:1", b.config_digest] * 3
    failures = []

    def worker(ref):
        try:
            svc.remove(ref)
        except Exception as e:  # pragma: no cover - reported below
            failures.append(repr(e))

    threads = [threading.Thread(target=worker, args=(r,)) for r in refs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert svc.list_images() == [] and blobs(store) == set() and store.snapshots.walk() == []


def test_bad_reference_is_invalid_argument(svc):
    with pytest.raises(errors.InvalidArgument):
        svc.image_status("UPPER/Case:!!")


def test_fs_info_counts_snapshot_bytes(store, svc):
    empty = svc.fs_info()
    a, _ = two_images()
    add_image(store, a, "docker.io/library/a:1")
    full = svc.fs_info()
    assert full.mountpoint == store.snapshots.root
    assert full.used_bytes > empty.used_bytes and full.inodes_used > empty.inodes_used


def test_pull_delegates_to_the_puller(store):
    seen = []
    svc = ImageService(store, puller=lambda st, ref, auth=None, progress=None: seen.append((ref, auth)) or "id")
    assert svc.pull("busybox", auth={"u": 1}) == "id"
    assert seen == [("busybox", {"u": 1})]


def test_pin_and_unpin(store, svc):
    a, _ = two_images()
    iid = add_image(store, a, "docker.io/library/a:1")
    assert svc.image_status(iid).pinned is False
    svc.pin("a:1")
    assert svc.image_status(iid).pinned is True
    svc.pin(iid, False)
    assert svc.image_status(iid).pinned is False
    with pytest.raises(errors.NotFound):
        svc.pin("nope:1")


def test_fs_info_measures_committed_once_and_active_live(store, svc):
    a, _ = two_images()
    add_image(store, a, "docker.io/library/a:1")
    top = store.meta.get_image(a.config_digest).layers[-1].chain_id
    base = svc.fs_info()
    assert store.snapshots.usage(top)[1] == 2          # etc (implicit) and etc/os-release
    store.snapshots.prepare("ctr", top)
    with open(os.path.join(store.snapshots.fs_path("ctr"), "big"), "wb") as f:
        f.write(b"x" * 100_000)
    grown = svc.fs_info()
    assert grown.used_bytes >= base.used_bytes + 100_000 and grown.inodes_used == base.inodes_used + 1


def test_objects_leased_after_the_mark_survive_the_sweep(store, svc, monkeypatch):
    """Another process leases a blob and a layer between GC's mark and its sweep: both stay."""
    from gantry.highlevel.images import gc as gc_module

    a, _ = two_images()
    add_image(store, a, "docker.io/library/a:1")
    store.meta.delete_image(a.config_digest)        # now everything is garbage ...
    real_mark = gc_module.mark

    def mark_then_someone_leases(meta, now, grace):
        out = real_mark(meta, now, grace)
        meta.lease_create("other-process")
        meta.lease_add("other-process", "content", BASE.digest)
        meta.lease_add("other-process", "snapshot", BASE.diff_id)
        return out

    monkeypatch.setattr(gc_module, "mark", mark_then_someone_leases)
    store.gc()
    assert blobs(store) == {BASE.digest}              # ... except what the late lease took
    assert [s.key for s in store.snapshots.walk()] == [BASE.diff_id]
    monkeypatch.setattr(gc_module, "mark", real_mark)
    store.meta.lease_delete("other-process")
    store.gc()
    assert blobs(store) == set() and store.snapshots.walk() == []


def test_imports_removes_and_gc_racing_keep_the_store_whole(tmp_path, store, svc):
    """Threads import (sharing layers), remove and collect at once; every surviving image stays complete."""
    from gantry.highlevel.images import archive

    shared = oi.Layer([oi.Dir("base"), oi.File("base/f", b"shared")])
    layouts = []
    for n in range(3):
        img = oi.Image([shared, oi.Layer([oi.File(f"own{n}", str(n).encode())])])
        oi.write_layout(str(tmp_path / f"lay{n}"), {"v1": img})
        layouts.append(str(tmp_path / f"lay{n}"))
    failures = []

    def importer(n):
        try:
            for i in range(6):
                archive.import_oci_layout(store, layouts[(n + i) % 3], base_name=f"test.local/t{n}-{i % 2}")
        except Exception as e:  # pragma: no cover - reported below
            failures.append(repr(e))

    def remover(n):
        try:
            for i in range(12):
                svc.remove(f"test.local/t{(n + i) % 3}-{i % 2}:v1")
                store.gc()
        except Exception as e:  # pragma: no cover - reported below
            failures.append(repr(e))

    threads = [threading.Thread(target=importer, args=(n,)) for n in range(3)]
    threads += [threading.Thread(target=remover, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    store.gc()
    for img in svc.list_images():
        rec = store.meta.get_image(img.id)
        for layer in rec.layers:
            assert store.snapshots.stat(layer.chain_id).kind == "committed"
            assert store.content.exists(layer.digest)
        assert store.content.exists(rec.manifest_digest) and store.content.exists(rec.id)
    for img in svc.list_images():
        svc.remove(img.id)
    assert blobs(store) == set() and store.snapshots.walk() == [] and os.listdir(store.snapshots.root) == []


def dead_owner_mark():
    import subprocess

    from gantry.highlevel.images import owner
    child = subprocess.Popen(["sleep", "60"])
    try:
        mark = "%d-%d" % (child.pid, owner.start_time(child.pid))
        assert not owner.gone(mark)
    finally:
        child.kill()
        child.wait()
    assert owner.gone(mark)
    return mark


def test_owner_marks():
    from gantry.highlevel.images import owner
    me = owner.current()
    assert owner.parse(me)[0] == os.getpid() and not owner.gone(me)
    pid, started = owner.parse(me)
    assert owner.gone("%d-%d" % (pid, started + 1))    # same pid, another start: another process
    assert not owner.gone(None) and not owner.gone("") and not owner.gone("x")  # no mark: not known dead
    assert owner.parse("new-1-2") is None and owner.parse("12-34-abc") == (12, 34)


def test_extractions_of_a_dead_process_are_collected_at_once(store):
    import io
    import json
    mine, _ = store.snapshots.extract_layer(io.BytesIO(BASE.blob), BASE.diff_id)
    theirs, _ = store.snapshots.extract_layer(io.BytesIO(MID.blob), MID.diff_id, compression="zstd")
    with store.meta.transaction() as tx:
        tx.execute("UPDATE snapshots SET labels=? WHERE key=?",
                   (json.dumps({"extract": "1", "owner": dead_owner_mark()}), theirs))
    store.gc()
    assert store.snapshots.exists(mine)           # a live process's extraction waits out its grace
    assert not store.snapshots.exists(theirs)


def test_temporary_snapshot_dirs_of_a_dead_process_go_at_once(store):
    from gantry.highlevel.images import owner
    root = store.snapshots.root
    dead = os.path.join(root, "new-%s-abcd" % dead_owner_mark())
    live = os.path.join(root, "new-%s-efgh" % owner.current())
    unmarked = os.path.join(root, "new-xyz")
    for d in (dead, live, unmarked):
        os.makedirs(os.path.join(d, "fs"))
    result = store.gc()
    assert not os.path.exists(dead) and os.path.basename(dead) in result.orphans
    assert os.path.isdir(live) and os.path.isdir(unmarked)   # young: spared for the grace time
