"""Push: an image of the local store to a registry (the thin adapter over registry/upload.py).

    pusher = Pusher(registry_config_dir="/etc/gantry/certs.d", chunk_size=None)
    result = pusher.push(store, "example.com/app:v1", target=None, auth=None, progress=None,
                         tls_verify=True)
    result.digest, result.uploaded, result.skipped, result.mounted

Steps::

    the local image (by name or id) -> its manifest, config and layer blobs (content store)
    endpoints from hosts.toml (the same files and credentials as pull), those that may "push"
    each layer, then the config: registry/upload.BlobUpload (HEAD -> skip | mount | upload)
    PUT the manifest bytes as stored, under the tag, with their media type
    record ``name@digest`` for the image (CRI shows it as a repo digest)

Cross-repository mount: a layer that another image of the store came with from
a repository of the same registry is mounted from there (``?mount=&from=``);
a registry that declines answers 202 and the upload goes on in that session.
Non-distributable (foreign) layers are not pushed, as Docker does.

``chunk_size``: None uploads each blob in one PUT; a number uploads blobs larger
than that in PATCH chunks of that size.  ``tls_verify=False`` is podman's
``--tls-verify=false``: certificates are not checked and plain HTTP is tried after
HTTPS.  ``progress(event)`` gets a dict per step: ``{"digest", "status":
"exists"|"mounted"|"uploading"|"pushed"|"manifest", "done", "total"}``.

Auth: credentials_from(auth) (pull.py) and the same Authorizer; the token scope
is ``repository:<name>:pull,push`` (plus the mount source's ``pull``, which the
registry's challenge names).
"""
from __future__ import annotations

import dataclasses
import logging
import time
import urllib.parse
from dataclasses import dataclass

from .. import errors
from . import reference
from .pull import credentials_from
from .registry import auth as registry_auth
from .registry import hosts, manifests
from .registry.client import Repository, _drain, registry_error
from .registry.transport import Retry, Transport
from .registry.upload import BlobUpload
from .service import ImageService

log = logging.getLogger("gantry.images.push")

SEND_BLOCK = 1 << 20


@dataclass(frozen=True)
class PushResult:
    name: str              # the canonical name:tag pushed
    digest: str            # the manifest digest
    uploaded: list         # blob digests sent
    skipped: list          # already present
    mounted: list          # mounted from another repository
    requests: int          # HTTP requests made for the blobs


class Pusher:
    def __init__(self, registry_config_dir=None, chunk_size=None, transport=None, retry=None, stall_timeout=60.0):
        self.registry_config_dir = registry_config_dir
        self.chunk_size = chunk_size
        self.transport = transport or Transport(stall_timeout=stall_timeout)
        self.retry = retry or Retry()
        self.tokens = registry_auth.TokenCache()

    @classmethod
    def from_config(cls, cfg):
        return cls(registry_config_dir=getattr(cfg, "registry_config_dir", None),
                   stall_timeout=getattr(cfg, "pull_progress_timeout", 60.0))

    def push(self, store, name, target=None, auth=None, progress=None, tls_verify=True, chunk_size=None):
        svc = ImageService(store)
        image_id = svc.resolve(name)
        if image_id is None:
            raise errors.NotFound(f"push {name}: no such image")
        ref = reference.parse(target or name)
        if ref.digest is not None:
            raise errors.InvalidArgument(f"push {target or name}: push to a tag, not a digest")
        what = f"push {ref}"
        endpoints = [e for e in _endpoints(ref, self.registry_config_dir, tls_verify) if e.can("push")]
        if not endpoints:
            raise errors.FailedPrecondition(f"{what}: no registry endpoint with the push capability "
                                            f"(hosts.toml of {ref.domain})")
        repo = Repository(ref, endpoints, credentials_from(auth), self.transport, self.tokens, self.retry,
                          actions="pull,push")
        job = _Push(self, store, repo, ref, image_id, progress, chunk_size or self.chunk_size)
        try:
            return repo._over_endpoints("push", what, job.run)
        except errors.GantryError as exc:
            if not str(exc).startswith(what):
                raise type(exc)(f"{what}: {exc}") from exc
            raise


def _endpoints(ref, config_dir, tls_verify):
    found = hosts.endpoints(ref.domain, config_dir)
    if tls_verify is not False:
        return found
    out = []
    for e in found:
        out.append(dataclasses.replace(e, skip_verify=True))
        if e.scheme == "https":
            out.append(dataclasses.replace(e, scheme="http", skip_verify=False))
    return out


class _Push:
    def __init__(self, pusher, store, repo, ref, image_id, progress, chunk_size):
        self.pusher, self.store, self.repo, self.ref = pusher, store, repo, ref
        self.image_id = image_id
        self.progress = progress or (lambda event: None)
        self.chunk_size = chunk_size

    def run(self, endpoint):
        started = time.monotonic()
        self.repo.ping(endpoint)
        rec = self.store.meta.get_image(self.image_id)
        if rec is None:
            raise errors.NotFound(f"image {self.image_id}: removed while pushing")
        mount_sources = _mount_sources(self.store, self.ref.domain, self.ref.path)
        blobs = [(lay.digest, lay.size, lay.media_type) for lay in rec.layers]
        blobs.append((rec.id, self.store.content.info(rec.id).size, manifests.OCI_CONFIG))
        uploaded, skipped, mounted, requests = [], [], [], 0
        seen = set()
        for digest, size, media_type in blobs:
            if digest in seen:
                continue
            seen.add(digest)
            if not manifests.LAYER_TYPES.get(media_type, (None, True))[1]:
                log.info("push %s: layer %s is non-distributable: not pushed", self.ref, digest)
                continue
            up = BlobUpload(endpoint.base_url, self.ref.path, digest, size, chunk_size=self.chunk_size,
                            mount_from=mount_sources.get(digest))
            self._blob(endpoint, up)
            requests += up.requests
            (skipped if up.skipped else mounted if up.mounted else uploaded).append(digest)
        digest = self._manifest(endpoint, rec)
        names = [(self.ref.tagged_name(), "tag"), (self.ref.digested_name(digest), "digest")]
        with self.store.lock:
            self.store.meta.put_image(rec, names)
        log.info("push %s: %s, %d blobs uploaded, %d present, %d mounted in %.2fs", self.ref, digest,
                 len(uploaded), len(skipped), len(mounted), time.monotonic() - started)
        return PushResult(self.ref.tagged_name(), digest, uploaded, skipped, mounted, requests)

    def _blob(self, endpoint, up):
        what = f"push blob {up.digest} to {self.ref.name}"
        while True:
            req = up.next_request()
            if req is None:
                return
            if req.method in ("PATCH", "PUT") and req.body:
                self.progress({"digest": up.digest, "status": "uploading", "done": req.body[0], "total": up.size})
            body = None if req.body is None else self._body_factory(up.digest, up.size, *req.body)
            if req.method == "POST" and "mount=" in req.url:
                resp = self._mount(endpoint, req, what, up)
            else:
                resp = self._send(endpoint, req, what, body)
            status, headers = resp.status, resp.headers
            _drain(resp)
            up.answer(status, headers, url=req.url)
            if up.done:
                status = "exists" if up.skipped else "mounted" if up.mounted else "pushed"
                self.progress({"digest": up.digest, "status": status, "done": up.size, "total": up.size})

    def _mount(self, endpoint, req, what, up):
        """A mount the credentials do not allow (no pull on the source) becomes a plain upload."""
        try:
            return self._send(endpoint, req, what, None)
        except (errors.Unauthenticated, errors.PermissionDenied) as exc:
            log.info("%s: mount from %s refused (%s): uploading", what, up.mount_from, exc)
            up.mount_refused()
            return self._send(endpoint, up.next_request(), what, None)

    def _send(self, endpoint, req, what, body):
        if _origin(req.url) == _origin(endpoint.base_url):
            return self.repo._send(endpoint, req.method, req.url, what, req.headers, expect=req.expect, body=body)
        # an upload URL on another host (blob storage): never send it the registry's credentials
        resp = self.pusher.transport.request(req.method, req.url, req.headers, body() if body else None)
        if resp.status not in req.expect:
            raise registry_error(resp.status, _drain(resp), what)
        return resp

    def _body_factory(self, digest, size, offset, length):
        store, progress = self.store, self.progress

        def make():
            return _Slice(store.content.open(digest), offset, length,
                          lambda done: progress({"digest": digest, "status": "uploading",
                                                 "done": offset + done, "total": size}))
        return make

    def _manifest(self, endpoint, rec):
        body = self.store.content.read_bytes(rec.manifest_digest)
        media_type = rec.manifest_media_type or manifests.kind_of("", body)[1]
        url = f"{endpoint.base_url}/{self.ref.path}/manifests/{self.ref.tag}"
        what = f"push manifest {rec.manifest_digest} to {self.ref}"
        resp = self.repo._send(endpoint, "PUT", url, what, {"Content-Type": media_type,
                                                              "Content-Length": str(len(body))},
                               expect=(201, 204), body=body)
        echoed = resp.headers.get("Docker-Content-Digest")
        _drain(resp)
        digest = manifests.sha256_digest(body)
        if echoed and echoed != digest:
            raise errors.DataLoss(f"{what}: registry stored it as {echoed}")
        self.progress({"digest": digest, "status": "manifest", "done": len(body), "total": len(body)})
        return digest


def _mount_sources(store, domain, path):
    """{blob digest: another repository on ``domain`` an image of the store with that blob is named in}."""
    repos_of = {}
    for name, image_id, _kind in store.meta.all_names():
        try:
            r = reference.parse(name)
        except errors.InvalidArgument:
            continue
        if r.domain == domain and r.path != path:
            repos_of.setdefault(image_id, r.path)
    out = {}
    for image_id, repo in sorted(repos_of.items()):
        rec = store.meta.get_image(image_id)
        for digest in (rec.blobs if rec else {}):
            out.setdefault(digest, repo)
    return out


def _origin(url):
    p = urllib.parse.urlsplit(url)
    return (p.scheme, p.netloc)


class _Slice:
    """``length`` bytes of a blob from ``offset``, as a file-like body; closes the blob at the end."""

    def __init__(self, f, offset, length, on_progress=None):
        self.f, self.left, self.done = f, length, 0
        self.on_progress = on_progress
        f.seek(offset)

    def read(self, n=-1):
        n = self.left if n is None or n < 0 else min(n, self.left, SEND_BLOCK)
        data = self.f.read(n) if n > 0 else b""
        if len(data) < n:
            self.f.close()
            raise errors.DataLoss(f"push: blob {getattr(self.f, 'name', '?')} ended early")
        self.left -= len(data)
        self.done += len(data)
        if not data or self.left == 0:
            self.f.close()
        if data and self.on_progress is not None and (self.done % (8 * SEND_BLOCK) < len(data) or not self.left):
            self.on_progress(self.done)
        return data
