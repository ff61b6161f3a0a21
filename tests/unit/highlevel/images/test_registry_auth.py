"""Registry auth (pure): WWW-Authenticate parsing, token requests, the token cache, the Authorizer."""
import base64
import json
import urllib.parse

import pytest
from gantry.highlevel.errors import InvalidArgument, Unauthenticated
from gantry.highlevel.images.registry import auth

CHALLENGES = [
    ('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"',
     [("bearer", {"realm": "https://auth.example/token", "service": "registry.example",
                  "scope": "repository:a/b:pull"})]),
    ('Basic realm="Registry Realm"', [("basic", {"realm": "Registry Realm"})]),
    ('basic realm=simple', [("basic", {"realm": "simple"})]),
    ('Basic realm="r", Bearer realm="https://t/x",service=s', [
        ("basic", {"realm": "r"}), ("bearer", {"realm": "https://t/x", "service": "s"})]),
    ('Bearer realm="https://t/x", scope="repository:a:pull,push repository:b:pull"',
     [("bearer", {"realm": "https://t/x", "scope": "repository:a:pull,push repository:b:pull"})]),
    ('Bearer realm="quo\\"ted"', [("bearer", {"realm": 'quo"ted'})]),
    ('Bearer error="invalid_token" , realm="https://t"', [("bearer", {"error": "invalid_token", "realm": "https://t"})]),
    ("", []),
    ("Negotiate", [("negotiate", {})]),
]


@pytest.mark.parametrize("header,expected", CHALLENGES)
def test_parse_www_authenticate(header, expected):
    got = [(c.scheme, c.params) for c in auth.parse_www_authenticate(header)]
    assert got == expected


def _query(url):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)


def test_token_request_anonymous():
    ch = auth.Challenge("bearer", {"realm": "https://t.example/token", "service": "reg"})
    req = auth.token_request(ch, ["repository:a:pull", "repository:a:pull"], auth.ANONYMOUS)
    assert req.method == "GET" and req.body is None
    assert "Authorization" not in req.headers
    q = _query(req.url)
    assert q["service"] == ["reg"] and q["scope"] == ["repository:a:pull"]
    assert "account" not in q


def test_token_request_password_uses_basic_and_account():
    ch = auth.Challenge("bearer", {"realm": "https://t.example/token?x=1", "service": "reg"})
    req = auth.token_request(ch, ["repository:a:pull"], auth.Credentials("alice", "s3cret"))
    assert req.method == "GET"
    assert req.url.startswith("https://t.example/token?x=1&")
    assert req.headers["Authorization"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert _query(req.url)["account"] == ["alice"]


def test_token_request_identity_token_posts_refresh_grant():
    ch = auth.Challenge("bearer", {"realm": "https://t.example/token", "service": "reg"})
    req = auth.token_request(ch, ["repository:b:pull", "repository:a:pull"],
                             auth.Credentials(identity_token="rt-1"))
    assert req.method == "POST" and req.url == "https://t.example/token"
    form = urllib.parse.parse_qs(req.body.decode())
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == ["rt-1"]
    assert form["scope"] == ["repository:a:pull repository:b:pull"] and form["service"] == ["reg"]


@pytest.mark.parametrize("realm", ["", "ftp://x/token", "/relative", "https://"])
def test_token_request_bad_realm(realm):
    with pytest.raises(Unauthenticated):
        auth.token_request(auth.Challenge("bearer", {"realm": realm}), [], auth.ANONYMOUS)


TOKEN_ANSWERS = [
    (200, {"token": "abc", "expires_in": 300}, "abc", 1000 + 300 - auth.EXPIRY_MARGIN_SECONDS),
    (200, {"access_token": "xyz"}, "xyz", 1000 + 60 - auth.EXPIRY_MARGIN_SECONDS),
    (200, {"token": "t", "expires_in": 5}, "t", 1000 + 60 - auth.EXPIRY_MARGIN_SECONDS),
    (200, {"token": "t", "access_token": "u", "expires_in": "300"}, "t", 1000 + 60 - auth.EXPIRY_MARGIN_SECONDS),
]


@pytest.mark.parametrize("status,doc,value,expires", TOKEN_ANSWERS)
def test_parse_token_response(status, doc, value, expires):
    token = auth.parse_token_response(status, json.dumps(doc).encode(), 1000)
    assert token == auth.Token(value, expires)


@pytest.mark.parametrize("status,body,message", [
    (401, b"{}", "refused the credentials"),
    (403, b"{}", "refused the credentials"),
    (500, b"{}", "HTTP 500"),
    (200, b"not json", "not JSON"),
    (200, b"[]", "not a JSON object"),
    (200, b'{"token": ""}', "no token"),
])
def test_parse_token_response_errors(status, body, message):
    with pytest.raises(Unauthenticated, match=message):
        auth.parse_token_response(status, body, 0, "https://t")


def test_token_cache_expires():
    now = [100.0]
    cache = auth.TokenCache(clock=lambda: now[0])
    cache.put(("r", "s", ("x",)), auth.Token("v", 160.0))
    assert cache.get(("r", "s", ("x",))) == "v"
    assert cache.get(("r", "s", ("y",))) is None
    now[0] = 160.0
    assert cache.get(("r", "s", ("x",))) is None


def test_credentials_from_auth_config():
    c = auth.Credentials.from_auth_config(auth=base64.b64encode(b"bob:pa:ss").decode())
    assert (c.username, c.password) == ("bob", "pa:ss")
    assert auth.Credentials.from_auth_config(username="u", password="p", auth="ignored") == auth.Credentials("u", "p")
    assert auth.ANONYMOUS.anonymous and not c.anonymous
    with pytest.raises(InvalidArgument):
        auth.Credentials.from_auth_config(auth="!!!")
    with pytest.raises(InvalidArgument):
        auth.Credentials.from_auth_config(auth=base64.b64encode(b"nocolon").decode())


def test_authorizer_bearer_flow_caches_per_scope():
    now = [0.0]
    a = auth.Authorizer("reg.example", auth.Credentials("u", "p"), auth.TokenCache(lambda: now[0]))
    scope = "repository:a:pull"
    assert a.header(scope) is None
    answer = a.respond('Bearer realm="https://t/token",service="reg",scope="repository:a:pull"', scope)
    assert answer.header is None and answer.token_request.method == "GET"
    header = a.store_token(answer.token_request, 200, b'{"token": "tok", "expires_in": 120}')
    assert header == "Bearer tok"
    assert a.header(scope) == "Bearer tok"
    assert a.header("repository:other:pull") is None  # another scope needs its own token
    now[0] = 200.0
    assert a.header(scope) is None  # expired


def test_authorizer_basic():
    a = auth.Authorizer("reg", auth.Credentials("u", "p"))
    answer = a.respond('Basic realm="x"', "repository:a:pull")
    assert answer.header == auth.basic_header("u", "p")
    assert a.header("repository:any:pull") == answer.header  # basic is sent proactively afterwards
    with pytest.raises(Unauthenticated, match="username and password"):
        auth.Authorizer("reg").respond('Basic realm="x"', "repository:a:pull")


def test_authorizer_registry_token_and_no_challenge():
    a = auth.Authorizer("reg", auth.Credentials(registry_token="rt"))
    assert a.header("s") == "Bearer rt"
    assert a.respond('Bearer realm="https://t"', "s").header == "Bearer rt"
    with pytest.raises(Unauthenticated, match="no usable challenge"):
        auth.Authorizer("reg").respond("", "s")


def test_token_cache_shared_between_authorizers_but_not_between_credentials():
    cache = auth.TokenCache()
    scope = "repository:a:pull"
    first = auth.Authorizer("reg", auth.Credentials("u", "p"), cache)
    answer = first.respond('Bearer realm="https://t/token",service="reg"', scope)
    first.store_token(answer.token_request, 200, b'{"token": "tok-u"}')
    assert auth.Authorizer("reg", auth.Credentials("u", "p"), cache).header(scope) == "Bearer tok-u"
    assert auth.Authorizer("reg", auth.Credentials("v", "p"), cache).header(scope) is None
    assert auth.Authorizer("reg", auth.ANONYMOUS, cache).header(scope) is None
    assert auth.Authorizer("other", auth.Credentials("u", "p"), cache).header(scope) is None


def test_basic_challenge_remembered_is_not_sent_without_credentials():
    cache = auth.TokenCache()
    auth.Authorizer("reg", auth.Credentials("u", "p"), cache).respond('Basic realm="x"', "s")
    assert auth.Authorizer("reg", auth.ANONYMOUS, cache).header("s") is None


def test_bearer_realm_with_unclosed_ipv6_bracket_is_unauthenticated():
    # found by tests/fuzz (fuzz_auth): urlsplit's ValueError escaped from a registry's 401
    a = auth.Authorizer("registry.test")
    with pytest.raises(Unauthenticated, match="not an http"):
        a.respond('Bearer realm="http://[::1:5000/token"', "repository:x:pull")


@pytest.mark.parametrize("realm", ["\x19https://a/token", " https://a/token", "https://a/tok en", "https://a/\ttoken"])
def test_bearer_realm_with_control_characters_or_spaces_is_refused(realm):
    # found by tests/fuzz (fuzz_auth): urlsplit strips leading control characters and spaces (and drops
    # tabs), so such a realm passed the check while the URL we would request was another string
    with pytest.raises(Unauthenticated, match="not an http"):
        auth.Authorizer("registry.test").respond('Bearer realm="%s"' % realm, "repository:x:pull")
