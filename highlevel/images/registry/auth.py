"""Registry authentication (pure): challenges, token requests, a per-scope token cache.

The exchange, as the registry client drives it::

    client -> registry      GET /v2/<name>/manifests/<tag>   (Authorization from the cache, if any)
    registry -> client      401, WWW-Authenticate: Bearer realm="…",service="…",scope="…"
                            (or: Basic realm="…")
    client -> token server  GET <realm>?service=…&scope=…         anonymous, or Basic user:password
                            POST <realm> grant_type=refresh_token  with an identity token
    token server -> client  200 {"token"|"access_token": "…", "expires_in": 300}
    client -> registry      the request again, Authorization: Bearer <token>

A registry token from the CRI AuthConfig is sent as the bearer directly; Basic
challenges are answered with the username and password.  Nothing here does
I/O: ``Authorizer.respond`` says what to send next and ``store_token`` takes
the token server's answer.
"""
import base64
import hashlib
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass

from ...errors import InvalidArgument, Unauthenticated

MIN_TOKEN_SECONDS = 60
EXPIRY_MARGIN_SECONDS = 5
CLIENT_ID = "gantry"


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case: "bearer", "basic"
    params: dict

    @property
    def realm(self):
        return self.params.get("realm", "")


@dataclass(frozen=True)
class Credentials:
    """What a user gave us for one registry (CRI AuthConfig, or a config file)."""

    username: str = ""
    password: str = ""
    identity_token: str = ""
    registry_token: str = ""

    @classmethod
    def from_auth_config(cls, username="", password="", auth="", identity_token="", registry_token=""):
        """From CRI AuthConfig fields; ``auth`` is base64 ``user:password`` as in docker's config.json."""
        if auth and not (username or password):
            try:
                decoded = base64.b64decode(auth, validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError) as exc:
                raise InvalidArgument("auth config: 'auth' is not base64 of user:password") from exc
            username, sep, password = decoded.partition(":")
            if not sep:
                raise InvalidArgument("auth config: 'auth' does not hold user:password")
        return cls(username, password, identity_token, registry_token)

    @property
    def anonymous(self):
        return not (self.username or self.password or self.identity_token or self.registry_token)

    def fingerprint(self):
        """Tells credentials apart in cache keys without keeping the secrets themselves there."""
        if self.anonymous:
            return "anonymous"
        raw = "\0".join((self.username, self.password, self.identity_token, self.registry_token))
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


ANONYMOUS = Credentials()


@dataclass(frozen=True)
class TokenRequest:
    method: str
    url: str
    headers: dict
    body: bytes | None
    key: tuple  # cache key: (realm, service, scopes)


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float


# --- WWW-Authenticate ----------------------------------------------------------

def parse_www_authenticate(header):
    """All challenges in a WWW-Authenticate value, in order.

    ``Bearer realm="https://a/token",service="reg",scope="repository:x:pull,push"`` gives one
    Challenge; several comma-separated challenges (``Basic realm="r", Bearer realm="t"``) give several.
    """
    challenges = []
    pos, n = 0, len(header or "")
    text = header or ""
    while pos < n:
        pos = _skip(text, pos, " \t,")
        if pos >= n:
            break
        scheme, pos = _token(text, pos)
        if not scheme:
            break
        params = {}
        while True:
            save = pos
            pos = _skip(text, pos, " \t,")
            key, after_key = _token(text, pos)
            after_eq = _skip(text, after_key, " \t")
            if not key or after_eq >= n or text[after_eq] != "=":
                pos = save
                break
            pos = _skip(text, after_eq + 1, " \t")
            if pos < n and text[pos] == '"':
                value, pos = _quoted(text, pos)
            else:
                value, pos = _token(text, pos, extra="/:+=")
            params[key.lower()] = value
        challenges.append(Challenge(scheme.lower(), params))
        if pos < n and text[pos] not in " \t,":
            break
    return challenges


def _skip(text, pos, chars):
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _token(text, pos, extra=""):
    start = pos
    while pos < len(text) and (text[pos].isalnum() or text[pos] in "!#$%&'*+-.^_`|~" + extra):
        pos += 1
    return text[start:pos], pos


def _quoted(text, pos):
    out = []
    pos += 1
    while pos < len(text):
        c = text[pos]
        if c == "\\" and pos + 1 < len(text):
            out.append(text[pos + 1])
            pos += 2
            continue
        if c == '"':
            return "".join(out), pos + 1
        out.append(c)
        pos += 1
    return "".join(out), pos


# --- token requests and answers ------------------------------------------------

def basic_header(username, password):
    raw = ("%s:%s" % (username, password)).encode("utf-8")
    return "Basic " + base64.b64encode(raw).decode("ascii")


def token_request(challenge, scopes, credentials):
    """The request to the token server named by a Bearer challenge."""
    realm = challenge.realm
    try:
        parsed = urllib.parse.urlsplit(realm)
    except ValueError:   # "Invalid IPv6 URL": a '[' without its ']'
        parsed = None
    if (parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc
            or any(c <= " " or c == "\x7f" for c in realm)):   # urlsplit would strip or drop these
        raise Unauthenticated("token request: bearer realm %r is not an http(s) URL" % realm)
    service = challenge.params.get("service", "")
    scopes = tuple(sorted(set(s for s in scopes if s)))
    key = (realm, service, scopes)
    if credentials.identity_token:
        form = [("grant_type", "refresh_token"), ("refresh_token", credentials.identity_token),
                ("client_id", CLIENT_ID)]
        if service:
            form.append(("service", service))
        if scopes:
            form.append(("scope", " ".join(scopes)))
        body = urllib.parse.urlencode(form).encode("ascii")
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return TokenRequest("POST", realm, headers, body, key)
    query = []
    if service:
        query.append(("service", service))
    query.extend(("scope", s) for s in scopes)
    headers = {}
    if credentials.username or credentials.password:
        query.append(("account", credentials.username))
        headers["Authorization"] = basic_header(credentials.username, credentials.password)
    query.append(("client_id", CLIENT_ID))
    sep = "&" if parsed.query else "?"
    url = realm + sep + urllib.parse.urlencode(query) if query else realm
    return TokenRequest("GET", url, headers, None, key)


def parse_token_response(status, body, now, realm=""):
    """A Token from the token server's answer; Unauthenticated when it refused or made no sense."""
    if status in (401, 403):
        raise Unauthenticated("token request to %s: the token server refused the credentials (HTTP %d)"
                              % (realm, status))
    if status != 200:
        raise Unauthenticated("token request to %s: HTTP %d" % (realm, status))
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unauthenticated("token request to %s: answer is not JSON" % realm) from exc
    if not isinstance(doc, dict):
        raise Unauthenticated("token request to %s: answer is not a JSON object" % realm)
    value = doc.get("token") or doc.get("access_token")
    if not isinstance(value, str) or not value:
        raise Unauthenticated("token request to %s: answer has no token" % realm)
    expires_in = doc.get("expires_in")
    if not isinstance(expires_in, (int, float)) or expires_in < MIN_TOKEN_SECONDS:
        expires_in = MIN_TOKEN_SECONDS
    return Token(value, now + expires_in - EXPIRY_MARGIN_SECONDS)


class TokenCache:
    """Bearer tokens by (realm, service, scopes, credentials), each kept until it expires; and the last
    challenge seen per registry host, so a later pull can send a cached token at once.  Thread-safe."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._tokens = {}
        self._challenges = {}
        self._lock = threading.Lock()

    def challenge(self, host):
        with self._lock:
            return self._challenges.get(host)

    def remember_challenge(self, host, challenge):
        with self._lock:
            self._challenges[host] = challenge

    def get(self, key):
        with self._lock:
            token = self._tokens.get(key)
            if token is None:
                return None
            if self._clock() >= token.expires_at:
                del self._tokens[key]
                return None
            return token.value

    def put(self, key, token):
        with self._lock:
            self._tokens[key] = token

    def now(self):
        return self._clock()


# --- one registry host's state -------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """What to do after a 401: send ``header`` again, or first run ``token_request``."""

    header: str | None = None
    token_request: TokenRequest | None = None


class Authorizer:
    """Auth state for one registry host: the last challenge seen, and the token cache.

    ``header(scope)`` gives the Authorization to send proactively (None if none known);
    ``respond(www_authenticate, scope)`` turns a 401 into an Answer;
    ``store_token(request, status, body)`` records a token server's answer and returns the header.
    """

    def __init__(self, host, credentials=ANONYMOUS, cache=None):
        self.host = host
        self.credentials = credentials
        self.cache = cache or TokenCache()

    def header(self, scope):
        if self.credentials.registry_token:
            return "Bearer " + self.credentials.registry_token
        challenge = self.cache.challenge(self.host)
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            return self._basic() if (self.credentials.username or self.credentials.password) else None
        token = self.cache.get(self._key(challenge, scope))
        return "Bearer " + token if token else None

    def respond(self, www_authenticate, scope):
        """The Answer to a 401 carrying ``www_authenticate`` for a request needing ``scope``.

        The caller bounds the rounds: a request still refused after one fresh answer fails
        with Unauthenticated.
        """
        challenges = parse_www_authenticate(www_authenticate)
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        if self.credentials.registry_token:
            return Answer(header="Bearer " + self.credentials.registry_token)
        if bearer is not None:
            self.cache.remember_challenge(self.host, bearer)
            scopes = [scope] + [s for s in bearer.params.get("scope", "").split(" ") if s]
            request = token_request(bearer, scopes, self.credentials)
            # cached under the scope the next header() call asks by
            return Answer(token_request=TokenRequest(request.method, request.url, request.headers,
                                                     request.body, self._key(bearer, scope)))
        if basic is not None:
            self.cache.remember_challenge(self.host, basic)
            if not (self.credentials.username or self.credentials.password):
                raise Unauthenticated("%s: the registry asks for a username and password (Basic auth), "
                                      "none were given" % self.host)
            return Answer(header=self._basic())
        raise Unauthenticated("%s: unauthorized, and no usable challenge in WWW-Authenticate %r"
                              % (self.host, www_authenticate))

    def store_token(self, request, status, body):
        token = parse_token_response(status, body, self.cache.now(), request.url.split("?")[0])
        self.cache.put(request.key, token)
        return "Bearer " + token.value

    def _key(self, challenge, scope):
        return (challenge.realm, challenge.params.get("service", ""), (scope,), self.credentials.fingerprint())

    def _basic(self):
        return basic_header(self.credentials.username, self.credentials.password)
