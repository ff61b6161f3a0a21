"""Single-use tokens that bind a streaming URL to the CRI request that made it.

    token = cache.insert(request)   # in the CRI call: URL .../exec/<token>
    request = cache.consume(token)  # on the HTTP request: once, within TTL

Tokens are 128 random bits from ``secrets`` (URL-safe base64, 22 chars).  A
token lives ``ttl`` seconds (kubelet: 1 minute) and is good for one
connection; the cache holds at most ``capacity`` of them: inserting into a
full cache first drops expired ones, then the oldest.  ``consume`` of an
unknown, replayed or expired token returns None (the server answers 404).
"""
import secrets
import threading
import time
from collections import OrderedDict

TTL = 60.0
CAPACITY = 1000


class TokenCache:
    def __init__(self, ttl=TTL, capacity=CAPACITY, clock=time.monotonic):
        self.ttl = ttl
        self.capacity = capacity
        self.clock = clock
        self.entries = OrderedDict()  # token -> (kind, request, expires); oldest first
        self.lock = threading.Lock()

    def insert(self, kind, request):
        """A new token for (kind, request); kind is "exec", "attach" or "portforward"."""
        token = secrets.token_urlsafe(16)
        now = self.clock()
        with self.lock:
            self._expire(now)
            while len(self.entries) >= self.capacity:
                self.entries.popitem(last=False)
            self.entries[token] = (kind, request, now + self.ttl)
        return token

    def consume(self, kind, token):
        """The request bound to token if it is live and of this kind; the token is spent either way."""
        with self.lock:
            entry = self.entries.pop(token, None)
        if entry is None:
            return None
        entry_kind, request, expires = entry
        if entry_kind != kind or self.clock() >= expires:
            return None
        return request

    def _expire(self, now):
        while self.entries:
            token, (_, _, expires) = next(iter(self.entries.items()))
            if expires > now:
                return
            self.entries.popitem(last=False)

    def __len__(self):
        return len(self.entries)
