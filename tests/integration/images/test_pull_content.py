"""Pull behaviour around what the store already holds, bad layers and client certificates."""
import os
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from gantry.highlevel.errors import DataLoss, InvalidArgument
from gantry.highlevel.images.registry.manifests import chain_ids

from tests.fixtures import ociimage as oi
from tests.fixtures import testcerts

from .pullhelpers import hosts_dir, loopback_names_only, new_store, puller, small_image  # noqa: F401


def blob_gets(proxy):
    return [r.path for r in proxy.requests if r.method == "GET" and "/blobs/" in r.path]


def test_blobs_already_stored_are_not_fetched_but_still_unpacked(registry, fault_proxy, tmp_path):
    img = small_image("prestored")
    registry.push_image(img, "content/prestored", "v1")
    proxy = fault_proxy(registry)
    store = new_store(tmp_path)
    for layer in img.layers:
        store.content.put_bytes(layer.blob, layer.digest)
    config = hosts_dir(tmp_path, proxy.host, proxy.url)
    result = puller(config).pull(store, "%s/content/prestored:v1" % proxy.host)
    assert result.image_id == img.config_digest
    assert [p for p in blob_gets(proxy) if any(layer.digest in p for layer in img.layers)] == []
    for chain in chain_ids([layer.diff_id for layer in img.layers]):
        assert store.snapshots.exists(chain)


def test_shared_base_layer_is_fetched_and_unpacked_once(registry, fault_proxy, tmp_path):
    first = small_image("shared-a")
    second = small_image("shared-b")
    assert first.layers[0].digest == second.layers[0].digest
    registry.push_image(first, "content/shared-a", "v1")
    registry.push_image(second, "content/shared-b", "v1")
    proxy = fault_proxy(registry)
    config = hosts_dir(tmp_path, proxy.host, proxy.url)
    store = new_store(tmp_path)
    p = puller(config)
    p.pull(store, "%s/content/shared-a:v1" % proxy.host)
    base_snapshots = {s.key for s in store.snapshots.walk()}
    p.pull(store, "%s/content/shared-b:v1" % proxy.host)
    base = first.layers[0].digest
    assert sum(base in path for path in blob_gets(proxy)) == 1
    assert len({s.key for s in store.snapshots.walk()} - base_snapshots) == 1  # only the new top layer


def test_wrong_diff_id_in_config_is_data_loss(registry, tmp_path):
    good = small_image("diffid")
    lying = oi.Image(good.layers, extra_config={"rootfs": {"type": "layers", "diff_ids": [
        good.layers[0].diff_id, good.layers[0].diff_id]}})
    registry.push_image(lying, "content/diffid", "v1")
    config = hosts_dir(tmp_path, registry.host, registry.url)
    store = new_store(tmp_path)
    p = puller(config)
    with pytest.raises(DataLoss, match="diff_id"):
        p.pull(store, "%s/content/diffid:v1" % registry.host)
    assert p.idle(30)
    assert store.meta.image_id_by_name("%s/content/diffid:v1" % registry.host) is None
    assert not any(s.key.startswith("extract-") for s in store.snapshots.walk())


@pytest.mark.parametrize("name", ["dotdot-file", "absolute-file"])
def test_hostile_layer_is_refused_and_leaves_nothing(registry, tmp_path, name):
    from tests.fixtures import hostilelayers
    dest = tmp_path / "probe"
    dest.mkdir()
    case = hostilelayers.case(str(dest), name)     # KeyError (a failure) if the fixture lost the case
    img = oi.Image(case.layers)
    repo = "content/hostile-" + name
    registry.push_image(img, repo, "v1")
    config = hosts_dir(tmp_path, registry.host, registry.url)
    store = new_store(tmp_path)
    p = puller(config)
    with pytest.raises(InvalidArgument):
        p.pull(store, "%s/%s:v1" % (registry.host, repo))
    assert p.idle(30)
    assert not any(s.key.startswith("extract-") for s in store.snapshots.walk())
    assert store.meta.image_id_by_name("%s/%s:v1" % (registry.host, repo)) is None


class _MutualTLSRegistry:
    """A TLS server that requires a client certificate and serves one image's manifest and blobs."""

    def __init__(self, workdir, img):
        ca = testcerts.make_ca(workdir)
        self.server_pair = testcerts.make_server_cert(workdir, ca)
        self.client_pair = testcerts.make_client_cert(workdir, ca)
        self.ca = ca.cert
        blobs = dict(img.blobs)
        self.peers = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.peers.append(self.connection.getpeercert().get("subject"))
                path = self.path.split("?")[0]
                if path == "/v2/":
                    data, ctype = b"{}", "application/json"
                elif "/manifests/" in path:
                    data, ctype = img.manifest_bytes, img.media_type
                else:
                    data, ctype = blobs.get(path.rsplit("/", 1)[1]), "application/octet-stream"
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.server_pair.cert, self.server_pair.key)
        ctx.load_verify_locations(cafile=self.ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.host = "127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_client_certificate_from_hosts_toml(tmp_path):
    img = small_image("mtls")
    reg = _MutualTLSRegistry(str(tmp_path / "pki"), img)
    try:
        ref = "%s/content/mtls:v1" % reg.host
        config = hosts_dir(tmp_path, reg.host, "https://" + reg.host, ca=reg.ca)
        with pytest.raises(Exception, match="ping https://127.0.0.1.*(SSL|certificate)"):
            puller(config).pull(new_store(tmp_path, "nocert"), ref)
        d = os.path.join(config, reg.host)
        with open(os.path.join(d, "hosts.toml"), "a") as f:
            f.write('client = [["%s", "%s"]]\n' % (reg.client_pair.cert, reg.client_pair.key))
        result = puller(config).pull(new_store(tmp_path), ref)
        assert result.image_id == img.config_digest
        assert reg.peers and all(reg.peers)
    finally:
        reg.stop()


def test_image_with_the_same_layer_twice(registry, tmp_path):
    empty = oi.Layer([], "gzip")
    data = oi.Layer([oi.File("a", b"a")], "gzip")
    img = oi.Image([empty, data, empty, oi.Layer([oi.File("b", b"b")]), empty])
    registry.push_image(img, "content/duplicates", "v1")
    config = hosts_dir(tmp_path, registry.host, registry.url)
    store = new_store(tmp_path)
    result = puller(config).pull(store, "%s/content/duplicates:v1" % registry.host)
    assert result.image_id == img.config_digest
    for chain in chain_ids([layer.diff_id for layer in img.layers]):
        assert store.snapshots.exists(chain)


class _StaticRegistry:
    """A plain-HTTP registry over one image, on any loopback address (here: IPv6 ::1)."""

    def __init__(self, img, address="::1"):
        blobs = dict(img.blobs)
        self.seen = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.seen.append(self.path)
                path = self.path.split("?")[0]
                if path == "/v2/":
                    data, ctype = b"{}", "application/json"
                elif "/manifests/" in path:
                    data, ctype = img.manifest_bytes, img.media_type
                else:
                    data, ctype = blobs.get(path.rsplit("/", 1)[1]), "application/octet-stream"
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

        class Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in address else socket.AF_INET
            daemon_threads = True

        self.server = Server((address, 0), Handler)
        port = self.server.server_address[1]
        self.host = ("[%s]:%d" if ":" in address else "%s:%d") % (address, port)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_ipv6_loopback_registry_with_default_endpoints(tmp_path):
    img = small_image("ipv6")
    reg = _StaticRegistry(img)
    try:
        # no hosts.toml: https first, then the plain-HTTP fallback loopback hosts get
        result = puller(None).pull(new_store(tmp_path), "%s/content/ipv6:v1" % reg.host)
        assert result.image_id == img.config_digest
        assert result.names[0] == "%s/content/ipv6:v1" % reg.host
        assert any("/blobs/" in p for p in reg.seen)
    finally:
        reg.stop()


@pytest.mark.parametrize("name, link, entry", [
    ("symlink-lower-absolute-file-upper-implicit", "esc", "escape-lower-absolute"),
    ("symlink-lower-relative-file-upper-implicit", "up", "escape-lower-relative"),
])
def test_layer_under_a_lower_symlink_stays_in_the_image(registry, tmp_path, name, link, entry):
    """Layer 2 writes under layer 1's symlink (absolute or relative, pointing out of the image): the
    pull succeeds, nothing is written outside, and the file is in a directory of layer 2 at the
    symlink's place (containerd's result; the symlink target's attributes are compared with
    containerd in test_store_unpack.py)."""
    from tests.fixtures import hostilelayers
    dest = tmp_path / "probe"
    dest.mkdir()
    case = hostilelayers.case(str(dest), name)
    case.prepare()
    repo = "content/contained-" + name
    registry.push_image(oi.Image(case.layers), repo, "v1")
    store = new_store(tmp_path)
    p = puller(hosts_dir(tmp_path, registry.host, registry.url))
    p.pull(store, "%s/%s:v1" % (registry.host, repo))
    assert p.idle(30)
    assert case.violations() == []
    image_id = store.meta.image_id_by_name("%s/%s:v1" % (registry.host, repo))
    bottom, top = [store.snapshots.fs_path(layer.chain_id) for layer in store.meta.get_image(image_id).layers]
    assert os.path.islink(os.path.join(bottom, link))
    assert os.path.isdir(os.path.join(top, link)) and not os.path.islink(os.path.join(top, link))
    assert os.path.isfile(os.path.join(top, link, entry))
    case.cleanup()
