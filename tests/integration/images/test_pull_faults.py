"""Pulls through a fault-injecting proxy in front of a real docker-registry: drops, stalls, 5xx, mirrors,
redirects, corruption, concurrent pulls, non-distributable layers."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from gantry.highlevel.errors import DataLoss, DeadlineExceeded, Unimplemented
from gantry.highlevel.images.registry.auth import Credentials
from gantry.highlevel.images.registry.manifests import chain_ids

from tests.fixtures import ociimage as oi
from tests.fixtures.faultproxy import BlobHost
from tests.fixtures.registry import free_port

from .pullhelpers import hosts_dir, loopback_names_only, new_store, puller, small_image  # noqa: F401

BIG = 3_000_000


def blob_gets(proxy, digest):
    return [r for r in proxy.requests if r.method == "GET" and r.path.split("?")[0].endswith("/blobs/" + digest)]


def big_image(tag, compression="gzip"):
    return small_image(tag, compression=compression, size=BIG)


def test_dropped_connection_mid_blob_resumes_with_range(registry, fault_proxy, tmp_path):
    img = big_image("drop", compression="none")
    registry.push_image(img, "faults/drop", "v1")
    proxy = fault_proxy(registry)
    big = img.layers[1]
    proxy.drop_after(1_000_000, pattern="/blobs/" + big.digest)
    config = hosts_dir(tmp_path, proxy.host, proxy.url)
    store = new_store(tmp_path)
    result = puller(config).pull(store, "%s/faults/drop:v1" % proxy.host)
    assert result.image_id == img.config_digest
    gets = blob_gets(proxy, big.digest)
    assert len(gets) == 2, gets
    assert "Range" not in gets[0].headers and gets[0].fault == "drop"
    start = int(gets[1].headers["Range"].split("=")[1].rstrip("-"))
    assert 0 < start <= 1_000_000 and gets[1].status == 206
    assert store.content.info(big.digest).size == big.size
    assert store.snapshots.exists(chain_ids([lay.diff_id for lay in img.layers])[1])


def test_stalled_registry_is_cancelled_with_a_clear_error_then_resumes(registry, fault_proxy, tmp_path):
    img = big_image("stall", compression="none")
    registry.push_image(img, "faults/stall", "v1")
    proxy = fault_proxy(registry)
    big = img.layers[1]
    proxy.stall_after(800_000, seconds=30, pattern="/blobs/" + big.digest)
    config = hosts_dir(tmp_path, proxy.host, proxy.url)
    store = new_store(tmp_path)
    ref = "%s/faults/stall:v1" % proxy.host
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as err:
        puller(config, stall_timeout=1.0).pull(store, ref)
    elapsed = time.monotonic() - started
    assert elapsed < 6, elapsed
    message = str(err.value)
    assert big.digest in message and "stall" in message and ref in message
    assert store.meta.image_id_by_name(ref) is None
    # the partial ingest is kept; the next pull resumes it with Range instead of starting again
    assert store.content.ingests()
    proxy.clear()
    result = puller(config).pull(store, ref)
    assert result.image_id == img.config_digest
    last = blob_gets(proxy, big.digest)[-1]
    assert last.headers.get("Range", "").startswith("bytes=") and last.status == 206
    assert int(last.headers["Range"][6:].rstrip("-")) >= 700_000
    assert store.content.ingests() == []


def test_stalled_manifest_request_is_cancelled(registry, fault_proxy, tmp_path):
    img = small_image("stall-manifest")
    registry.push_image(img, "faults/stallmanifest", "v1")
    proxy = fault_proxy(registry)
    proxy.delay(30, pattern="/manifests/")
    config = hosts_dir(tmp_path, proxy.host, proxy.url)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="no answer for 1.0s"):
        puller(config, stall_timeout=1.0).pull(new_store(tmp_path), "%s/faults/stallmanifest:v1" % proxy.host)
    assert time.monotonic() - started < 5


def test_server_errors_are_retried_with_backoff(registry, fault_proxy, tmp_path):
    img = small_image("retry")
    registry.push_image(img, "faults/retry", "v1")
    proxy = fault_proxy(registry)
    proxy.fail(503, count=2, pattern="/manifests/")
    proxy.fail(429, count=1, pattern="/blobs/", retry_after="0")
    config = hosts_dir(tmp_path, proxy.host, proxy.url)
    result = puller(config).pull(new_store(tmp_path), "%s/faults/retry:v1" % proxy.host)
    assert result.image_id == img.config_digest
    statuses = [r.status for r in proxy.requests]
    assert statuses.count(503) == 2 and statuses.count(429) == 1


def test_persistent_server_errors_give_unavailable(registry, fault_proxy, tmp_path):
    from gantry.highlevel.errors import Unavailable
    proxy = fault_proxy(registry)
    proxy.fail(500, count=None)
    config = hosts_dir(tmp_path, proxy.host, proxy.url)
    with pytest.raises(Unavailable, match="HTTP 500.*after 4 attempts"):
        puller(config).pull(new_store(tmp_path), "%s/faults/never:v1" % proxy.host)


def test_mirrors_that_fail_fall_back_to_the_next_endpoint(registry, fault_proxy, tmp_path):
    img = small_image("mirror")
    registry.push_image(img, "faults/mirror", "v1")
    dead = "http://127.0.0.1:%d" % free_port()          # nothing listens there
    broken = fault_proxy(registry)
    broken.fail(500, count=None)                          # a mirror answering 500 to everything
    missing = fault_proxy(registry)
    missing.fail(404, count=None, pattern="/manifests/")  # a mirror without the image
    good = fault_proxy(registry)
    domain = "registry.invalid:5000"  # never contacted: the hosts.toml server is the good proxy
    config = hosts_dir(tmp_path, domain, good.url, mirrors=[dead, broken.url, missing.url])
    store = new_store(tmp_path)
    started = time.monotonic()
    result = puller(config).pull(store, "%s/faults/mirror:v1" % domain)
    assert result.image_id == img.config_digest
    assert time.monotonic() - started < 10
    assert broken.requests and missing.requests and good.requests
    # mirrors are asked with ?ns=<domain>; the server is not
    assert all("ns=registry.invalid%3A5000" in r.path for r in broken.requests + missing.requests)
    assert not any("ns=" in r.path for r in good.requests)
    assert store.meta.image_id_by_name("%s/faults/mirror:v1" % domain) == img.config_digest


def test_working_mirror_serves_everything(registry, fault_proxy, tmp_path):
    img = small_image("mirror-ok")
    registry.push_image(img, "faults/mirrorok", "v1")
    mirror = fault_proxy(registry)
    upstream = fault_proxy(registry)
    config = hosts_dir(tmp_path, upstream.host, upstream.url, mirrors=[mirror.url])
    result = puller(config).pull(new_store(tmp_path), "%s/faults/mirrorok:v1" % upstream.host)
    assert result.image_id == img.config_digest
    assert len(blob_gets(mirror, img.layers[0].digest)) == 1
    assert not any("/blobs/" in r.path or "/manifests/" in r.path for r in upstream.requests)


def test_stalled_mirror_falls_back_to_the_server_from_where_it_stopped(registry, fault_proxy, tmp_path):
    img = big_image("stall-mirror", compression="none")
    registry.push_image(img, "faults/stallmirror", "v1")
    big = img.layers[1]
    mirror = fault_proxy(registry)
    mirror.stall_after(800_000, seconds=30, pattern="/blobs/" + big.digest)
    upstream = fault_proxy(registry)
    config = hosts_dir(tmp_path, upstream.host, upstream.url, mirrors=[mirror.url])
    store = new_store(tmp_path)
    started = time.monotonic()
    result = puller(config, stall_timeout=1.0).pull(store, "%s/faults/stallmirror:v1" % upstream.host)
    assert result.image_id == img.config_digest
    assert time.monotonic() - started < 8
    assert [g.fault for g in blob_gets(mirror, big.digest)] == ["stall"]
    rest = blob_gets(upstream, big.digest)
    assert len(rest) == 1 and rest[0].status == 206   # the server sends only what the mirror did not
    assert int(rest[0].headers["Range"][6:].rstrip("-")) >= 700_000
    assert store.content.info(big.digest).size == big.size and store.content.ingests() == []


def test_every_endpoint_stalling_ends_the_pull_after_one_timeout_each(registry, fault_proxy, tmp_path):
    img = big_image("stall-all", compression="none")
    registry.push_image(img, "faults/stallall", "v1")
    big = img.layers[1]
    mirror, upstream = fault_proxy(registry), fault_proxy(registry)
    for proxy in (mirror, upstream):
        proxy.stall_after(400_000, seconds=30, pattern="/blobs/" + big.digest)
    config = hosts_dir(tmp_path, upstream.host, upstream.url, mirrors=[mirror.url])
    ref = "%s/faults/stallall:v1" % upstream.host
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as err:
        puller(config, stall_timeout=1.0).pull(new_store(tmp_path), ref)
    assert time.monotonic() - started < 8
    message = str(err.value)
    assert ref in message and big.digest in message and "stall" in message
    assert upstream.url in message and mirror.url in message      # where it stalled, both times
    assert [g.fault for g in blob_gets(mirror, big.digest)] == ["stall"]
    assert [g.fault for g in blob_gets(upstream, big.digest)] == ["stall"]


def test_redirect_to_another_host_does_not_leak_authorization(basic_auth_registry, fault_proxy, tmp_path):
    reg = basic_auth_registry
    img = small_image("redirect")
    reg.push_image(img, "faults/redirect", "v1")
    proxy = fault_proxy(reg)
    proxy.redirect_blobs()
    config = hosts_dir(tmp_path, proxy.host, proxy.url)
    store = new_store(tmp_path)
    result = puller(config).pull(store, "%s/faults/redirect:v1" % proxy.host, auth=Credentials(*reg.creds))
    assert result.image_id == img.config_digest
    assert any(r.headers.get("Authorization") for r in proxy.requests)  # the registry got credentials
    hits = proxy.blob_host.requests
    assert len(hits) >= len(img.layers) + 1  # layers and config came from the other host
    assert all(r.status == 200 and "Authorization" not in r.headers for r in hits)


def test_corrupt_blob_is_data_loss_and_nothing_is_kept(registry, fault_proxy, tmp_path):
    img = big_image("corrupt")
    registry.push_image(img, "faults/corrupt", "v1")
    proxy = fault_proxy(registry)
    big = img.layers[1]
    proxy.corrupt_at(5000, pattern="/blobs/" + big.digest)
    config = hosts_dir(tmp_path, proxy.host, proxy.url)
    store = new_store(tmp_path)
    p = puller(config)
    with pytest.raises(DataLoss, match=big.digest):
        p.pull(store, "%s/faults/corrupt:v1" % proxy.host)
    assert p.idle(30)
    assert not store.content.exists(big.digest)
    assert store.content.ingests() == []
    assert not any(s.key.startswith("extract-") for s in store.snapshots.walk())


def test_concurrent_pulls_share_one_download(registry, fault_proxy, tmp_path):
    img = big_image("concurrent")
    registry.push_image(img, "faults/concurrent", "v1")
    proxy = fault_proxy(registry)
    proxy.throttle(6_000_000)  # slow enough that the pulls overlap
    config = hosts_dir(tmp_path, proxy.host, proxy.url)
    store = new_store(tmp_path)
    p = puller(config)
    results, errors = [], []

    def run():
        try:
            results.append(p.pull(store, "%s/faults/concurrent:v1" % proxy.host).image_id)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert results == [img.config_digest] * 3
    for layer in img.layers:
        assert len(blob_gets(proxy, layer.digest)) == 1


def test_non_distributable_layer_is_fetched_from_its_urls(registry, tmp_path):
    host = BlobHost()
    try:
        foreign = oi.Layer([oi.File("licensed", b"not redistributable\n")], "gzip",
                           media_type=oi.OCI_LAYER_NONDIST_GZIP)
        foreign.urls = [host.publish(foreign.blob, path="/layers/" + foreign.digest)]
        base = oi.Layer([oi.Dir("etc"), oi.File("etc/os-release", b"NAME=test\n")])
        img = oi.Image([base, foreign])
        registry.push_image(img, "faults/foreign", "v1")
        config = hosts_dir(tmp_path, registry.host, registry.url)
        store = new_store(tmp_path)
        result = puller(config).pull(store, "%s/faults/foreign:v1" % registry.host)
        assert result.image_id == img.config_digest
        assert store.content.exists(foreign.digest)
        assert [r.status for r in host.requests] == [200]
    finally:
        host.stop()


class _FakeRegistry:
    """A tiny registry that serves one manifest as given (for formats docker-registry will not store)."""

    def __init__(self, body, content_type):
        owner = self
        self.requests = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.requests.append(self.path)
                data, ctype = (b"{}", "application/json") if self.path == "/v2/" else (body, content_type)
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = "127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_schema1_manifest_is_refused_clearly(tmp_path):
    body = json.dumps({"schemaVersion": 1, "name": "old/app", "tag": "v1", "fsLayers": []}).encode()
    fake = _FakeRegistry(body, "application/vnd.docker.distribution.manifest.v1+prettyjws")
    try:
        config = hosts_dir(tmp_path, fake.host, "http://" + fake.host)
        with pytest.raises(Unimplemented, match="schema 1.*not supported"):
            puller(config).pull(new_store(tmp_path), "%s/old/app:v1" % fake.host)
    finally:
        fake.stop()


def test_hosts_toml_headers_reach_the_registry(registry, fault_proxy, tmp_path):
    img = small_image("headers")
    registry.push_image(img, "faults/headers", "v1")
    proxy = fault_proxy(registry)
    config = hosts_dir(tmp_path, proxy.host, proxy.url)
    with open("%s/%s/hosts.toml" % (config, proxy.host), "a") as f:
        f.write('[header]\n  x-gantry-test = ["one", "two"]\n')
    puller(config).pull(new_store(tmp_path), "%s/faults/headers:v1" % proxy.host)
    gets = [r for r in proxy.requests if r.method == "GET"]
    assert gets and all(r.headers.get("x-gantry-test") == "one, two" for r in gets)



def test_progress_of_pulls_in_flight_is_visible(registry, fault_proxy, tmp_path):
    # the big layer first: it takes the free unpack lane and streams (pull.py's lane; a layer that
    # finds the lane busy is unpacked from the stored blob instead)
    small, big = big_image("progress").layers
    img = oi.Image([big, small], cmd=["/bin/tool"])
    registry.push_image(img, "faults/progress", "v1")
    proxy = fault_proxy(registry)
    proxy.throttle(4_000_000)
    config = hosts_dir(tmp_path, proxy.host, proxy.url)
    p = puller(config, max_concurrent_downloads=1)   # the big layer's download starts first
    ref = "%s/faults/progress:v1" % proxy.host
    snapshots, done = [], threading.Event()

    def run():
        try:
            p.pull(store, ref)
        finally:
            done.set()

    store = new_store(tmp_path, "watched")
    extracting_while_downloading = []
    t = threading.Thread(target=run)
    t.start()
    while not done.wait(0.05):
        now = p.active()
        snapshots.append(now)
        big_done = now.get(ref, {}).get(big.digest, (0, 1))
        if 0 < big_done[0] < big_done[1]:
            extracting_while_downloading.append(
                any(s.key.startswith("extract-") for s in store.snapshots.walk()))
    t.join()
    partial = [s[ref][big.digest] for s in snapshots if ref in s and big.digest in s[ref]]
    assert partial and any(0 < d < big.size for d, _ in partial)
    assert all(total == big.size for _, total in partial)
    assert p.active() == {}
    # layers unpack as they arrive: an extraction is under way before the big blob is complete
    assert any(extracting_while_downloading)


def test_mirror_that_never_answers_the_tls_handshake_falls_back(registry, tmp_path):
    import socket
    img = small_image("silent-mirror")
    registry.push_image(img, "faults/silentmirror", "v1")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections (the kernel does), never says a word
    try:
        mirror = "https://127.0.0.1:%d" % silent.getsockname()[1]
        config = hosts_dir(tmp_path, registry.host, registry.url, mirrors=[mirror])
        started = time.monotonic()
        result = puller(config, stall_timeout=1.0).pull(new_store(tmp_path), "%s/faults/silentmirror:v1" % registry.host)
        assert result.image_id == img.config_digest
        assert time.monotonic() - started < 5
    finally:
        silent.close()


PULL_CHILD = r"""
import sys
from gantry.highlevel.images.pull import Puller
from gantry.highlevel.images.store import ImageStore
Puller(registry_config_dir=sys.argv[2]).pull(ImageStore(sys.argv[1]), sys.argv[3])
"""


def test_pull_killed_mid_blob_resumes_in_the_next_process(registry, fault_proxy, tmp_path):
    import signal
    import subprocess
    import sys
    img = big_image("killed", compression="none")
    registry.push_image(img, "faults/killed", "v1")
    proxy = fault_proxy(registry)
    proxy.throttle(1_000_000)
    config = hosts_dir(tmp_path, proxy.host, proxy.url)
    root = str(tmp_path / "store")
    ref = "%s/faults/killed:v1" % proxy.host
    big = img.layers[1]
    child = subprocess.Popen([sys.executable, "-c", PULL_CHILD, root, config, ref],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # wait until part of the big blob has arrived
            sent = sum(r.sent for r in blob_gets(proxy, big.digest))
            if sent > 600_000:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the child pull made no progress: %s" % child.stderr.read1(4096))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        child.stderr.close()
    proxy.clear()
    store = new_store(tmp_path)  # the same root, opened again after the crash
    result = puller(config).pull(store, ref)
    assert result.image_id == img.config_digest
    last = blob_gets(proxy, big.digest)[-1]
    assert int(last.headers.get("Range", "bytes=0-")[6:].rstrip("-")) > 0 and last.status == 206
    assert store.content.info(big.digest).size == big.size
    assert store.content.ingests() == []


def test_many_drops_with_progress_still_finish(registry, fault_proxy, tmp_path):
    img = big_image("manydrops", compression="none")
    registry.push_image(img, "faults/manydrops", "v1")
    proxy = fault_proxy(registry)
    big = img.layers[1]
    proxy.drop_after(400_000, pattern="/blobs/" + big.digest, times=6)  # more drops than the retry budget
    config = hosts_dir(tmp_path, proxy.host, proxy.url)
    result = puller(config).pull(new_store(tmp_path), "%s/faults/manydrops:v1" % proxy.host)
    assert result.image_id == img.config_digest
    gets = blob_gets(proxy, big.digest)
    assert len(gets) == 7 and [g.fault for g in gets].count("drop") == 6


def test_drops_without_progress_give_up(registry, fault_proxy, tmp_path):
    from gantry.highlevel.errors import Unavailable
    img = big_image("noprogress", compression="none")
    registry.push_image(img, "faults/noprogress", "v1")
    proxy = fault_proxy(registry)
    big = img.layers[1]
    proxy.drop_after(0, pattern="/blobs/" + big.digest, times=None)  # every answer breaks off at once
    config = hosts_dir(tmp_path, proxy.host, proxy.url)
    p = puller(config)
    with pytest.raises(Unavailable, match="without progress"):
        p.pull(new_store(tmp_path), "%s/faults/noprogress:v1" % proxy.host)
    assert p.idle(30)
    assert len(blob_gets(proxy, big.digest)) == 4  # the retry budget
