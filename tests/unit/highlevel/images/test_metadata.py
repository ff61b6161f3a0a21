"""Metadata: images, names, snapshots, leases; one transaction per change; kill -9 leaves it consistent."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from gantry.highlevel import errors
from gantry.highlevel.images.metadata import ImageRecord, LayerRecord, Metadata


def d(c, n=64):
    return "sha256:" + c * n


def image(cid, layers=2):
    return ImageRecord(
        d(cid), d("f"), "application/vnd.oci.image.manifest.v1+json", size=10, user="1000",
        annotations={"a": "b"},
        layers=[LayerRecord(d(str(i)), d(str(i)), "tar", 1, d(str(i))) for i in range(layers)],
        blobs={d("f"): "manifest", d(cid): "config"})


@pytest.fixture
def meta(tmp_path):
    m = Metadata(str(tmp_path / "metadata.db"))
    yield m
    m.close()


def test_wal_and_foreign_keys(meta):
    assert meta._query("PRAGMA journal_mode")[0][0] == "wal"
    assert meta._query("PRAGMA foreign_keys")[0][0] == 1


def test_put_get_and_names_move(meta):
    meta.put_image(image("a"), [("docker.io/library/x:1", "tag")])
    meta.put_image(image("b"), [("docker.io/library/x:1", "tag"), ("docker.io/library/y:1", "tag")])
    assert meta.image_id_by_name("docker.io/library/x:1") == d("b")
    assert meta.names_of(d("a")) == []
    rec = meta.get_image(d("b"))
    assert rec.user == "1000" and rec.annotations == {"a": "b"} and len(rec.layers) == 2
    assert rec.layers[1].chain_id == d("1")
    assert meta.get_image(d("z")) is None


def test_remove_name_drops_image_with_last_name(meta):
    meta.put_image(image("a"), [("n:1", "tag"), ("n@x", "digest")])
    assert meta.remove_name("n:1") == d("a")
    assert meta.get_image(d("a")) is not None
    assert meta.remove_name("n@x") == d("a")
    assert meta.get_image(d("a")) is None
    assert meta._query("SELECT COUNT(*) FROM image_layers")[0][0] == 0   # cascaded
    assert meta.remove_name("n:1") is None


def test_failed_transaction_rolls_back(meta):
    with pytest.raises(RuntimeError):
        with meta.transaction() as tx:
            tx.execute("INSERT INTO leases VALUES ('l', 0, NULL)")
            raise RuntimeError("boom")
    assert meta.leases() == []


def test_snapshot_rows_and_parent_constraints(meta):
    with meta.transaction() as tx:
        meta.snapshot_insert(tx, "base", None, "committed")
    with meta.transaction() as tx:
        meta.snapshot_insert(tx, "active", "base", "active")
    with pytest.raises(errors.AlreadyExists):
        with meta.transaction() as tx:
            meta.snapshot_insert(tx, "base", None, "committed")
    with pytest.raises(errors.NotFound):
        with meta.transaction() as tx:
            meta.snapshot_insert(tx, "x", "missing", "active")
    with pytest.raises(errors.FailedPrecondition):
        with meta.transaction() as tx:
            meta.snapshot_insert(tx, "x", "active", "active")
    assert meta.snapshot_children("base") == ["active"]
    with pytest.raises(Exception, match="FOREIGN KEY"):
        with meta.transaction() as tx:
            tx.execute("DELETE FROM snapshots WHERE key='base'")


def test_leases_expire(meta):
    meta.lease_create("keep", expires=None)
    meta.lease_create("old", expires=time.time() - 1)
    meta.lease_add("old", "content", d("1"))
    meta.lease_add("keep", "snapshot", "k")
    assert meta.leased("content") == {d("1")}
    assert meta.expire_leases() == 1
    assert meta.leased("content") == set()
    assert meta.leased("snapshot") == {"k"}


CHILD = textwrap.dedent("""
    import sys, time
    from gantry.highlevel.images.metadata import ImageRecord, LayerRecord, Metadata
    m = Metadata(sys.argv[1])
    mode = sys.argv[2]
    def rec(i):
        cid = "sha256:%064x" % i
        return ImageRecord(cid, cid, layers=[LayerRecord("sha256:%064x" % j, "d", "t", 1, "c%d" % j)
                                             for j in range(20)], blobs={cid: "config"})
    if mode == "mid":
        with m.transaction() as tx:
            tx.execute("INSERT INTO images(id, manifest_digest, created) VALUES ('sha256:half', 'm', 0)")
            tx.execute("INSERT INTO image_names VALUES ('half:1', 'sha256:half', 'tag')")
            print("mid", flush=True)
            time.sleep(60)
    else:
        print("loop", flush=True)
        i = 0
        while True:
            i += 1
            m.put_image(rec(i), [("n%d:1" % i, "tag"), ("shared:latest", "tag")])
            if i % 3 == 0:
                m.remove_name("n%d:1" % (i - 1))
""")


def run_child(tmp_path, mode):
    db = str(tmp_path / "metadata.db")
    p = subprocess.Popen([sys.executable, "-c", CHILD, db, mode], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == mode
    return db, p


def test_kill_9_mid_transaction_leaves_nothing(tmp_path):
    db, p = run_child(tmp_path, "mid")
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    m = Metadata(db)
    assert m._query("PRAGMA integrity_check")[0][0] == "ok"
    assert m.get_image("sha256:half") is None
    assert m.all_names() == []
    m.close()


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.4])
def test_kill_9_at_random_points_keeps_images_whole(tmp_path, delay):
    db, p = run_child(tmp_path, "loop")
    time.sleep(delay)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    m = Metadata(db)
    assert m._query("PRAGMA integrity_check")[0][0] == "ok"
    assert m._query("PRAGMA foreign_key_check") == []
    images = m.list_images()
    for rec in images:
        assert len(rec.layers) == 20                    # never half an image
        assert m.names_of(rec.id)                       # an image row exists only with names
    owners = [iid for name, iid, kind in m.all_names() if name == "shared:latest"]
    assert len(owners) <= 1
    m.close()


def test_a_newer_schema_is_refused(tmp_path):
    import sqlite3

    path = str(tmp_path / "metadata.db")
    Metadata(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.commit()
    db.close()
    with pytest.raises(errors.FailedPrecondition, match="newer"):
        Metadata(path)
