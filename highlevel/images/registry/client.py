"""One repository on a registry, reached through its ordered endpoints (OCI distribution API).

The exchange for a pull (each request may first take the 401 → token → retry
detour of auth.py; ``?ns=<domain>`` is added on mirrors, as containerd does)::

    GET  /v2/                                   ping: is this a v2 registry, which auth does it want
    GET  /v2/<name>/manifests/<tag|digest>      Accept: OCI index, Docker list, OCI/Docker manifest
         -> 200 body, Content-Type, Docker-Content-Digest
    GET  /v2/<name>/blobs/<digest>              config and layers; may answer 307 to blob storage
         Range: bytes=<n>-                      when resuming after a dropped connection
         -> 200 (whole blob) or 206 (from n, Content-Range: bytes n-…/size)

Endpoints are tried in order (mirrors first, then the server); one that
cannot be reached is marked down for the rest of this pull.  Failures of the
request (connection refused or reset, 429, 5xx) are retried with backoff; a
body that breaks off is resumed with Range; no byte within the stall timeout
is final for that endpoint: it is marked down and the next endpoint goes on
(a blob from the byte where the stalled one stopped), as containerd moves on
from a mirror that fails.  When the last endpoint stalls too, the pull ends
with DeadlineExceeded naming what stalled and where, so a pull waits at most
one stall timeout per configured endpoint.
"""
import hashlib
import json
import logging
import threading
import time
import urllib.parse

from ...errors import (
    DataLoss,
    DeadlineExceeded,
    GantryError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from . import auth, manifests
from .transport import (
    CHUNK,
    ConnectFailed,
    Dropped,
    Retry,
    Stalled,
    TLSConfig,
    Transport,
    retry_after_seconds,
)

log = logging.getLogger("gantry.images.registry")

_RETRY_STATUS = (408, 429, 500, 502, 503, 504)


class _RetryableStatus(Exception):
    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


class Resolved:
    """A manifest (or index) fetched by tag or digest."""

    def __init__(self, endpoint, digest, media_type, body):
        self.endpoint, self.digest, self.media_type, self.body = endpoint, digest, media_type, body


def registry_error(status, body, what):
    """The domain error for a final non-2xx answer, with the registry's own error code if it sent one."""
    detail = _error_detail(body)
    message = "%s: HTTP %d%s" % (what, status, (": " + detail) if detail else "")
    if status == 401:
        return Unauthenticated(message)
    if status == 403:
        return PermissionDenied(message)
    if status == 404:
        return NotFound(message)
    if status == 400:
        return InvalidArgument(message)
    return Unavailable(message)


def _error_detail(body):
    try:
        doc = json.loads(body or b"{}")
        errors = doc.get("errors") if isinstance(doc, dict) else None
        if isinstance(errors, list) and errors:
            first = errors[0]
            return ("%s %s" % (first.get("code", ""), first.get("message", ""))).strip().lower()
    except (ValueError, UnicodeDecodeError, AttributeError):
        pass
    text = (body or b"")[:200].decode("utf-8", "replace").strip()
    return text if text and not text.startswith("<") else ""


class Repository:
    def __init__(self, ref, endpoints, credentials=auth.ANONYMOUS, transport=None, token_cache=None,
                 retry=None, actions="pull"):
        if not endpoints:
            raise InvalidArgument("pull %s: no registry endpoints configured" % ref)
        self.ref = ref
        self.endpoints = list(endpoints)
        self.transport = transport or Transport()
        self.retry = retry or Retry()
        self.scope = ref.scope(actions)       # "pull,push" for a push (push.py)
        cache = token_cache or auth.TokenCache()
        self._authorizers = {}
        for e in self.endpoints:
            # the user's credentials go to the registry itself, never to a mirror of another host
            creds = credentials if (not e.mirror or e.host == ref.wire_host) else auth.ANONYMOUS
            self._authorizers[e] = auth.Authorizer(e.host, creds, cache)
        self._down = set()
        self._pinged = set()
        self._lock = threading.Lock()

    # -- endpoints ----------------------------------------------------------
    def _usable(self, capability):
        with self._lock:
            down = set(self._down)
        return [e for e in self.endpoints if e.can(capability) and e not in down]

    def _mark_down(self, endpoint, exc):
        log.warning("registry endpoint %s unusable for this pull: %s", endpoint, exc)
        with self._lock:
            self._down.add(endpoint)

    def _url(self, endpoint, suffix):
        url = endpoint.base_url + suffix
        if endpoint.mirror and endpoint.host != self.ref.wire_host:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"ns": self.ref.domain})
        return url

    def _over_endpoints(self, capability, what, fn):
        """Run fn(endpoint) on each usable endpoint in order until one succeeds."""
        failures = []
        candidates = self._usable(capability)
        if not candidates:
            raise Unavailable("%s: no reachable registry endpoint with capability %r" % (what, capability))
        for endpoint in candidates:
            try:
                return fn(endpoint)
            except (GantryError, OSError) as exc:
                if isinstance(exc, (ConnectFailed, Unavailable, DeadlineExceeded)):
                    self._mark_down(endpoint, exc)
                failures.append((endpoint, exc))
                log.info("%s: endpoint %s failed: %s", what, endpoint, exc)
        last = failures[-1][1]
        if len(failures) > 1:
            earlier = "; ".join("%s: %s" % (e, x) for e, x in failures[:-1])
            raise type(last)("%s (earlier endpoints: %s)" % (last, earlier)) from last
        raise last

    # -- requests -----------------------------------------------------------
    def _send(self, endpoint, method, url, what, headers=None, expect=(200,), body=None):
        """One request with auth and retries; returns a Response whose status is in ``expect``.

        ``body``: None, bytes, or a callable giving a fresh file-like body for each attempt."""
        authz = self._authorizers[endpoint]
        tls = TLSConfig.of(endpoint)
        attempt = 0
        while True:
            try:
                resp = self._authorized(endpoint, authz, tls, method, url, what, headers, body)
                if resp.status in _RETRY_STATUS:
                    body = _drain(resp)
                    raise _RetryableStatus("%s: HTTP %d %s" % (what, resp.status, _error_detail(body)),
                                           retry_after_seconds(resp.headers))
                if resp.status not in expect:
                    body = _drain(resp)
                    raise registry_error(resp.status, body, what)
                return resp
            except Stalled as exc:
                raise DeadlineExceeded("%s: %s" % (what, exc)) from exc
            except (Dropped, ConnectFailed, _RetryableStatus) as exc:
                attempt += 1
                if attempt >= self.retry.attempts or getattr(exc, "final", False):
                    raise Unavailable("%s: %s (after %d attempts)" % (what, exc, attempt)) from exc
                delay = self.retry.delay(attempt - 1, getattr(exc, "retry_after", None))
                log.info("%s: %s; retrying in %.1fs", what, exc, delay)
                time.sleep(delay)

    def _authorized(self, endpoint, authz, tls, method, url, what, headers, body=None):
        base = _endpoint_headers(endpoint)
        base.update(headers or {})
        header = authz.header(self.scope)
        if header:
            base["Authorization"] = header
        resp = self.transport.request(method, url, base, _body(body), tls=tls)
        if resp.status != 401:
            return resp
        challenge = resp.headers.get("WWW-Authenticate", "")
        _drain(resp)
        answer = authz.respond(challenge, self.scope)
        if answer.token_request is not None:
            base["Authorization"] = self._fetch_token(authz, tls, answer.token_request)
        else:
            base["Authorization"] = answer.header
        resp = self.transport.request(method, url, base, _body(body), tls=tls)
        if resp.status == 401:
            detail = _error_detail(_drain(resp))
            refused = ("authentication required: the registry refused anonymous access"
                       if authz.credentials.anonymous else "the registry refused the credentials")
            raise Unauthenticated("%s: %s (HTTP 401%s)" % (what, refused, (": " + detail) if detail else ""))
        return resp

    def _fetch_token(self, authz, tls, request):
        resp = self.transport.request(request.method, request.url, request.headers, request.body, tls=tls)
        body = resp.read_all(1 << 20)
        if resp.status in _RETRY_STATUS:  # the token server is busy or down: worth another try
            raise _RetryableStatus("token server %s: HTTP %d" % (request.url.split("?")[0], resp.status),
                                   retry_after_seconds(resp.headers))
        return authz.store_token(request, resp.status, body)

    def ping(self, endpoint):
        """GET /v2/: checks the endpoint speaks the API and learns its auth challenge."""
        if endpoint in self._pinged:
            return
        what = "ping %s" % endpoint
        resp = self._send(endpoint, "GET", self._url(endpoint, "/"), what, expect=(200, 404))
        _drain(resp)
        self._pinged.add(endpoint)

    # -- manifests ----------------------------------------------------------
    def resolve(self):
        """Fetch the manifest or index the reference names (by tag, or by digest if pinned)."""
        capability = "pull" if self.ref.digest else "resolve"
        what = "resolve %s" % self.ref
        return self._over_endpoints(capability, what, self._resolve_at)

    def _resolve_at(self, endpoint):
        self.ping(endpoint)
        what = "resolve %s at %s" % (self.ref, endpoint)
        url = self._url(endpoint, "/%s/manifests/%s" % (self.ref.path, self.ref.object))
        resp = self._send(endpoint, "GET", url, what, {"Accept": manifests.ACCEPT})
        body = resp.read_all(manifests.MAX_MANIFEST_BYTES)
        media_type = (resp.headers.get("Content-Type") or "").split(";")[0].strip()
        digest = manifests.sha256_digest(body)
        if self.ref.digest:
            manifests.verify_bytes(body, self.ref.digest, "manifest of %s" % self.ref)
        header = resp.headers.get("Docker-Content-Digest") or ""
        if header.startswith("sha256:") and header != digest:
            raise DataLoss("%s: registry says the manifest is %s but its bytes hash to %s" % (what, header, digest))
        return Resolved(endpoint, digest, media_type, body)

    def fetch_manifest(self, desc):
        """A manifest named by an index entry, verified against its digest and size."""
        what = "fetch manifest %s of %s" % (desc.digest, self.ref.name)

        def at(endpoint):
            self.ping(endpoint)
            url = self._url(endpoint, "/%s/manifests/%s" % (self.ref.path, desc.digest))
            resp = self._send(endpoint, "GET", url, what, {"Accept": manifests.ACCEPT})
            body = resp.read_all(manifests.MAX_MANIFEST_BYTES)
            media_type = (resp.headers.get("Content-Type") or "").split(";")[0].strip()
            manifests.verify_bytes(body, desc.digest, "manifest", desc.size)
            return Resolved(endpoint, desc.digest, media_type or desc.media_type, body)

        return self._over_endpoints("pull", what, at)

    # -- blobs --------------------------------------------------------------
    def fetch_blob_bytes(self, desc, limit=64 << 20):
        """A small blob (an image config) in memory, verified."""
        if desc.size > limit:
            raise InvalidArgument("blob %s: %d bytes is more than the %d allowed here" % (desc.digest, desc.size, limit))
        sink = _BytesSink()
        self.fetch_blob(desc, sink)
        return manifests.verify_bytes(sink.data(), desc.digest, "blob", desc.size)

    def fetch_blob(self, desc, sink, start=0, progress=None):
        """Stream blob ``desc`` into ``sink.write`` from byte ``start`` on, resuming with Range.

        ``sink`` receives every byte from ``start`` to ``desc.size`` exactly once and in order;
        the caller verifies the digest (the content store does on commit).
        """
        what = "fetch blob %s of %s" % (desc.digest, self.ref.name)
        state = {"offset": start}
        if start >= desc.size:
            return
        _, distributable = manifests.LAYER_TYPES.get(desc.media_type, (None, True))
        if desc.urls:
            # non-distributable (foreign) layers: their URLs first, as containerd does; then the registry
            for url in desc.urls:
                try:
                    return self._stream_from_url(url, desc, sink, state, progress, what)
                except DeadlineExceeded:
                    raise
                except GantryError as exc:
                    log.info("%s: url %s failed: %s", what, url, exc)
        if not distributable and not desc.urls:
            log.info("%s: non-distributable layer without urls: asking the registry", what)

        def at(endpoint):
            self.ping(endpoint)
            url = self._url(endpoint, "/%s/blobs/%s" % (self.ref.path, desc.digest))
            return self._stream(endpoint, url, desc, sink, state, progress, what)

        return self._over_endpoints("pull", what, at)

    def _stream_from_url(self, url, desc, sink, state, progress, what):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise InvalidArgument("%s: layer url %r is not http(s)" % (what, url))
        return self._stream(None, url, desc, sink, state, progress, what)

    def _stream(self, endpoint, url, desc, sink, state, progress, what):
        attempt = 0
        while True:
            offset = state["offset"]
            headers = {"Range": "bytes=%d-" % offset} if offset else {}
            try:
                if endpoint is None:
                    resp = self._plain_get(url, headers, what)
                else:
                    resp = self._send(endpoint, "GET", url, what, headers, expect=(200, 206))
                skip = _skip_for(resp, offset, what)
                self._copy(resp, desc, sink, state, skip, progress, what)
                return
            except Stalled as exc:
                raise DeadlineExceeded("%s: no data received for %ss from %s: cancelled (stall timeout)"
                                       % (what, self.transport.stall_timeout, _origin(url))) from exc
            except Dropped as exc:
                # a drop after progress starts a fresh budget: a long download on a flaky link
                # goes on as long as each connection moves it forward
                attempt = 1 if state["offset"] > offset else attempt + 1
                if attempt >= self.retry.attempts:
                    raise Unavailable("%s: %s (after %d attempts without progress)"
                                      % (what, exc, attempt)) from exc
                delay = self.retry.delay(attempt - 1)
                log.info("%s: %s at byte %d; resuming in %.1fs", what, exc, state["offset"], delay)
                time.sleep(delay)

    def _plain_get(self, url, headers, what):
        resp = self.transport.request("GET", url, headers)
        if resp.status not in (200, 206):
            body = _drain(resp)
            raise registry_error(resp.status, body, "%s from %s" % (what, url))
        return resp

    def _copy(self, resp, desc, sink, state, skip, progress, what):
        started = time.monotonic()
        while True:
            chunk = resp.read(CHUNK)
            if not chunk:
                break
            if skip:
                cut = min(skip, len(chunk))
                chunk, skip = chunk[cut:], skip - cut
                if not chunk:
                    continue
            if state["offset"] + len(chunk) > desc.size:
                resp.close(broken=True)
                raise DataLoss("%s: the registry sent more than the %d bytes the manifest declares"
                               % (what, desc.size))
            sink.write(chunk)
            state["offset"] += len(chunk)
            if progress is not None:
                progress(desc.digest, state["offset"], desc.size)
        if state["offset"] < desc.size:
            raise Dropped("body ended at byte %d of %d" % (state["offset"], desc.size))
        log.debug("%s: %d bytes in %.2fs", what, desc.size, time.monotonic() - started)


def _skip_for(resp, offset, what):
    """How many leading bytes of this response the sink already has."""
    if resp.status == 200:
        return offset  # the server ignored Range: drop what we hold already
    content_range = resp.headers.get("Content-Range", "")
    try:
        unit, _, rest = content_range.partition(" ")
        first = int(rest.split("-", 1)[0])
    except ValueError:
        resp.close(broken=True)
        raise Dropped("%s: 206 with unusable Content-Range %r" % (what, content_range)) from None
    if unit != "bytes" or first > offset:
        resp.close(broken=True)
        raise Dropped("%s: 206 starts at %d, wanted %d" % (what, first, offset))
    return offset - first


def _body(body):
    return body() if callable(body) else body


def _endpoint_headers(endpoint):
    """hosts.toml [header] entries; several values of one name are joined with ", " (RFC 9110)."""
    out = {}
    for name, value in endpoint.headers:
        out[name] = out[name] + ", " + value if name in out else value
    return out


def _drain(resp, limit=64 << 10):
    try:
        data = b""
        while len(data) < limit:
            chunk = resp.read(limit)
            if not chunk:
                break
            data += chunk
        return data
    except (Dropped, Stalled):
        return b""
    finally:
        resp.close()


def _origin(url):
    p = urllib.parse.urlsplit(url)
    return "%s://%s" % (p.scheme, p.netloc)


class _BytesSink:
    def __init__(self):
        self._parts = []
        self._hash = hashlib.sha256()

    def write(self, data):
        self._parts.append(bytes(data))

    def data(self):
        return b"".join(self._parts)
