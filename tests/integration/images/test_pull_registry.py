"""Pulls from a real docker-registry on 127.0.0.1: plain HTTP, TLS, basic auth, token auth, media types."""
import os

import pytest
from gantry.highlevel.errors import NotFound, Unauthenticated
from gantry.highlevel.images.registry.auth import Credentials
from gantry.highlevel.images.registry.manifests import chain_ids

from tests.fixtures import ociimage as oi

from .pullhelpers import hosts_dir, loopback_names_only, new_store, puller, small_image, snapshot_file  # noqa: F401


def assert_pulled(store, result, img, name):
    assert result.image_id == img.config_digest
    assert result.manifest_digest == img.manifest_digest
    chains = chain_ids([layer.diff_id for layer in img.layers])
    for layer in img.layers:
        assert store.content.exists(layer.digest)
        assert store.content.info(layer.digest).size == layer.size
    assert store.content.exists(img.config_digest) and store.content.exists(img.manifest_digest)
    for chain in chains:
        assert store.snapshots.exists(chain)
    with open(snapshot_file(store, chains[0], "etc/os-release"), "rb") as f:
        assert f.read() == b"NAME=test\n"
    assert os.readlink(snapshot_file(store, chains[1], "data/link")) == "tag"
    assert os.stat(snapshot_file(store, chains[0], "bin/tool")).st_mode & 0o777 == 0o755
    assert store.meta.image_id_by_name(name) == img.config_digest
    assert store.content.ingests() == []


def test_anonymous_plain_http_with_hosts_toml(registry, tmp_path):
    img = small_image("plain")
    registry.push_image(img, "pull/plain", "v1")
    config = hosts_dir(tmp_path, registry.host, registry.url)
    store = new_store(tmp_path)
    seen = []
    result = puller(config).pull(store, "%s/pull/plain:v1" % registry.host,
                                 progress=lambda d, done, total: seen.append((d, done, total)))
    assert_pulled(store, result, img, "%s/pull/plain:v1" % registry.host)
    assert "%s/pull/plain@%s" % (registry.host, img.manifest_digest) in result.names
    # progress reached every layer's full size
    for layer in img.layers:
        assert (layer.digest, layer.size, layer.size) in seen


def test_default_endpoints_fall_back_to_plain_http_for_loopback(registry, tmp_path):
    img = small_image("fallback")
    registry.push_image(img, "pull/fallback", "v1")
    store = new_store(tmp_path)
    result = puller(None).pull(store, "%s/pull/fallback:v1" % registry.host)
    assert result.image_id == img.config_digest


def test_pull_by_digest_and_again_is_idempotent(registry, tmp_path):
    img = small_image("bydigest")
    registry.push_image(img, "pull/bydigest", "v1")
    config = hosts_dir(tmp_path, registry.host, registry.url)
    store = new_store(tmp_path)
    p = puller(config)
    ref = "%s/pull/bydigest@%s" % (registry.host, img.manifest_digest)
    first = p.pull(store, ref)
    second = p.pull(store, ref)
    assert first.image_id == second.image_id == img.config_digest
    assert first.names == ["%s/pull/bydigest@%s" % (registry.host, img.manifest_digest)]


def test_unknown_tag_is_not_found(registry, tmp_path):
    config = hosts_dir(tmp_path, registry.host, registry.url)
    with pytest.raises(NotFound, match="manifest unknown"):
        puller(config).pull(new_store(tmp_path), "%s/pull/nothing:v9" % registry.host)


def test_tls_with_ca_from_hosts_toml(tls_registry, tmp_path):
    img = small_image("tls")
    tls_registry.push_image(img, "pull/tls", "v1")
    config = hosts_dir(tmp_path, tls_registry.host, tls_registry.url, ca=tls_registry.ca)
    store = new_store(tmp_path)
    assert_pulled(store, puller(config).pull(store, "%s/pull/tls:v1" % tls_registry.host), img,
                  "%s/pull/tls:v1" % tls_registry.host)


def test_tls_untrusted_ca_fails_clearly_and_skip_verify_works(tls_registry, tmp_path):
    img = small_image("tls-skip")
    tls_registry.push_image(img, "pull/tlsskip", "v1")
    ref = "%s/pull/tlsskip:v1" % tls_registry.host
    config = hosts_dir(tmp_path, tls_registry.host, tls_registry.url)
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        puller(config).pull(new_store(tmp_path, "a"), ref)
    config = hosts_dir(tmp_path, tls_registry.host, tls_registry.url, skip_verify=True)
    assert puller(config).pull(new_store(tmp_path, "b"), ref).image_id == img.config_digest


def test_basic_auth_over_tls(basic_auth_registry, tmp_path):
    reg = basic_auth_registry
    img = small_image("basic")
    reg.push_image(img, "pull/basic", "v1")
    config = hosts_dir(tmp_path, reg.host, reg.url, ca=reg.ca)
    ref = "%s/pull/basic:v1" % reg.host
    with pytest.raises(Unauthenticated, match="username and password"):
        puller(config).pull(new_store(tmp_path, "anon"), ref)
    with pytest.raises(Unauthenticated, match="refused"):
        puller(config).pull(new_store(tmp_path, "wrong"), ref, auth=Credentials(reg.creds[0], "wrong"))
    store = new_store(tmp_path)
    result = puller(config).pull(store, ref, auth={"username": reg.creds[0], "password": reg.creds[1]})
    assert_pulled(store, result, img, ref)


def test_token_auth_over_tls(token_registry, tmp_path):
    reg = token_registry
    img = small_image("token")
    reg.push_image(img, "pull/token", "v1")
    config = hosts_dir(tmp_path, reg.host, reg.url, ca=reg.ca)
    ref = "%s/pull/token:v1" % reg.host
    with pytest.raises(Unauthenticated):
        puller(config).pull(new_store(tmp_path, "anon"), ref)
    before = len(reg.token_server.requests)
    store = new_store(tmp_path)
    p = puller(config)
    result = p.pull(store, ref, auth=Credentials(*reg.creds))
    assert_pulled(store, result, img, ref)
    mine = reg.token_server.requests[before:]
    assert mine and all(r.user == reg.creds[0] for r in mine)
    assert any("repository:pull/token:pull" in " ".join(r.scopes) for r in mine)
    # the token is cached per scope: a second pull asks the token server nothing
    count = len(reg.token_server.requests)
    p.pull(new_store(tmp_path, "again"), ref, auth=Credentials(*reg.creds))
    assert len(reg.token_server.requests) == count


def test_token_auth_with_identity_token(token_registry, tmp_path):
    reg = token_registry
    img = small_image("identity")
    reg.push_image(img, "pull/identity", "v1")
    refresh = "identity-" + tmp_path.name
    reg.token_server.refresh_tokens[refresh] = reg.creds[0]  # as if a login had handed it out
    config = hosts_dir(tmp_path, reg.host, reg.url, ca=reg.ca)
    store = new_store(tmp_path)
    before = len(reg.token_server.requests)
    result = puller(config).pull(store, "%s/pull/identity:v1" % reg.host, auth=Credentials(identity_token=refresh))
    assert result.image_id == img.config_digest
    mine = reg.token_server.requests[before:]
    assert mine and all(r.grant_type == "refresh_token" and r.user == reg.creds[0] for r in mine)
    with pytest.raises(Unauthenticated, match="refused"):
        puller(config).pull(new_store(tmp_path, "bad"), "%s/pull/identity:v1" % reg.host,
                            auth=Credentials(identity_token="not-a-token"))


def test_registry_token_from_auth_config_is_sent_as_bearer(token_registry, tmp_path):
    reg = token_registry
    img = small_image("regtoken")
    reg.push_image(img, "pull/regtoken", "v1")
    token = reg.token_server.issue(reg.creds[0], ["repository:pull/regtoken:pull"])
    config = hosts_dir(tmp_path, reg.host, reg.url, ca=reg.ca)
    before = len(reg.token_server.requests)
    result = puller(config).pull(new_store(tmp_path), "%s/pull/regtoken:v1" % reg.host,
                                 auth={"registry_token": token})
    assert result.image_id == img.config_digest
    assert len(reg.token_server.requests) == before  # never asked the token server


@pytest.mark.parametrize("flavour,compression", [
    ("oci", "gzip"), ("oci", "zstd"), ("oci", "none"), ("docker", "gzip"), ("docker", "none"), ("docker", "zstd"),
])
def test_media_types_and_compressions(registry, tmp_path, flavour, compression):
    img = small_image("mt-%s-%s" % (flavour, compression), compression=compression, flavour=flavour)
    name = "pull/mt-%s-%s" % (flavour, compression)
    registry.push_image(img, name, "v1")
    config = hosts_dir(tmp_path, registry.host, registry.url)
    store = new_store(tmp_path)
    result = puller(config).pull(store, "%s/%s:v1" % (registry.host, name))
    assert_pulled(store, result, img, "%s/%s:v1" % (registry.host, name))
    assert store.meta.get_image(result.image_id).manifest_media_type == img.media_type


@pytest.mark.parametrize("flavour", ["oci", "docker"])
def test_multi_arch_index_selects_platform_and_skips_attestations(registry, tmp_path, flavour):
    amd = small_image("amd64-" + flavour, flavour=flavour, arch="amd64")
    arm = small_image("arm64-" + flavour, flavour=flavour, arch="arm64", variant="v8")
    armv7 = small_image("armv7-" + flavour, flavour=flavour, arch="arm", variant="v7")
    index = oi.Index([arm, armv7, amd], flavour=flavour, attestation=True)
    name = "pull/multi-" + flavour
    registry.push_image(index, name, "v1")
    config = hosts_dir(tmp_path, registry.host, registry.url)
    ref = "%s/%s:v1" % (registry.host, name)
    for platform, img in (("linux/amd64", amd), ("linux/arm64", arm), ("linux/arm/v7", armv7)):
        from gantry.highlevel.images.registry import platforms
        store = new_store(tmp_path, platform.replace("/", "-"))
        result = puller(config).pull(store, ref, platform=platforms.parse(platform))
        assert result.image_id == img.config_digest, platform
        assert result.index_digest == index.manifest_digest
        assert store.content.exists(index.manifest_digest)
    with pytest.raises(NotFound, match="no image for platform linux/s390x.*linux/amd64"):
        puller(config).pull(new_store(tmp_path, "s390x"), ref, platform=platforms.parse("linux/s390x"))


