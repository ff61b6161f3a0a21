"""imagewrite: config/manifest building (pure) and a new image recorded in a store."""
import json
import os
import shutil

import pytest
from gantry.highlevel import errors
from gantry.highlevel.images import archive, imagewrite, layerwrite
from gantry.highlevel.images.service import ImageService
from gantry.highlevel.images.store import ImageStore

from tests.fixtures import ociimage as oi
from tests.fixtures import treecmp

BASE_CFG = {"architecture": "arm64", "os": "linux", "config": {"Cmd": ["sh"], "Env": ["A=1"]},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64]},
            "history": [{"created_by": "base"}], "created": "2020-01-01T00:00:00Z"}
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64


@pytest.mark.parametrize("base,diffs,history,config,expect", [
    (BASE_CFG, [D2], None, None,
     {"diff_ids": ["sha256:" + "1" * 64, D2], "history_by": ["base", "gantry"], "cmd": ["sh"], "arch": "arm64"}),
    (BASE_CFG, [D2, D3], [{"created_by": "RUN a"}, {"created_by": "ENV x", "empty_layer": True},
                          {"created_by": "RUN b"}], {"Cmd": ["b"]},
     {"diff_ids": ["sha256:" + "1" * 64, D2, D3], "history_by": ["base", "RUN a", "ENV x", "RUN b"], "cmd": ["b"]}),
    (None, [D2], [{"created_by": "COPY"}], {"Cmd": ["/app"]},
     {"diff_ids": [D2], "history_by": ["COPY"], "cmd": ["/app"], "arch": "amd64"}),
    (BASE_CFG, [], [{"created_by": "LABEL a=b", "empty_layer": True}], None,
     {"diff_ids": ["sha256:" + "1" * 64], "history_by": ["base", "LABEL a=b"]}),
])
def test_new_config(base, diffs, history, config, expect):
    cfg = imagewrite.new_config(base, diffs, history, "2024-01-01T00:00:00Z", config)
    assert cfg["rootfs"] == {"type": "layers", "diff_ids": expect["diff_ids"]}
    assert [h.get("created_by") for h in cfg["history"]] == expect["history_by"]
    assert cfg["created"] == "2024-01-01T00:00:00Z"
    assert all("created" in h for h in cfg["history"][len((base or {}).get("history", [])):])
    if "cmd" in expect:
        assert cfg["config"]["Cmd"] == expect["cmd"]
    if "arch" in expect:
        assert cfg["architecture"] == expect["arch"]
    assert BASE_CFG["rootfs"]["diff_ids"] == ["sha256:" + "1" * 64]     # the base is not modified


def test_new_config_history_count_checked():
    with pytest.raises(errors.InvalidArgument, match="1 history entries with a layer for 2 new layers"):
        imagewrite.new_config(BASE_CFG, [D2, D3], [{"created_by": "x"}], "t")


def test_manifest_converts_docker_layer_types():
    man = json.loads(imagewrite.manifest_for(b"{}", [
        (D2, "application/vnd.docker.image.rootfs.diff.tar.gzip", 10),
        (D3, "application/vnd.oci.image.layer.v1.tar+zstd", 20)]))
    assert man["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert man["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    assert [lay["mediaType"] for lay in man["layers"]] == [
        "application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar+zstd"]


@pytest.mark.parametrize("name,out", [
    ("app", "docker.io/library/app:latest"), ("127.0.0.1:5000/x/y:v1", "127.0.0.1:5000/x/y:v1")])
def test_tag_names(name, out):
    assert imagewrite.tag_names([name]) == [(out, "tag")]


def test_tag_names_refuses_digest():
    with pytest.raises(errors.InvalidArgument, match="digest"):
        imagewrite.tag_names(["app@sha256:" + "a" * 64])


@pytest.fixture
def based(tmp_path):
    base = oi.Image([oi.Layer([oi.Dir("etc"), oi.File("etc/a", b"a"), oi.File("etc/b", b"b"),
                               oi.Dir("var"), oi.File("var/old", b"o")])], cmd=["sh"])
    oi.write_layout(str(tmp_path / "layout"), {"v1": base})
    store = ImageStore(str(tmp_path / "root"))
    archive.import_oci_layout(store, str(tmp_path / "layout"), base_name="test.local/base")
    return store, base


def test_store_image_visible_and_reproducible(tmp_path, based):
    store, base = based
    up = tmp_path / "u"
    (up / "etc").mkdir(parents=True)
    (up / "etc" / "c").write_bytes(b"new")
    svc = ImageService(store)
    ids = []
    for name in ("test.local/new:1", "test.local/new:2"):
        with store.lease() as lease:
            blob = layerwrite.store_layer(store, str(up), lease, epoch=1700000000)
            ids.append(imagewrite.store_image(store, base.image_id, [blob], names=[name], lease=lease,
                                              config={"Cmd": ["cat", "/etc/c"]},
                                              history=[{"created_by": "test"}], epoch=1700000000))
    assert ids[0] == ids[1]                                  # same tree, same epoch: same image
    img = svc.image_status("test.local/new:1")
    assert img.id == ids[0] and sorted(img.repo_tags) == ["test.local/new:1", "test.local/new:2"]
    cfg = store.config(ids[0])
    assert cfg["rootfs"]["diff_ids"] == [base.layers[0].diff_id, blob.diff_id]
    assert cfg["config"]["Cmd"] == ["cat", "/etc/c"] and cfg["created"] == "2023-11-14T22:13:20Z"
    rec = store.meta.get_image(ids[0])
    assert [lay.digest for lay in rec.layers] == [base.layers[0].digest, blob.digest]
    assert store.snapshots.exists(rec.layers[-1].chain_id)
    store.gc()
    assert store.content.exists(blob.digest) and store.content.exists(rec.manifest_digest)
    imagewrite.tag(store, ids[0], ["test.local/other:x"])
    assert "test.local/other:x" in svc.image_status(ids[0]).repo_tags


def test_store_image_missing_base(tmp_path):
    store = ImageStore(str(tmp_path / "root"))
    with pytest.raises(errors.NotFound, match="base image"):
        imagewrite.store_image(store, "sha256:" + "0" * 64, [], names=["x:1"])


@pytest.mark.root
@pytest.mark.skipif(shutil.which("umoci") is None, reason="umoci not installed")
def test_exported_image_unpacks_with_umoci(tmp_path, based):
    store, base = based
    up = tmp_path / "u"
    (up / "etc").mkdir(parents=True)
    (up / "etc" / "c").write_bytes(b"new")
    os.mknod(up / "etc" / "a", 0o020000, 0)              # whiteout of etc/a
    (up / "var").mkdir()
    os.setxattr(up / "var", "trusted.overlay.opaque", b"y")
    (up / "var" / "fresh").write_bytes(b"f")
    with store.lease() as lease:
        blob = layerwrite.store_layer(store, str(up), lease)
        iid = imagewrite.store_image(store, base.image_id, [blob], names=["test.local/new:1"], lease=lease)
    archive.export_oci_layout(ImageService(store), ["test.local/new:1"], str(tmp_path / "out"))
    rootfs = treecmp.umoci_unpack(str(tmp_path / "out"), "1", str(tmp_path / "umoci"))
    got = treecmp.snapshot(rootfs)
    assert sorted(got) == ["etc", "etc/b", "etc/c", "var", "var/fresh"]
    assert open(os.path.join(rootfs, "etc/c"), "rb").read() == b"new"
    assert iid == store.meta.image_id_by_name("test.local/new:1")
