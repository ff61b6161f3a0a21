"""HTTP for the registry client (the thin I/O adapter): TLS per endpoint, redirects, stalls, retries.

- One ``ssl.SSLContext`` per endpoint TLS setting (hosts.toml ``ca``, ``client``,
  ``skip_verify``), used for every request on that endpoint's behalf (redirects and its
  token server too); plain HTTP for ``http://`` URLs.
- Keep-alive connections pooled per (scheme, host, TLS setting); a connection
  goes back to the pool only after its response was read to the end.
- Redirects (301/302/303/307/308) are followed up to ``MAX_REDIRECTS``; the
  ``Authorization`` header is dropped whenever the next URL has another
  scheme, host or port (blob storage behind a redirect must never see the
  registry credentials).
- Every socket operation has the stall timeout: no byte for that long raises
  ``Stalled`` (the caller turns it into DeadlineExceeded naming what stalled).
- ``Retry`` says which failures are worth another try and how long to wait.
"""
import base64
import http.client
import logging
import random
import socket
import ssl
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass

log = logging.getLogger("gantry.images.registry")

MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 30.0  # TCP connect + TLS handshake; at most the stall timeout
CHUNK = 1 << 20
USER_AGENT = "gantry/0.1"
_REDIRECTS = (301, 302, 303, 307, 308)


class Stalled(Exception):
    """No byte arrived within the stall timeout."""


class ConnectFailed(Exception):
    """The endpoint could not be reached at all (refused, TLS handshake, DNS).

    ``final`` is True when trying the same endpoint again is pointless (a connect timeout, a
    certificate the endpoint's trust settings refuse): the caller moves to the next endpoint."""

    def __init__(self, message, final=False):
        super().__init__(message)
        self.final = final


class Dropped(Exception):
    """The connection broke after the request was sent (reset, truncated body): retry."""


@dataclass(frozen=True)
class TLSConfig:
    ca: tuple = ()
    client: tuple = ()
    skip_verify: bool = False

    @classmethod
    def of(cls, endpoint):
        return cls(tuple(endpoint.ca), tuple(endpoint.client), bool(endpoint.skip_verify))


@dataclass(frozen=True)
class Retry:
    """Exponential backoff with jitter: base, 2·base, 4·base … capped, ``attempts`` tries in all."""

    attempts: int = 4
    base: float = 0.2
    cap: float = 4.0

    def delay(self, attempt, retry_after=None):
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.cap)
        return min(self.cap, self.base * (2 ** attempt)) * (0.75 + random.random() / 2)


def retry_after_seconds(headers):
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def ssl_context(tls):
    """The client SSLContext for one endpoint's TLS settings."""
    ctx = ssl.create_default_context()
    for path in tls.ca:
        ctx.load_verify_locations(cafile=path)
    for cert, key in tls.client:
        ctx.load_cert_chain(cert, key or None)
    if tls.skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Response:
    """A response whose body is read in chunks; releases its connection when done."""

    def __init__(self, transport, key, conn, raw, url):
        self._transport, self._key, self._conn, self._raw = transport, key, conn, raw
        self.status = raw.status
        self.reason = raw.reason
        self.headers = raw.headers
        self.url = url
        self._done = False

    @property
    def content_length(self):
        value = self.headers.get("Content-Length")
        return int(value) if value is not None and value.isdigit() else None

    def read(self, n=CHUNK):
        """Up to ``n`` bytes; b"" at the end.  Stalled / Dropped on failure."""
        if self._done:
            return b""
        try:
            data = self._raw.read1(n) if n > 0 else self._raw.read()
        except (TimeoutError, socket.timeout) as exc:
            self.close(broken=True)
            raise Stalled("no data for %ss from %s" % (self._transport.stall_timeout, self.url)) from exc
        except http.client.IncompleteRead as exc:
            self.close(broken=True)
            raise Dropped("connection closed early by %s (%s)" % (_origin(self.url), exc)) from exc
        except (OSError, http.client.HTTPException) as exc:
            self.close(broken=True)
            raise Dropped("connection to %s broke: %s" % (_origin(self.url), exc)) from exc
        if not data:
            self.close()
        return data

    def read_all(self, limit):
        out = []
        total = 0
        while True:
            chunk = self.read(CHUNK)
            if not chunk:
                return b"".join(out)
            total += len(chunk)
            if total > limit:
                self.close(broken=True)
                raise Dropped("%s: body larger than %d bytes" % (self.url, limit))
            out.append(chunk)

    def close(self, broken=False):
        if self._done:
            return
        self._done = True
        reusable = not broken and self._raw.isclosed() and not self._raw.will_close
        if not reusable:
            try:
                self._raw.close()
            finally:
                self._conn.close()
        self._transport._release(self._key, self._conn, reusable)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(broken=self._raw is not None and not self._raw.isclosed())


def _origin(url):
    p = urllib.parse.urlsplit(url)
    return "%s://%s" % (p.scheme, p.netloc)


def proxy_for(scheme, netloc, proxies):
    """The proxy URL for a request to ``scheme://netloc``, or None.

    ``proxies`` is what ``urllib.request.getproxies_environment()`` reads from HTTP_PROXY,
    HTTPS_PROXY and NO_PROXY (either case), as containerd honours them; loopback hosts are never
    proxied (Go's rule too).
    """
    host, _ = _split_netloc(netloc, 0)
    if not proxies or host in ("localhost", "::1") or host.startswith("127."):
        return None
    if urllib.request.proxy_bypass_environment(netloc, proxies):
        return None
    return proxies.get(scheme) or None


def _proxied(conn, proxy, scheme, host, port):
    """Point ``conn`` at ``proxy``: CONNECT tunnel for https, absolute URIs for http."""
    p = urllib.parse.urlsplit(proxy if "://" in proxy else "http://" + proxy)
    if p.scheme != "http":
        raise ConnectFailed("proxy %s: only http:// proxies are supported" % proxy, final=True)
    headers = {}
    if p.username is not None:
        raw = "%s:%s" % (urllib.parse.unquote(p.username), urllib.parse.unquote(p.password or ""))
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(raw.encode()).decode()
    phost, pport = _split_netloc(p.netloc.rpartition("@")[2], 80)
    conn.host, conn.port = phost, pport
    if scheme == "https":
        conn.set_tunnel(host, port, headers=headers)
    else:
        conn.gantry_absolute_uri = True
        conn.gantry_proxy_headers = headers
    return conn


class Transport:
    """Pooled HTTP(S) connections with per-endpoint TLS (and the environment's proxy); thread-safe."""

    def __init__(self, stall_timeout=60.0, user_agent=USER_AGENT, pool_size=8, proxies=None):
        self.stall_timeout = stall_timeout
        self.user_agent = user_agent
        self.pool_size = pool_size
        self.proxies = urllib.request.getproxies_environment() if proxies is None else proxies
        self._contexts = {}
        self._idle = {}
        self._lock = threading.Lock()

    def context(self, tls):
        with self._lock:
            ctx = self._contexts.get(tls)
        if ctx is None:
            ctx = ssl_context(tls)
            with self._lock:
                self._contexts[tls] = ctx
        return ctx

    def _connection(self, scheme, netloc, tls):
        proxy = proxy_for(scheme, netloc, self.proxies)
        key = (scheme, netloc, tls if scheme == "https" else None, proxy)
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return key, idle.pop(), True
        host, port = _split_netloc(netloc, 443 if scheme == "https" else 80)
        connect_timeout = min(self.stall_timeout, CONNECT_TIMEOUT)
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=connect_timeout, context=self.context(tls))
        else:
            conn = http.client.HTTPConnection(host, port, timeout=connect_timeout)
        if proxy:
            _proxied(conn, proxy, scheme, host, port)
        return key, conn, False

    def _release(self, key, conn, reusable):
        if not reusable:
            return
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.pool_size:
                idle.append(conn)
                return
        conn.close()

    def close(self):
        with self._lock:
            pools, self._idle = self._idle, {}
        for conns in pools.values():
            for conn in conns:
                conn.close()

    def request(self, method, url, headers=None, body=None, tls=None):
        """Send one request, following redirects; returns the final Response (any status).

        ``tls`` (the endpoint's hosts.toml settings, on top of the system trust store) applies to
        every hop, as containerd's per-host client does, so blob storage behind a registry with a
        private CA works.  Raises ConnectFailed, Dropped or Stalled.
        """
        headers = dict(headers or {})
        headers.setdefault("User-Agent", self.user_agent)
        tls = tls or TLSConfig()
        origin = _origin(url)
        for _hop in range(MAX_REDIRECTS + 1):
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ("http", "https"):
                raise ConnectFailed("%s: unsupported URL scheme" % url)
            resp = self._once(method, parts, headers, body, tls, url)
            if resp.status not in _REDIRECTS or method not in ("GET", "HEAD"):
                return resp
            location = resp.headers.get("Location")
            resp.close(broken=True)  # do not read a redirect's body; the connection is not reused
            if not location:
                raise Dropped("%s: redirect without a Location" % url)
            url = urllib.parse.urljoin(url, location)
            if _origin(url) != origin:
                headers.pop("Authorization", None)
                origin = _origin(url)
            log.debug("redirect to %s", _origin(url))
        raise Dropped("%s: more than %d redirects" % (url, MAX_REDIRECTS))

    def _once(self, method, parts, headers, body, tls, url):
        path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        for attempt in range(2):
            key, conn, was_idle = self._connection(parts.scheme, parts.netloc, tls)
            target, sent_headers = path, headers
            if getattr(conn, "gantry_absolute_uri", False):  # plain HTTP through a proxy
                target = "%s://%s%s" % (parts.scheme, parts.netloc, path)
                sent_headers = dict(headers, **conn.gantry_proxy_headers)
            try:
                if conn.sock is None:
                    self._connect(conn, parts)
                conn.request(method, target, body=body, headers=sent_headers)
                raw = conn.getresponse()
            except (ConnectFailed, Stalled):
                raise
            except (TimeoutError, socket.timeout) as exc:
                conn.close()
                raise Stalled("%s %s: no answer for %ss" % (method, url, self.stall_timeout)) from exc
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                if was_idle and attempt == 0:
                    continue  # a kept-alive connection the server had closed: once more on a new one
                raise Dropped("%s %s: %s%s" % (method, url, type(exc).__name__,
                                               (": %s" % exc) if str(exc) else "")) from exc
            return Response(self, key, conn, raw, url)
        raise Dropped("%s %s: connection failed" % (method, url))

    def _connect(self, conn, parts):
        try:
            conn.connect()
        except (TimeoutError, socket.timeout) as exc:
            conn.close()
            raise ConnectFailed("connect to %s://%s: no answer within %ss"
                                % (parts.scheme, parts.netloc, conn.timeout), final=True) from exc
        except OSError as exc:  # ssl.SSLError is an OSError
            conn.close()
            final = isinstance(exc, ssl.SSLError)  # certificate or protocol mismatch: will not change
            raise ConnectFailed("connect to %s://%s: %s" % (parts.scheme, parts.netloc, exc), final) from exc
        conn.sock.settimeout(self.stall_timeout)  # from now on: no byte for this long is a stall


def _split_netloc(netloc, default_port):
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = netloc.partition(":")
    return host, int(port) if port else default_port
