"""kill -9 of a process in the middle of writing content and unpacking: the store stays consistent."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from gantry.highlevel.images.store import ImageStore

from tests.fixtures import ociimage as oi

CHILD = textwrap.dedent("""
    import io, sys, time
    sys.path.insert(0, sys.argv[3])
    from gantry.highlevel.images.store import ImageStore
    from gantry.highlevel.images import unpack
    store = ImageStore(sys.argv[1])
    blob = open(sys.argv[2], "rb").read()

    class Slow(io.BytesIO):
        def read(self, n=-1):
            time.sleep(0.005)
            return super().read(min(n, 65536) if n and n > 0 else 65536)

    with store.lease() as lease:
        w = lease.writer("crash", None)
        w.write(blob[: len(blob) // 2])
        print("go", flush=True)
        store.snapshots.unpack_layer("chain-x", None, Slow(blob), None)
        print("done", flush=True)
""")


@pytest.mark.parametrize("delay", [0.05, 0.15])
def test_kill_9_mid_unpack_then_gc_restores_a_clean_store(tmp_path, delay):
    layer = oi.Layer([oi.File(f"d{i // 100}/f{i}", os.urandom(2000)) for i in range(2000)], "gzip")
    blob_path = tmp_path / "layer.blob"
    blob_path.write_bytes(layer.blob)
    root = str(tmp_path / "store")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__)))))
    p = subprocess.Popen([sys.executable, "-c", CHILD, root, str(blob_path), repo], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "go"
    time.sleep(delay)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert "done" not in p.stdout.read()          # killed in the middle, as intended
    store = ImageStore(root)
    try:
        snaps = store.meta.snapshots()
        assert all(s.kind == "active" and s.key.startswith("extract-") for s in snaps)   # never a half commit
        assert store.meta._query("PRAGMA integrity_check")[0][0] == "ok"
        store.gc(now=time.time() + 2 * 24 * 3600)      # past the lease, the extract grace and the ingest grace
        assert store.meta.snapshots() == []
        assert os.listdir(store.snapshots.root) == []
        assert store.content.ingests() == [] and list(store.content.walk()) == []
        # and the store works again: the same layer unpacks cleanly
        import io
        assert store.snapshots.unpack_layer("chain-x", None, io.BytesIO(layer.blob), layer.diff_id)
    finally:
        store.close()
