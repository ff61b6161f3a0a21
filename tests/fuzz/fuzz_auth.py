"""highlevel/images/registry/auth.py: WWW-Authenticate challenges and token answers.

The input is a WWW-Authenticate value, then (after the first NUL) a token
server's answer.  Parsing never raises; an Authorizer answers with a header or
a token request, or refuses with Unauthenticated/InvalidArgument; a token
answer becomes a Token or Unauthenticated."""
from gantry.highlevel import errors
from gantry.highlevel.images.registry import auth

from .harness import Target

CREDENTIALS = (auth.ANONYMOUS, auth.Credentials("user", "pass"), auth.Credentials(identity_token="refresh"),
               auth.Credentials(registry_token="tok"))


def check(data):
    head, _, body = data.partition(b"\0")
    header = head.decode("utf-8", "replace")
    challenges = auth.parse_www_authenticate(header)
    for c in challenges:
        assert c.scheme and c.scheme == c.scheme.lower()
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in c.params.items())
    creds = CREDENTIALS[len(head) % len(CREDENTIALS)]
    a = auth.Authorizer("registry.test", creds)
    try:
        answer = a.respond(header, "repository:library/busybox:pull")
    except errors.Unauthenticated:
        return
    assert (answer.header is None) != (answer.token_request is None)
    if answer.token_request is not None:
        req = answer.token_request
        assert req.method in ("GET", "POST") and req.url.lower().startswith(("http://", "https://"))
        value = a.store_token(req, 200, body)
        assert value.startswith("Bearer ") and a.header("repository:library/busybox:pull") == value
    try:
        auth.Credentials.from_auth_config(auth=body.decode("utf-8", "replace"))
    except errors.InvalidArgument:
        pass


TARGET = Target("auth", check, ("gantry.highlevel.images.registry.auth",),
                allowed=(errors.Unauthenticated,), max_len=8192)
