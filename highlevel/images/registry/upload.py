"""Pushing one blob: the distribution-spec upload exchange as a sans-I/O state machine.

The exchange (client → registry; every request may first take auth.py's 401 detour)::

    HEAD  /v2/<name>/blobs/<digest>                          200: present, done (skipped)   404: go on
    POST  /v2/<name>/blobs/uploads/?mount=<digest>&from=<repo>
                                                             201: mounted from <repo>, done
                                                             202 + Location: no mount, an upload began
    POST  /v2/<name>/blobs/uploads/                          202 + Location: an upload began
  monolithic:
    PUT   <Location>&digest=<digest>   body: the whole blob  201: done
  chunked (chunk_size set and the blob larger):
    PATCH <Location>   Content-Range: <first>-<last>         202 + Location + Range: 0-<last received>
    ... one PATCH per chunk, each to the newest Location ...
    PUT   <Location>&digest=<digest>   empty body            201: done
    a PATCH answered 416 (the registry holds other bytes than we think):
    GET   <Location>                                         204 + Range: resume after what it holds

``BlobUpload`` tells the adapter the next request (``next_request()`` → a
Request, or None when done) and takes each answer (``answer(status,
headers)``); the adapter sends ``body=(offset, length)`` bytes of the blob.
Transitions are in ``TRANSITIONS`` (state → status → next state).  A
``Location`` is resolved against the URL it answered (``resolve_location``);
``Range`` is parsed by ``parse_range`` (both table-tested and fuzzed: their
input comes from the registry).  A registry that reports fewer bytes than
we sent is resumed from its count; one that reports more, or a Location
that is not http(s), is refused with errors.DataLoss / InvalidArgument.
"""
from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field

from ... import errors

CHECK, MOUNT, START, PATCH, STATUS, PUT, DONE = "check", "mount", "start", "patch", "status", "put", "done"

# state -> {status: next state}; "upload" is PATCH or PUT depending on what is left to send
TRANSITIONS = {
    CHECK: {200: DONE, 404: "begin"},
    MOUNT: {201: DONE, 202: "upload"},
    START: {202: "upload"},
    PATCH: {202: "upload", 204: "upload", 416: STATUS},
    STATUS: {204: "upload", 200: "upload"},
    PUT: {201: DONE, 204: DONE},
}

MAX_REFUSALS = 3
_RANGE = re.compile(r"(?:bytes[ =])?(\d{1,19})-(\d{1,19})\Z")


@dataclass(frozen=True)
class Request:
    method: str
    url: str                 # absolute
    headers: dict = field(default_factory=dict)
    body: tuple | None = None   # (offset, length) of the blob to send, or None for no body
    expect: tuple = ()


def parse_range(value):
    """``Range: 0-<last>`` of an upload -> bytes the registry holds (``last + 1``); None when absent.

    distribution answers ``0-0`` for an empty upload too: the caller decides by what it sent.
    Refuses (errors.InvalidArgument) anything else, and ranges that do not start at 0."""
    if value is None:
        return None
    m = _RANGE.match(value.strip())
    if not m:
        raise errors.InvalidArgument(f"blob upload: registry sent an unusable Range {value[:80]!r}")
    first, last = int(m.group(1)), int(m.group(2))
    if first != 0 or last < first:
        raise errors.InvalidArgument(f"blob upload: registry sent Range {value[:80]!r}, not 0-<n>")
    return last + 1


def resolve_location(base_url, value):
    """The absolute URL of an upload ``Location`` (absolute, or relative to the request's URL)."""
    if not value or any(c <= " " or c == "\x7f" for c in value):
        raise errors.InvalidArgument(f"blob upload: registry sent an unusable Location {str(value)[:80]!r}")
    try:
        url = urllib.parse.urljoin(base_url, value)
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        raise errors.InvalidArgument(f"blob upload: registry sent an unusable Location {value[:80]!r}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise errors.InvalidArgument(f"blob upload: Location {value[:80]!r} is not an http(s) URL")
    return url


def with_query(url, **params):
    """``url`` with ``params`` added to whatever query it has (upload URLs carry state in theirs)."""
    parts = urllib.parse.urlsplit(url)
    extra = urllib.parse.urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class BlobUpload:
    """One blob to one repository (see the module docstring)."""

    def __init__(self, base_url, name, digest, size, *, chunk_size=None, mount_from=None):
        self.base = base_url.rstrip("/")        # .../v2
        self.name, self.digest, self.size = name, digest, size
        self.chunk_size = chunk_size if chunk_size and chunk_size > 0 else None
        self.mount_from = mount_from if mount_from and mount_from != name else None
        self.state = CHECK
        self.location = None
        self.offset = 0            # bytes the registry holds of this upload
        self.sent = None           # (offset, length) of the PATCH in flight
        self.skipped = self.mounted = False
        self.requests = 0
        self.refusals = 0          # PATCHes answered 416 in a row

    @property
    def done(self):
        return self.state == DONE

    def next_request(self):
        if self.state == DONE:
            return None
        self.requests += 1
        blobs = f"{self.base}/{self.name}/blobs"
        if self.state == CHECK:
            return Request("HEAD", f"{blobs}/{self.digest}", expect=(200, 404))
        if self.state == MOUNT:
            url = f"{blobs}/uploads/?" + urllib.parse.urlencode({"mount": self.digest, "from": self.mount_from})
            return Request("POST", url, {"Content-Length": "0"}, expect=(201, 202))
        if self.state == START:
            return Request("POST", f"{blobs}/uploads/", {"Content-Length": "0"}, expect=(202,))
        if self.state == STATUS:
            return Request("GET", self.location, expect=(200, 204))
        if self.state == PATCH:
            length = min(self.chunk_size, self.size - self.offset)
            self.sent = (self.offset, length)
            headers = {"Content-Type": "application/octet-stream", "Content-Length": str(length),
                       "Content-Range": f"{self.offset}-{self.offset + length - 1}"}
            return Request("PATCH", self.location, headers, (self.offset, length), expect=(202, 204, 416))
        # PUT: the rest of the blob (all of it when monolithic, nothing after the last chunk)
        rest = self.size - self.offset
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(rest)}
        return Request("PUT", with_query(self.location, digest=self.digest), headers,
                       (self.offset, rest) if rest else None, expect=(201, 204))

    def mount_refused(self):
        """The credentials may not read the mount source: start a plain upload instead."""
        if self.state != MOUNT:
            raise errors.FailedPrecondition(f"push blob {self.digest}: no mount in flight")
        self.mount_from = None
        self.state = START

    def answer(self, status, headers, url=None):
        """Take the answer to the last request; ``headers``: a mapping with ``get`` (case-insensitive)."""
        nxt = TRANSITIONS.get(self.state, {}).get(status)
        if nxt is None:
            raise errors.Unavailable(f"push blob {self.digest} to {self.name}: unexpected HTTP {status} "
                                     f"in state {self.state}")
        came_from = self.state
        if nxt == DONE:
            self._finish(came_from, headers)
            return
        if nxt == "begin":
            self.state = MOUNT if self.mount_from else START
            return
        if nxt == STATUS:
            self.refusals += 1
            if self.refusals > MAX_REFUSALS:
                raise errors.Unavailable(f"push blob {self.digest} to {self.name}: the registry refused "
                                         f"{self.refusals} chunks in a row (HTTP 416)")
            self.state = STATUS
            return
        if came_from == PATCH:
            self.refusals = 0
        # an upload session: a Location to continue at, maybe a Range of what it holds
        loc = headers.get("Location")
        if loc or self.location is None:
            self.location = resolve_location(url or self.location or self.base, loc)
        if came_from in (PATCH, STATUS):
            self._received(came_from, parse_range(headers.get("Range")))
        else:
            self.offset = 0
        self.state = PATCH if self.chunk_size and self.size - self.offset > 0 and self._chunked() else PUT

    def _chunked(self):
        return self.size > self.chunk_size or self.offset > 0

    def _received(self, came_from, held):
        if held is None:
            if came_from == STATUS:
                raise errors.Unavailable(f"push blob {self.digest}: upload status without a Range")
            held = self.sent[0] + self.sent[1]      # no Range: it took what we sent
        if held > self.size:
            raise errors.DataLoss(f"push blob {self.digest}: registry holds {held} bytes of a {self.size}-byte blob")
        if came_from == STATUS and held == 1 and self.offset == 0:
            held = 0              # "0-0" for an empty upload
        self.offset = held

    def _finish(self, came_from, headers):
        if came_from == CHECK:
            self.skipped = True
        elif came_from == MOUNT:
            self.mounted = True
        else:
            echoed = headers.get("Docker-Content-Digest")
            if echoed and echoed != self.digest:
                raise errors.DataLoss(f"push blob {self.digest} to {self.name}: registry stored it as {echoed}")
            self.offset = self.size
        self.state = DONE
