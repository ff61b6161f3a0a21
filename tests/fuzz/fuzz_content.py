"""highlevel/images/content.py: resuming an ingest that a crash (or a tamperer) left behind.

An interrupted download leaves ``ingest/<hash of ref>/meta`` (JSON, written temp + rename
without fsync) and ``data`` (appended to).  The input decides what a crash left: the first
byte picks the meta (the rest of the input as is, a real meta cut short, a real meta) and the
data (a prefix of the blob, that prefix with a zero-filled tail as delayed allocation leaves
it, or input bytes).  A pull then resumes: ``writer(ref, digest, size)``, the rest of the blob
from ``offset``, ``commit``.  Invariants: only the store's domain errors escape (DataLoss for
data that does not hash right); after a DataLoss the next attempt stores the blob; a committed
blob has exactly the expected bytes; the garbage collector's sweep never raises."""
import hashlib
import os
import shutil

from gantry.highlevel import errors
from gantry.highlevel.images import content

from .harness import Target
from .scratch import Scratch

_scratch = None
BLOB = bytes(range(256)) * 12 + b"tail"
DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
REF = "layer-" + DIGEST
META = ('{"ref": "%s", "expected": "%s", "size": %d, "started": 1796000000.5}' % (REF, DIGEST, len(BLOB))).encode()


def setup():
    global _scratch
    _scratch = Scratch()


def left_behind(data):
    mode, rest = (data[0], data[1:]) if data else (0, b"")
    cut = int.from_bytes(rest[:2], "big")
    meta = (rest[2:].split(b"\0", 1)[0], META[:cut % len(META)], META)[mode % 3]
    kind = (mode >> 2) % 3
    k = cut % (len(BLOB) + 1)
    if kind == 0:
        blob_part = BLOB[:k]
    elif kind == 1:
        blob_part = BLOB[:k] + b"\0" * ((mode >> 4) * 64)
    else:
        blob_part = rest[2:].split(b"\0", 1)[-1]
    return meta, blob_part


def check(data):
    meta, blob_part = left_behind(data)
    root = _scratch.path("images")
    shutil.rmtree(root, ignore_errors=True)
    store = content.ContentStore(root)
    ingest = os.path.join(store.ingest_root, hashlib.sha256(REF.encode()).hexdigest())
    os.makedirs(ingest)
    with open(os.path.join(ingest, "meta"), "wb") as f:
        f.write(meta)
    with open(os.path.join(ingest, "data"), "wb") as f:
        f.write(blob_part)
    store.clean_stale_ingests(older_than=3600)
    for attempt in (1, 2):
        w = store.writer(REF, DIGEST, len(BLOB))
        try:
            assert 0 <= w.offset
            if w.offset <= len(BLOB):
                w.write(BLOB[w.offset:])
            digest = w.commit()
        except errors.DataLoss:
            assert attempt == 1, "a fresh ingest after a DataLoss failed too"
            continue
        finally:
            w.close()
        assert digest == DIGEST
        with store.open(DIGEST) as f:
            assert f.read() == BLOB
        break
    assert store.clean_stale_ingests(older_than=0) is not None
    _scratch.assert_outside_unchanged()


TARGET = Target("content", check, ("gantry.highlevel.images.content",),
                allowed=(errors.DataLoss,), setup=setup, max_len=8192)
