"""Manifest/index/config parsing and media type dispatch (pure)."""
import hashlib
import json

import pytest
from gantry.highlevel.errors import DataLoss, InvalidArgument, Unimplemented
from gantry.highlevel.images.registry import manifests as m

DA = "sha256:" + "a" * 64
DB = "sha256:" + "b" * 64
DC = "sha256:" + "c" * 64


def manifest(media_type=m.OCI_MANIFEST, layer_type="application/vnd.oci.image.layer.v1.tar+gzip", **extra):
    doc = {"schemaVersion": 2, "mediaType": media_type,
           "config": {"mediaType": m.OCI_CONFIG, "digest": DA, "size": 10},
           "layers": [{"mediaType": layer_type, "digest": DB, "size": 20, **extra}]}
    return json.dumps(doc).encode()


def index(media_type=m.OCI_INDEX):
    return json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": [
        {"mediaType": m.OCI_MANIFEST, "digest": DC, "size": 5,
         "platform": {"os": "linux", "architecture": "amd64"}}]}).encode()


KINDS = [
    (m.OCI_MANIFEST, manifest(), "manifest", m.OCI_MANIFEST),
    (m.DOCKER_MANIFEST + "; charset=utf-8", manifest(m.DOCKER_MANIFEST), "manifest", m.DOCKER_MANIFEST),
    (m.OCI_INDEX, index(), "index", m.OCI_INDEX),
    (m.DOCKER_MANIFEST_LIST, index(m.DOCKER_MANIFEST_LIST), "index", m.DOCKER_MANIFEST_LIST),
    ("application/json", manifest(m.DOCKER_MANIFEST), "manifest", m.DOCKER_MANIFEST),
    ("", json.dumps({"schemaVersion": 2, "manifests": []}).encode(), "index", m.OCI_INDEX),
    ("application/octet-stream", json.dumps({"schemaVersion": 2, "config": {}, "layers": []}).encode(),
     "manifest", m.OCI_MANIFEST),
]


@pytest.mark.parametrize("content_type,body,kind,media_type", KINDS)
def test_kind_of(content_type, body, kind, media_type):
    got_kind, got_type, doc = m.kind_of(content_type, body)
    assert (got_kind, got_type) == (kind, media_type)
    assert isinstance(doc, dict)


@pytest.mark.parametrize("content_type,body", [
    (m.DOCKER_SCHEMA1_SIGNED, b'{"schemaVersion": 1, "fsLayers": []}'),
    (m.DOCKER_SCHEMA1, b'{"schemaVersion": 1}'),
    ("application/json", b'{"schemaVersion": 1, "name": "x"}'),
])
def test_schema1_refused_clearly(content_type, body):
    with pytest.raises(Unimplemented, match="schema 1.*not supported"):
        m.kind_of(content_type, body)


@pytest.mark.parametrize("content_type,body,error,message", [
    ("application/vnd.foo+json", b"{}", Unimplemented, "unsupported manifest media type"),
    (m.OCI_MANIFEST, b"nope", InvalidArgument, "not valid JSON"),
    (m.OCI_MANIFEST, b"[1]", InvalidArgument, "not a JSON object"),
    (m.OCI_MANIFEST, b" " * (m.MAX_MANIFEST_BYTES + 1), InvalidArgument, "larger than"),
])
def test_kind_of_errors(content_type, body, error, message):
    with pytest.raises(error, match=message):
        m.kind_of(content_type, body)


def test_accept_lists_all_four_types():
    for t in (m.OCI_INDEX, m.DOCKER_MANIFEST_LIST, m.OCI_MANIFEST, m.DOCKER_MANIFEST):
        assert t in m.ACCEPT


def test_parse_manifest_and_layer_kinds():
    _, mt, doc = m.kind_of(m.OCI_MANIFEST, manifest())
    man = m.parse_manifest(doc, mt)
    assert man.config.digest == DA and man.layers[0].digest == DB and man.layers[0].size == 20
    assert m.layer_kind(man.layers[0]) == ("gzip", True)


LAYERS = [
    ("application/vnd.oci.image.layer.v1.tar", (None, True)),
    ("application/vnd.oci.image.layer.v1.tar+zstd", ("zstd", True)),
    ("application/vnd.docker.image.rootfs.diff.tar.gzip", ("gzip", True)),
    ("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", ("gzip", False)),
    ("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", ("gzip", False)),
]


@pytest.mark.parametrize("media_type,kind", LAYERS)
def test_layer_kind(media_type, kind):
    assert m.layer_kind(m.Descriptor(media_type, DB, 1)) == kind


def test_foreign_layer_keeps_urls():
    doc = json.loads(manifest(m.DOCKER_MANIFEST, "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                              urls=["https://example.invalid/layer"]))
    man = m.parse_manifest(doc, m.DOCKER_MANIFEST)
    assert man.layers[0].urls == ("https://example.invalid/layer",)


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["layers"][0].update(mediaType="application/x-tar-lz4"), "unsupported media type"),
    (lambda d: d["layers"][0].update(digest="sha512:" + "0" * 128), "only sha256"),
    (lambda d: d["layers"][0].update(size=-1), "no valid size"),
    (lambda d: d["layers"][0].update(size=True), "no valid size"),
    (lambda d: d["layers"][0].pop("mediaType"), "no mediaType"),
    (lambda d: d["layers"][0].update(urls="http://x"), "urls is not a list"),
    (lambda d: d.update(layers={}), "'layers' is not a list"),
    (lambda d: d.pop("config"), "descriptor is not an object"),
])
def test_parse_manifest_errors(mutate, message):
    doc = json.loads(manifest())
    mutate(doc)
    with pytest.raises((InvalidArgument, Unimplemented), match=message):
        m.parse_manifest(doc, m.OCI_MANIFEST)


def test_parse_index():
    entries = m.parse_index(json.loads(index()))
    assert entries[0].platform == {"os": "linux", "architecture": "amd64"}
    with pytest.raises(InvalidArgument):
        m.parse_index({"manifests": "x"})


def config(diff_ids, rootfs_type="layers"):
    return json.dumps({"architecture": "arm", "os": "linux", "variant": "v7",
                       "rootfs": {"type": rootfs_type, "diff_ids": diff_ids}}).encode()


def test_parse_config():
    c = m.parse_config(config([DA, DB]), 2)
    assert c.diff_ids == (DA, DB) and (c.os, c.architecture, c.variant) == ("linux", "arm", "v7")
    with pytest.raises(InvalidArgument, match="2 diff_ids but the manifest has 3"):
        m.parse_config(config([DA, DB]), 3)
    with pytest.raises(InvalidArgument, match="rootfs.type"):
        m.parse_config(config([DA], "other"), 1)
    with pytest.raises(Unimplemented):
        m.parse_config(config(["md5:00"]), 1)


def test_verify_bytes_and_chain_ids():
    data = b"hello"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert m.verify_bytes(data, digest, "blob", 5) == data
    with pytest.raises(DataLoss, match="digest mismatch"):
        m.verify_bytes(b"hellO", digest, "blob")
    with pytest.raises(DataLoss, match="size 5, expected 6"):
        m.verify_bytes(data, digest, "blob", 6)
    chain = m.chain_ids([DA, DB])
    assert chain[0] == DA
    assert chain[1] == "sha256:" + hashlib.sha256((DA + " " + DB).encode()).hexdigest()


def test_artifact_config_is_not_an_image():
    doc = json.loads(manifest())
    doc["config"]["mediaType"] = "application/vnd.cncf.helm.config.v1+json"
    with pytest.raises(Unimplemented, match="not a container image"):
        m.parse_manifest(doc, m.OCI_MANIFEST)
