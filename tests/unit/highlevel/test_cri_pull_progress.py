"""Published pull progress: file content, throttling, atomic replace, removal."""
import json
import os
import threading

from gantry.highlevel.cri import pull_progress as pp


def test_path_is_per_reference(tmp_path):
    a = pp.progress_path(str(tmp_path), "busybox:1.36")
    assert a == pp.progress_path(str(tmp_path), "busybox:1.36")
    assert a != pp.progress_path(str(tmp_path), "busybox:latest")
    assert os.path.dirname(a) == str(tmp_path) and a.endswith(".json")


def test_render_parse_describe():
    data = pp.render("busybox:1.36", 10.0, 11.5, {"sha256:b": (500, 1000), "sha256:a": (2_000_000, 2_000_000)})
    doc = pp.parse(data)
    assert doc["done"] == 2_000_500 and doc["total"] == 2_001_000
    assert list(doc["blobs"]) == ["sha256:a", "sha256:b"]
    assert pp.describe(doc) == "busybox:1.36: 2.0 of 2.0 MB (2 blobs, 1 done)"
    assert pp.parse(b"{torn") is None
    assert pp.parse(b'{"ref": "x"}') is None
    assert pp.parse(b"[]") is None


def test_unknown_total_counts_as_zero():
    doc = pp.parse(pp.render("r", 0, 0, {"sha256:a": (10, 0)}))
    assert (doc["done"], doc["total"]) == (10, 0)


def test_updates_are_throttled_and_close_removes(tmp_path):
    now = [100.0]
    pf = pp.ProgressFile(str(tmp_path / "pulls"), "busybox", clock=lambda: now[0], min_interval=0.5)
    pf.update("sha256:a", 10, 100)
    first = json.loads(open(pf.path, "rb").read())
    assert first["done"] == 10
    now[0] = 100.2
    pf.update("sha256:a", 20, 100)  # too soon: not written
    assert json.loads(open(pf.path, "rb").read())["done"] == 10
    now[0] = 100.8
    pf.update("sha256:b", 5, 50)  # written, with everything seen so far
    doc = json.loads(open(pf.path, "rb").read())
    assert (doc["done"], doc["total"], doc["updated"]) == (25, 150, 100.8)
    assert os.stat(str(tmp_path / "pulls")).st_mode & 0o777 == 0o700
    pf.close()
    assert not os.path.exists(pf.path)
    now[0] = 200.0
    pf.update("sha256:b", 50, 50)  # a late callback after close writes nothing
    assert not os.path.exists(pf.path)
    assert os.listdir(str(tmp_path / "pulls")) == []


def test_concurrent_updates_leave_a_whole_file(tmp_path):
    pf = pp.ProgressFile(str(tmp_path), "r", min_interval=0)

    def run(n):
        for i in range(200):
            pf.update("sha256:%d" % n, i, 200)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert pp.parse(open(pf.path, "rb").read()) is not None
    assert [f for f in os.listdir(str(tmp_path)) if f.endswith(".tmp")] == []
    pf.close()
