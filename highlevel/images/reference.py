"""Image references: parsing, normalisation, familiar and canonical names (pure).

A reference names a repository on a registry and, optionally, a tag and/or a
digest::

    reference := [domain "/"] path [":" tag] ["@" digest]

Normalisation follows what users of docker, containerd and crictl expect:

- the first ``/``-separated component is the registry domain only if it
  contains ``.`` or ``:``, is ``localhost``, or has upper-case letters;
  otherwise the domain is ``docker.io`` (``index.docker.io`` also means
  ``docker.io``);
- on ``docker.io`` a one-segment name gets ``library/`` in front;
- with neither tag nor digest the tag is ``latest``;
- ``docker.io`` is spoken to on the wire as ``registry-1.docker.io``.

The canonical string is ``docker.io/library/busybox:1.36``; the familiar one
(what ``docker images`` shows) is ``busybox:1.36``.
"""
import re
from dataclasses import dataclass

from ..errors import InvalidArgument

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
DOCKER_WIRE_HOST = "registry-1.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_MAX = 255

_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    r"(?:%s(?:\.%s)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?\Z" % (_DOMAIN_COMPONENT, _DOMAIN_COMPONENT)
)
_TAG = re.compile(r"[\w][\w.-]{0,127}\Z", re.ASCII)   # \w as Go means it: [A-Za-z0-9_]
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+\Z")
_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}
_BARE_ID = re.compile(r"[a-f0-9]{64}\Z")


@dataclass(frozen=True)
class Reference:
    """A normalised reference.  ``tag`` is None only when a digest is given."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self):
        """``docker.io/library/busybox``: the repository, without tag or digest."""
        return "%s/%s" % (self.domain, self.path)

    def __str__(self):
        return self.canonical()

    def canonical(self):
        """``docker.io/library/busybox:1.36`` (``@sha256:…`` appended when pinned)."""
        return self.name + _suffix(self.tag, self.digest)

    def familiar(self):
        """The short form users type: ``busybox:1.36``, ``foo/bar``, ``127.0.0.1:5000/x:1``."""
        name = self.name
        if self.domain == DEFAULT_DOMAIN and not _looks_like_domain(self.path.partition("/")[0]):
            name = self.path
            if name.startswith(OFFICIAL_REPO_PREFIX) and name.count("/") == 1:
                name = name[len(OFFICIAL_REPO_PREFIX):]
        return name + _suffix(self.tag, self.digest)

    @property
    def wire_host(self):
        """The host[:port] the registry API is spoken to (``registry-1.docker.io`` for docker.io)."""
        return DOCKER_WIRE_HOST if self.domain == DEFAULT_DOMAIN else self.domain

    @property
    def object(self):
        """What to ask ``/v2/<path>/manifests/<object>`` for: the digest if pinned, else the tag."""
        return self.digest or self.tag

    def scope(self, actions="pull"):
        """The token scope for this repository (``repository:library/busybox:pull``)."""
        return "repository:%s:%s" % (self.path, actions)

    def with_digest(self, digest):
        """The same repository and tag, pinned to ``digest``."""
        return Reference(self.domain, self.path, self.tag, validate_digest(digest))

    def tagged_name(self):
        """The canonical ``name:tag`` string, or None for a digest-only reference."""
        return None if self.tag is None else "%s:%s" % (self.name, self.tag)

    def digested_name(self, digest=None):
        """The canonical ``name@digest`` string."""
        return "%s@%s" % (self.name, digest or self.digest)


def _suffix(tag, digest):
    return (":" + tag if tag else "") + ("@" + digest if digest else "")


def parse(text):
    """Parse and normalise ``text``; raises InvalidArgument naming the problem."""
    if not isinstance(text, str) or not text:
        raise InvalidArgument("parse image reference %r: empty reference" % (text,))
    if text != text.strip() or any(c.isspace() for c in text):
        raise InvalidArgument("parse image reference %r: contains whitespace" % text)
    if _BARE_ID.match(text):
        raise InvalidArgument(
            "parse image reference %r: a 64-character hex string is an image id, not a reference" % text)
    remainder, digest = text, None
    if "@" in remainder:
        remainder, digest = remainder.split("@", 1)
        digest = validate_digest(digest, text)
    domain, path = _split_domain(remainder, text)
    tag = None
    last = path.rfind(":")
    if last != -1:
        path, tag = path[:last], path[last + 1:]
        if not _TAG.match(tag):
            raise InvalidArgument("parse image reference %r: invalid tag %r" % (text, tag))
    _validate_path(path, text)
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_REPO_PREFIX + path
    if len(domain) + 1 + len(path) > NAME_TOTAL_MAX:
        raise InvalidArgument("parse image reference %r: repository name longer than %d characters"
                              % (text, NAME_TOTAL_MAX))
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def _looks_like_domain(first):
    """Whether a first path component is read as a registry host (so docker.io/f.io/x stays qualified)."""
    return "." in first or ":" in first or first == "localhost" or first.lower() != first


def _split_domain(remainder, text):
    if not remainder:
        raise InvalidArgument("parse image reference %r: missing repository name" % text)
    first, sep, rest = remainder.partition("/")
    is_domain = sep and _looks_like_domain(first)
    if not is_domain:
        return DEFAULT_DOMAIN, remainder
    if not _DOMAIN.match(first):
        raise InvalidArgument("parse image reference %r: invalid registry host %r" % (text, first))
    if not rest:
        raise InvalidArgument("parse image reference %r: missing repository name" % text)
    return first, rest


def _validate_path(path, text):
    if not path:
        raise InvalidArgument("parse image reference %r: missing repository name" % text)
    if path.lower() != path:
        raise InvalidArgument("parse image reference %r: repository name must be lowercase" % text)
    for component in path.split("/"):
        if not _PATH_COMPONENT.match(component):
            raise InvalidArgument("parse image reference %r: invalid repository name component %r"
                                  % (text, component))


def validate_digest(digest, text=None):
    """Check ``algorithm:hex`` and the hex length of known algorithms; return the digest."""
    where = text if text is not None else digest
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise InvalidArgument("parse digest %r: not of the form algorithm:hex" % (where,))
    algorithm, encoded = digest.split(":", 1)
    length = _HEX_LENGTH.get(algorithm)
    if length is None:
        raise InvalidArgument("parse digest %r: unsupported digest algorithm %r" % (where, algorithm))
    if len(encoded) != length or not re.fullmatch(r"[a-f0-9]+", encoded):
        raise InvalidArgument("parse digest %r: %s needs %d lowercase hex characters"
                              % (where, algorithm, length))
    return digest


def is_reference(text):
    """True when ``text`` parses as a reference (for callers that also accept image ids)."""
    try:
        parse(text)
    except InvalidArgument:
        return False
    return True
