"""Pulls through an HTTP proxy named by HTTP_PROXY / HTTPS_PROXY, as containerd honours them.

The registry is addressed as ``registry.test:PORT``, a name only the test proxy knows (it maps it to
127.0.0.1), so the pull can only succeed through the proxy; loopback names are never proxied."""
import base64
import http.client
import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from gantry.highlevel.errors import Unavailable

from tests.fixtures.registry import free_port

from .pullhelpers import hosts_dir, loopback_names_only, new_store, puller, small_image  # noqa: F401

FAKE = "registry.test"


def _relay_get(handler, address, path, drop):
    """GET path from address (host, port) or (host:port,) and answer the handler's client with it."""
    conn = http.client.HTTPConnection(*address, timeout=10)
    headers = {k: v for k, v in handler.headers.items() if k.lower() != drop}
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    handler.send_response(resp.status)
    for k, v in resp.getheaders():
        if k.lower() not in ("transfer-encoding", "connection", "content-length"):
            handler.send_header(k, v)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
    conn.close()


class _Served:
    """A threaded HTTP server on 127.0.0.1 for one handler class; ``url`` and ``stop()``."""

    def __init__(self, handler_class):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class _Proxy(_Served):
    def __init__(self, require_auth=None):
        self.seen = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _target(self, netloc):
                host, _, port = netloc.rpartition(":")
                return ("127.0.0.1" if host == FAKE else host), int(port)

            def _authorized(self):
                if require_auth is None:
                    return True
                want = "Basic " + base64.b64encode(require_auth.encode()).decode()
                if self.headers.get("Proxy-Authorization") == want:
                    return True
                self.send_response(407)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return False

            def do_CONNECT(self):
                owner.seen.append(("CONNECT", self.path))
                if not self._authorized():
                    return
                upstream = socket.create_connection(self._target(self.path), timeout=10)
                self.send_response(200, "Connection established")
                self.end_headers()
                conns = [self.connection, upstream]
                while True:
                    readable, _, _ = select.select(conns, [], [], 10)
                    if not readable:
                        break
                    for s in readable:
                        data = s.recv(65536)
                        if not data:
                            upstream.close()
                            return
                        (upstream if s is self.connection else self.connection).sendall(data)

            def do_GET(self):
                owner.seen.append(("GET", self.path))
                if not self._authorized():
                    return
                parts = http.client.urlsplit(self.path)
                _relay_get(self, self._target(parts.netloc), parts.path + ("?" + parts.query if parts.query else ""),
                           drop="proxy-authorization")

        _Served.__init__(self, Handler)


@pytest.fixture
def proxy():
    p = _Proxy()
    yield p
    p.stop()


def test_plain_http_registry_through_http_proxy(registry, proxy, tmp_path, monkeypatch):
    img = small_image("proxied")
    registry.push_image(img, "proxy/plain", "v1")
    host = "%s:%s" % (FAKE, registry.host.rsplit(":", 1)[1])
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    config = hosts_dir(tmp_path, host, "http://" + host)
    result = puller(config).pull(new_store(tmp_path), "%s/proxy/plain:v1" % host)
    assert result.image_id == img.config_digest
    assert any(m == "GET" and p.startswith("http://%s/v2/proxy/plain/blobs/" % host) for m, p in proxy.seen)


def test_tls_registry_through_connect_tunnel(tls_registry, proxy, tmp_path, monkeypatch):
    img = small_image("tunnelled")
    tls_registry.push_image(img, "proxy/tls", "v1")
    host = "%s:%s" % (FAKE, tls_registry.host.rsplit(":", 1)[1])
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    # the test certificate names 127.0.0.1, not registry.test: skip verification for this host
    config = hosts_dir(tmp_path, host, "https://" + host, skip_verify=True)
    result = puller(config).pull(new_store(tmp_path), "%s/proxy/tls:v1" % host)
    assert result.image_id == img.config_digest
    assert ("CONNECT", host) in proxy.seen


def test_proxy_credentials(registry, tmp_path, monkeypatch):
    img = small_image("proxy-auth")
    registry.push_image(img, "proxy/auth", "v1")
    host = "%s:%s" % (FAKE, registry.host.rsplit(":", 1)[1])
    config = hosts_dir(tmp_path, host, "http://" + host)
    guarded = _Proxy(require_auth="alice:pw")
    try:
        monkeypatch.setenv("HTTP_PROXY", guarded.url.replace("http://", "http://alice:wrong@"))
        with pytest.raises(Unavailable, match="407"):
            puller(config).pull(new_store(tmp_path, "a"), "%s/proxy/auth:v1" % host)
        monkeypatch.setenv("HTTP_PROXY", guarded.url.replace("http://", "http://alice:pw@"))
        assert puller(config).pull(new_store(tmp_path, "b"), "%s/proxy/auth:v1" % host).image_id == img.config_digest
    finally:
        guarded.stop()


class _PathMirror(_Served):
    """A mirror that serves the registry API under /mirror/api/ instead of /v2/ (override_path)."""

    def __init__(self, upstream_host):
        self.seen = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.seen.append(self.path)
                if not self.path.startswith("/mirror/api/"):
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                _relay_get(self, (upstream_host,), "/v2/" + self.path[len("/mirror/api/"):], drop="host")

        _Served.__init__(self, Handler)


def test_mirror_with_override_path(registry, tmp_path):
    img = small_image("override-path")
    registry.push_image(img, "mirror/override", "v1")
    mirror = _PathMirror(registry.host)
    try:
        domain = "upstream.invalid"  # only a name: the server below is a dead loopback port
        dead = "http://127.0.0.1:%d" % free_port()
        config = hosts_dir(tmp_path, domain, dead,
                           mirrors=[(mirror.url + "/mirror/api", {"override_path": "true"})])
        result = puller(config).pull(new_store(tmp_path), "%s/mirror/override:v1" % domain)
        assert result.image_id == img.config_digest
        assert mirror.seen and all(p.startswith("/mirror/api/") for p in mirror.seen)
        assert any("/mirror/api/mirror/override/blobs/" in p for p in mirror.seen)
    finally:
        mirror.stop()
