"""Push to a real docker-registry (distribution 2.8) on 127.0.0.1: monolithic and chunked uploads, blobs
skipped on a second push, cross-repository mount, basic and token auth; read back with skopeo inspect
and pulled again by a fresh store."""
import json
import os
import shutil
import subprocess

import pytest
from gantry.highlevel import errors
from gantry.highlevel.images import archive, imagewrite, layerwrite
from gantry.highlevel.images.push import Pusher
from gantry.highlevel.images.registry.transport import Retry

from tests.fixtures import ociimage as oi

from .pullhelpers import hosts_dir, loopback_names_only, new_store, puller, small_image  # noqa: F401

FAST_RETRY = Retry(attempts=3, base=0.05, cap=0.5)
needs_skopeo = pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo not installed")


def local_image(tmp_path, store, name, size=300_000, tag="x"):
    """An image in ``store`` named ``name`` (imported from an OCI layout)."""
    img = small_image(tag=tag, size=size)
    layout = str(tmp_path / ("layout-" + tag))
    oi.write_layout(layout, {"v1": img})
    [(image_id, _names)] = archive.import_oci_layout(store, layout, base_name=name.rsplit(":", 1)[0])
    imagewrite.tag(store, image_id, [name])
    return img


def skopeo_inspect(reg, ref, raw=False):
    args = ["skopeo", "inspect"] + (["--raw"] if raw else []) + \
        [a.replace("--src-", "--") for a in reg.skopeo_src_args()] + ["docker://%s/%s" % (reg.host, ref)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def pusher(reg, tmp_path, **kw):
    config = hosts_dir(tmp_path, reg.host, reg.url, ca=reg.ca)
    return Pusher(registry_config_dir=config, retry=FAST_RETRY, **kw), config


def creds(reg):
    return {"username": reg.creds[0], "password": reg.creds[1]} if reg.creds else None


@needs_skopeo
def test_push_read_back_skip_and_pull(tls_registry, tmp_path):
    store = new_store(tmp_path)
    name = "%s/push/mono:v1" % tls_registry.host
    img = local_image(tmp_path, store, name)
    p, config = pusher(tls_registry, tmp_path)
    events = []
    first = p.push(store, name, progress=events.append)
    assert first.digest == img.manifest_digest                      # the stored bytes, unchanged
    assert sorted(first.uploaded) == sorted([lay.digest for lay in img.layers] + [img.config_digest])
    assert first.skipped == [] and first.mounted == []
    assert {e["status"] for e in events} >= {"uploading", "pushed", "manifest"}
    seen = skopeo_inspect(tls_registry, "push/mono:v1")
    assert seen["Digest"] == img.manifest_digest
    assert seen["Layers"] == [lay.digest for lay in img.layers]
    assert tls_registry.manifest_digest("push/mono", "v1") == img.manifest_digest
    # the pushed name is a repo digest of the local image now
    assert store.meta.image_id_by_name("%s/push/mono@%s" % (tls_registry.host, img.manifest_digest)) == img.image_id

    second = p.push(store, name)
    assert second.uploaded == [] and len(second.skipped) == 3
    assert second.requests == 3                                     # one HEAD per blob

    fresh = new_store(tmp_path, "fresh")
    result = puller(config).pull(fresh, name)
    assert result.image_id == img.image_id and result.manifest_digest == img.manifest_digest


def test_chunked_upload(tls_registry, tmp_path):
    store = new_store(tmp_path)
    name = "%s/push/chunked:v1" % tls_registry.host
    img = local_image(tmp_path, store, name, size=1_000_000, tag="chunky")
    p, config = pusher(tls_registry, tmp_path, chunk_size=64 * 1024)
    result = p.push(store, name)
    big = max(img.layers, key=lambda lay: lay.size)
    assert big.size > 10 * 64 * 1024
    # HEAD + POST + one PATCH per chunk + PUT for the big layer alone
    assert result.requests >= 3 + -(-big.size // (64 * 1024))
    fresh = new_store(tmp_path, "fresh")
    assert puller(config).pull(fresh, name).image_id == img.image_id
    with open(tls_registry.blob_path(big.digest), "rb") as f:
        assert f.read() == big.blob


def test_cross_repository_mount(registry, tmp_path):
    store = new_store(tmp_path)
    src = "%s/push/source:v1" % registry.host
    img = local_image(tmp_path, store, src, tag="mnt")
    p, _ = pusher(registry, tmp_path)
    p.push(store, src)
    imagewrite.tag(store, img.image_id, ["%s/push/other:v2" % registry.host])
    result = p.push(store, "%s/push/other:v2" % registry.host)
    assert sorted(result.mounted) == sorted([lay.digest for lay in img.layers] + [img.config_digest])
    assert result.uploaded == []
    assert registry.manifest_digest("push/other", "v2") == img.manifest_digest


def test_push_to_another_name(registry, tmp_path):
    store = new_store(tmp_path)
    local = "%s/push/local:v1" % registry.host
    img = local_image(tmp_path, store, local, tag="retag")
    p, _ = pusher(registry, tmp_path)
    result = p.push(store, local, target="%s/push/renamed:r1" % registry.host)
    assert result.name == "%s/push/renamed:r1" % registry.host
    assert registry.manifest_digest("push/renamed", "r1") == img.manifest_digest


@pytest.mark.parametrize("kind", ["basic", "token"])
def test_push_with_auth(basic_auth_registry, token_registry, tmp_path, kind):
    reg = basic_auth_registry if kind == "basic" else token_registry
    store = new_store(tmp_path)
    name = "%s/push/auth-%s:v1" % (reg.host, kind)
    img = local_image(tmp_path, store, name, tag="auth" + kind)
    p, _ = pusher(reg, tmp_path, chunk_size=128 * 1024)
    with pytest.raises(errors.Unauthenticated):
        p.push(store, name)
    result = p.push(store, name, auth=creds(reg))
    assert result.digest == img.manifest_digest
    assert reg.manifest_digest("push/auth-%s" % kind, "v1") == img.manifest_digest
    if kind == "token":
        scopes = [s for r in reg.token_server.requests for s in r.scopes]
        assert "repository:push/auth-token:pull,push" in scopes


def test_push_a_committed_image(registry, tmp_path):
    """An image made here (layerwrite + imagewrite) goes out and comes back with the same id."""
    store = new_store(tmp_path)
    base_name = "%s/push/base:v1" % registry.host
    base = local_image(tmp_path, store, base_name, tag="base")
    up = tmp_path / "upper"
    (up / "etc").mkdir(parents=True)
    (up / "etc" / "made-here").write_bytes(b"hello")
    name = "%s/push/made:v1" % registry.host
    with store.lease() as lease:
        blob = layerwrite.store_layer(store, str(up), lease, compression="zstd")
        image_id = imagewrite.store_image(store, base.image_id, [blob], names=[name], lease=lease)
    p, config = pusher(registry, tmp_path)
    p.push(store, base_name)
    result = p.push(store, name)
    assert result.uploaded == [blob.digest, image_id] or sorted(result.uploaded) == sorted([blob.digest, image_id])
    assert len(result.mounted) == 2                   # the base's layers, from push/base
    fresh = new_store(tmp_path, "fresh")
    pulled = puller(config).pull(fresh, name)
    assert pulled.image_id == image_id
    top = fresh.meta.get_image(image_id).layers[-1].chain_id
    assert open(os.path.join(fresh.snapshots.fs_path(top), "etc", "made-here"), "rb").read() == b"hello"


def test_push_errors(registry, tmp_path):
    store = new_store(tmp_path)
    p, _ = pusher(registry, tmp_path)
    with pytest.raises(errors.NotFound, match="no such image"):
        p.push(store, "%s/push/absent:v1" % registry.host)
    local_image(tmp_path, store, "%s/push/e:v1" % registry.host, tag="err")
    with pytest.raises(errors.InvalidArgument, match="not a digest"):
        p.push(store, "%s/push/e:v1" % registry.host, target="%s/push/e@sha256:%s" % (registry.host, "a" * 64))


def test_tls_verify_false(tls_registry, tmp_path):
    """No hosts.toml and no CA: the certificate is refused, unless tls_verify=False (podman's flag)."""
    store = new_store(tmp_path)
    name = "%s/push/insecure:v1" % tls_registry.host
    img = local_image(tmp_path, store, name, tag="insecure")
    p = Pusher(registry_config_dir=str(tmp_path / "empty-certs"), retry=FAST_RETRY)
    with pytest.raises(errors.GantryError, match="CERTIFICATE_VERIFY_FAILED|certificate"):
        p.push(store, name)
    assert p.push(store, name, tls_verify=False).digest == img.manifest_digest
