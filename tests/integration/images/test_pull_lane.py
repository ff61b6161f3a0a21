"""The unpack lane (images/pull.py): layers unpack one at a time per daemon, a layer streams into the
lane only when it is free as its download starts, downloads never wait for it, and every way out
of an unpack gives it back."""
import threading
import time

import pytest
from gantry.highlevel.errors import DataLoss
from gantry.highlevel.images.blobpipe import BlobPipe
from gantry.highlevel.images.registry.manifests import chain_ids
from gantry.highlevel.images.snapshots import Snapshotter

from tests.fixtures import ociimage as oi

from .pullhelpers import hosts_dir, loopback_names_only, new_store, puller  # noqa: F401


def four_layers(tag):
    layers = []
    for n in range(4):
        entries = [oi.Dir("l%d" % n), oi.RandomFile("l%d/blob" % n, 400_000, seed=n + len(tag))]
        entries += [oi.File("l%d/f%02d" % (n, i), b"%s %d %d\n" % (tag.encode(), n, i)) for i in range(40)]
        layers.append(oi.Layer(entries, "gzip"))
    return oi.Image(layers, cmd=["/bin/sh"])


@pytest.fixture
def watched(monkeypatch):
    """Records each extraction (streamed or from a stored blob) and the most running at once."""
    seen = {"now": 0, "most": 0, "streamed": 0, "stored": 0}
    lock = threading.Lock()
    real = Snapshotter.extract_layer

    def extract_layer(self, stream, *args, **kwargs):
        with lock:
            seen["now"] += 1
            seen["most"] = max(seen["most"], seen["now"])
            seen["streamed" if isinstance(stream, BlobPipe) else "stored"] += 1
        try:
            time.sleep(0.2)   # long enough that the other downloads start while this one unpacks
            return real(self, stream, *args, **kwargs)
        finally:
            with lock:
                seen["now"] -= 1

    monkeypatch.setattr(Snapshotter, "extract_layer", extract_layer)
    return seen


def test_layers_unpack_one_at_a_time_streamed_or_from_the_stored_blob(registry, tmp_path, watched):
    img = four_layers("lane")
    registry.push_image(img, "lane/four", "v1")
    store = new_store(tmp_path)
    p = puller(hosts_dir(tmp_path, registry.host, registry.url))
    result = p.pull(store, "%s/lane/four:v1" % registry.host)
    assert result.image_id == img.config_digest
    assert watched["most"] == 1, watched
    assert watched["streamed"] >= 1 and watched["stored"] >= 1, watched
    assert watched["streamed"] + watched["stored"] == 4, watched
    top = chain_ids([lay.diff_id for lay in img.layers])[-1]
    chain = store.snapshots.chain(top)
    assert len(chain) == 4


def test_downloads_do_not_wait_for_a_busy_lane(registry, tmp_path):
    img = four_layers("busy")
    registry.push_image(img, "lane/busy", "v1")
    store = new_store(tmp_path)
    p = puller(hosts_dir(tmp_path, registry.host, registry.url))
    assert p.unpack_lane.acquire(blocking=False)   # as another pull's long unpack would hold it
    out = {}
    t = threading.Thread(target=lambda: out.update(result=p.pull(store, "%s/lane/busy:v1" % registry.host)))
    t.start()
    try:
        deadline = time.monotonic() + 30
        while not all(store.content.exists(lay.digest) for lay in img.layers):
            assert time.monotonic() < deadline, "the blobs were not stored while the lane was busy"
            time.sleep(0.02)
        assert t.is_alive() and not out   # stored, not unpacked: the pull waits for the lane
        assert not any(store.snapshots.exists(c) for c in chain_ids([lay.diff_id for lay in img.layers]))
    finally:
        p.unpack_lane.release()
    t.join(60)
    assert out["result"].image_id == img.config_digest


def test_a_failed_unpack_gives_the_lane_back(registry, fault_proxy, tmp_path):
    img = four_layers("corrupt")
    registry.push_image(img, "lane/corrupt", "v1")
    proxy = fault_proxy(registry)
    proxy.corrupt_at(200_000, pattern="/blobs/" + img.layers[0].digest)
    store = new_store(tmp_path)
    p = puller(hosts_dir(tmp_path, proxy.host, proxy.url))
    with pytest.raises(DataLoss):
        p.pull(store, "%s/lane/corrupt:v1" % proxy.host)
    assert p.idle(30)
    assert p.unpack_lane.acquire(blocking=False), "the lane was not given back"
    p.unpack_lane.release()
    proxy.clear()
    assert p.pull(store, "%s/lane/corrupt:v1" % proxy.host).image_id == img.config_digest
