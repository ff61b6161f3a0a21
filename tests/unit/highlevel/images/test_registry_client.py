"""The registry client against a scripted transport: the 401 → token → retry dance, stale tokens,
endpoint fallback and the error each failure becomes."""
import json

import pytest
from gantry.highlevel import errors
from gantry.highlevel.images import reference
from gantry.highlevel.images.registry import auth, hosts, manifests
from gantry.highlevel.images.registry.client import Repository
from gantry.highlevel.images.registry.transport import ConnectFailed, Retry

MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": manifests.OCI_MANIFEST,
                       "config": {"mediaType": manifests.OCI_CONFIG, "digest": "sha256:" + "a" * 64, "size": 2},
                       "layers": []}).encode()
CHALLENGE = 'Bearer realm="https://auth.test/token",service="reg"'


class FakeResponse:
    def __init__(self, status, body=b"", headers=None):
        self.status, self.headers = status, dict(headers or {})
        self._body = body

    def read(self, n=1 << 20):
        out, self._body = self._body[:n], self._body[n:]
        return out

    def read_all(self, limit):
        return self.read(limit)

    def close(self, broken=False):
        pass


class FakeTransport:
    """Answers by a function of (method, url, headers); records every request."""

    stall_timeout = 5

    def __init__(self, answer):
        self.answer, self.seen = answer, []

    def request(self, method, url, headers=None, body=None, tls=None):
        self.seen.append((method, url, dict(headers or {})))
        result = self.answer(method, url, dict(headers or {}))
        if isinstance(result, Exception):
            raise result
        return result


def token_registry(valid_tokens):
    counter = {"issued": 0}

    def answer(method, url, headers):
        if url.startswith("https://auth.test/token"):
            counter["issued"] += 1
            token = "tok-%d" % counter["issued"]
            valid_tokens.add(token)
            return FakeResponse(200, json.dumps({"token": token, "expires_in": 300}).encode())
        if headers.get("Authorization", "").removeprefix("Bearer ") not in valid_tokens:
            return FakeResponse(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', {"WWW-Authenticate": CHALLENGE})
        if url.endswith("/v2/"):
            return FakeResponse(200, b"{}")
        return FakeResponse(200, MANIFEST, {"Content-Type": manifests.OCI_MANIFEST})

    return answer


def repo(transport, cache=None, endpoints=None, credentials=auth.ANONYMOUS):
    ref = reference.parse("reg.test/app:v1")
    return Repository(ref, endpoints or [hosts.Endpoint("https", "reg.test")], credentials, transport,
                      cache or auth.TokenCache(), Retry(attempts=3, base=0.001, cap=0.01))


def test_challenge_token_and_cached_token_reuse():
    valid = set()
    t = FakeTransport(token_registry(valid))
    cache = auth.TokenCache()
    resolved = repo(t, cache).resolve()
    assert resolved.digest == manifests.sha256_digest(MANIFEST)
    token_requests = [u for _, u, _ in t.seen if "auth.test" in u]
    assert len(token_requests) == 1 and "scope=repository%3Aapp%3Apull" in token_requests[0]
    t.seen.clear()
    repo(t, cache).resolve()  # a second pull sends the cached token at once
    assert not any("auth.test" in u for _, u, _ in t.seen)
    assert all(h.get("Authorization") == "Bearer tok-1" for _, u, h in t.seen)


def test_stale_cached_token_is_replaced():
    valid = set()
    t = FakeTransport(token_registry(valid))
    cache = auth.TokenCache()
    repo(t, cache).resolve()
    valid.clear()  # the registry forgets every token (expired, revoked)
    repo(t, cache).resolve()
    assert any(h.get("Authorization") == "Bearer tok-2" for _, _, h in t.seen)


def test_refused_after_fresh_token_is_unauthenticated():
    def answer(method, url, headers):
        if "auth.test" in url:
            return FakeResponse(200, b'{"token": "useless"}')
        return FakeResponse(401, b"", {"WWW-Authenticate": CHALLENGE})

    with pytest.raises(errors.Unauthenticated, match="refused anonymous access"):
        repo(FakeTransport(answer)).resolve()


def test_unreachable_mirror_falls_back_and_is_not_asked_again():
    mirror = hosts.Endpoint("https", "mirror.test", mirror=True)
    server = hosts.Endpoint("https", "reg.test")

    def answer(method, url, headers):
        if "mirror.test" in url:
            return ConnectFailed("connect to https://mirror.test: refused")
        if url.endswith("/v2/"):
            return FakeResponse(200, b"{}")
        return FakeResponse(200, MANIFEST, {"Content-Type": manifests.OCI_MANIFEST})

    t = FakeTransport(answer)
    r = repo(t, endpoints=[mirror, server])
    assert r.resolve().endpoint == server
    mirror_calls = sum("mirror.test" in u for _, u, _ in t.seen)
    assert mirror_calls == 3  # the retry budget, then marked down
    r.resolve()
    assert sum("mirror.test" in u for _, u, _ in t.seen) == mirror_calls


def test_credentials_are_not_sent_to_a_mirror_of_another_host():
    mirror = hosts.Endpoint("https", "mirror.test", mirror=True)
    seen_basic = []

    def answer(method, url, headers):
        if "Authorization" in headers:
            seen_basic.append(url)
        if "mirror.test" in url and "Authorization" not in headers:
            return FakeResponse(401, b"", {"WWW-Authenticate": 'Basic realm="m"'})
        if url.endswith("/v2/"):
            return FakeResponse(200, b"{}")
        return FakeResponse(200, MANIFEST, {"Content-Type": manifests.OCI_MANIFEST})

    r = repo(FakeTransport(answer), endpoints=[mirror, hosts.Endpoint("https", "reg.test")],
             credentials=auth.Credentials("u", "secret"))
    assert r.resolve().endpoint.host == "reg.test"
    assert not any("mirror.test" in u for u in seen_basic)


def test_manifest_digest_header_mismatch_is_data_loss():
    def answer(method, url, headers):
        if url.endswith("/v2/"):
            return FakeResponse(200, b"{}")
        return FakeResponse(200, MANIFEST, {"Content-Type": manifests.OCI_MANIFEST,
                                            "Docker-Content-Digest": "sha256:" + "0" * 64})

    with pytest.raises(errors.DataLoss, match="hash to"):
        repo(FakeTransport(answer)).resolve()


def test_pinned_digest_is_verified():
    def answer(method, url, headers):
        if url.endswith("/v2/"):
            return FakeResponse(200, b"{}")
        return FakeResponse(200, MANIFEST, {"Content-Type": manifests.OCI_MANIFEST})

    ref = reference.parse("reg.test/app@sha256:" + "b" * 64)
    r = Repository(ref, [hosts.Endpoint("https", "reg.test")], transport=FakeTransport(answer))
    with pytest.raises(errors.DataLoss, match="digest mismatch"):
        r.resolve()


def test_busy_token_server_is_retried():
    valid = set()
    inner = token_registry(valid)
    busy = {"left": 2}

    def answer(method, url, headers):
        if "auth.test" in url and busy["left"]:
            busy["left"] -= 1
            return FakeResponse(503, b"busy")
        return inner(method, url, headers)

    assert repo(FakeTransport(answer)).resolve().digest == manifests.sha256_digest(MANIFEST)
    assert busy["left"] == 0
