"""Content store: verified commits, resume, abort, full disk, stale ingests, locking."""
import errno
import hashlib
import os
import time

import pytest
from gantry.highlevel import errors
from gantry.highlevel.images.content import ContentStore, split_digest


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path):
    return ContentStore(str(tmp_path))


def test_commit_verifies_and_publishes(store, tmp_path):
    data = b"hello world" * 1000
    w = store.writer("ref1", digest(data), len(data))
    assert w.offset == 0
    w.write(data[:100])
    w.write(data[100:])
    assert w.commit() == digest(data)
    path = tmp_path / "content" / "blobs" / "sha256" / digest(data)[7:]
    assert path.read_bytes() == data
    assert os.stat(path).st_mode & 0o777 == 0o444
    assert store.info(digest(data)).size == len(data)
    assert store.read_bytes(digest(data)) == data
    assert store.ingests() == []


def test_digest_mismatch_is_data_loss_and_leaves_nothing(store):
    want = digest(b"expected")
    w = store.writer("ref", want, 8)
    w.write(b"tampered")
    with pytest.raises(errors.DataLoss, match=want):
        w.commit()
    assert not store.exists(want)
    assert store.ingests() == []
    assert list(store.walk()) == []


def test_size_mismatch_short_and_long(store):
    data = b"abc"
    w = store.writer("short", digest(data), 4)
    w.write(data)
    with pytest.raises(errors.DataLoss, match="size 3"):
        w.commit()
    w = store.writer("long", digest(data), 2)
    with pytest.raises(errors.DataLoss, match="larger"):
        w.write(data)
    assert store.ingests() == []


def test_resume_after_interruption(store):
    data = os.urandom(300_000)
    w = store.writer("layer-x", digest(data), len(data))
    w.write(data[:123_456])
    w.close()                        # a dropped connection: the ingest stays
    w2 = store.writer("layer-x", digest(data), len(data))
    assert w2.offset == 123_456
    w2.write(data[w2.offset:])
    assert w2.commit() == digest(data)
    assert store.read_bytes(digest(data)) == data


def test_resume_with_other_expected_digest_restarts(store):
    w = store.writer("ref", digest(b"one"), 3)
    w.write(b"on")
    w.close()
    w2 = store.writer("ref", digest(b"two"), 3)
    assert w2.offset == 0
    w2.write(b"two")
    assert w2.commit() == digest(b"two")


def test_abort_drops_the_ingest(store):
    w = store.writer("ref", None)
    w.write(b"partial")
    w.abort()
    w.abort()
    assert store.ingests() == []
    with pytest.raises(errors.FailedPrecondition):
        w.write(b"x")


def test_context_manager_aborts_on_error(store):
    with pytest.raises(RuntimeError):
        with store.writer("ref", None) as w:
            w.write(b"x")
            raise RuntimeError("boom")
    assert store.ingests() == []


def test_one_writer_per_ref(store, monkeypatch):
    from gantry.highlevel.images import content

    monkeypatch.setattr(content, "LOCK_WAIT", 0.1)
    w = store.writer("same", None)
    with pytest.raises(errors.Unavailable, match="locked"):
        store.writer("same", None)
    w.abort()
    store.writer("same", None).abort()


class FullDisk:
    """Stands in for the data file: accepts ``room`` bytes, then fails like a full disk."""

    def __init__(self, real, room):
        self.real, self.room = real, room

    def write(self, view):
        if self.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = min(len(view), self.room)
        self.room -= n
        return self.real.write(view[:n])

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_disk_full_is_resource_exhausted_and_leaves_nothing(store):
    w = store.writer("big", None)
    w._file = FullDisk(w._file, 10)
    with pytest.raises(errors.ResourceExhausted, match="no space"):
        w.write(b"x" * 100)
    assert store.ingests() == []
    assert list(store.walk()) == []


def test_existing_blob_commit_is_a_no_op(store):
    d = store.put_bytes(b"same")
    w = store.writer("again", d, 4)
    w.write(b"same")
    assert w.commit() == d
    assert [b.digest for b in store.walk()] == [d]


def test_stale_ingests_are_cleaned_but_live_ones_kept(store):
    old = store.writer("old", None)
    old.write(b"x")
    old.close()
    live = store.writer("live", None)
    live.write(b"y")
    past = time.time() - 7200
    for name in store.ingests():
        for f in os.listdir(os.path.join(store.ingest_root, name)):
            os.utime(os.path.join(store.ingest_root, name, f), (past, past))
    removed = store.clean_stale_ingests(3600)
    assert len(removed) == 1                    # the live writer holds its lock
    assert len(store.ingests()) == 1
    live.commit()
    assert store.clean_stale_ingests(0) == []


def test_delete_walk_and_missing(store):
    d = store.put_bytes(b"a")
    assert store.delete(d) is True
    assert store.delete(d) is False
    with pytest.raises(errors.NotFound):
        store.open(d)
    with pytest.raises(errors.NotFound):
        store.info(d)


@pytest.mark.parametrize("bad", ["", "sha256", "md5:abc", "sha256:" + "g" * 64, "sha256:abc",
                                 "sha256:" + "A" * 64, "sha256:../../etc/passwd"])
def test_malformed_digests_refused(store, bad):
    with pytest.raises(errors.InvalidArgument):
        split_digest(bad)
    with pytest.raises(errors.InvalidArgument):
        store.exists(bad)


def test_a_writer_waits_out_the_collector_looking_at_its_ingest(store):
    import threading

    from gantry.highlevel.images.content import _try_lock

    old = store.writer("slow", None)
    old.write(b"x")
    old.close()
    d = os.path.join(store.ingest_root, store.ingests()[0])
    held = _try_lock(d)                       # the collector, looking
    threading.Timer(0.2, os.close, args=(held,)).start()
    w = store.writer("slow", None)            # waits, then resumes the ingest
    assert w.offset == 1
    w.abort()


@pytest.mark.parametrize("meta", [b"[1]", b'"ref"', b"[" * 50000, b'{"ref": "la'])
def test_an_ingest_meta_that_is_not_ours_restarts_the_download(store, meta):
    # found by tests/fuzz (fuzz_content): a meta that parsed as a list raised AttributeError,
    # deep nesting RecursionError, so the pull failed instead of starting from zero
    w = store.writer("ref", digest(b"two"), 3)
    w.write(b"tw")
    w.close()
    with open(os.path.join(w.dir, "meta"), "wb") as f:
        f.write(meta)
    w2 = store.writer("ref", digest(b"two"), 3)
    assert w2.offset == 0
    w2.write(b"two")
    assert w2.commit() == digest(b"two")
