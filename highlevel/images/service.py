"""ImageService: the image operations gantryd's CRI ImageService adapter calls.

    svc = ImageService(ImageStore(root), puller=pull_fn)
    svc.list_images(filter_ref=None) -> [Image]
    svc.image_status(ref)            -> Image | None      (absent is not an error)
    svc.pull(ref, auth=None, progress=None) -> image id   (delegates to ``puller``)
    svc.remove(ref)                  -> None               (idempotent)
    svc.fs_info()                    -> FsUsage
    svc.pin(ref, pinned=True)        -> None               (pinned images are kept by kubelet's GC)
    svc.config(image_id)             -> dict               (the OCI image config, for verbose status)

``ref`` is anything a user types: an image id (``sha256:<hex>``, the bare
64-hex id, or an unambiguous id prefix of at least 12 hex characters), a tag
(``busybox``, ``docker.io/library/busybox:1.36``) or a digest reference
(``busybox@sha256:…``).  Names are normalised with reference.py.

Removal: by id, or by digest reference, the image goes with every name; by tag
only that tag goes, and the image with it once it has no tag left.  Then GC
frees content and snapshots nothing else uses.

``puller(store, ref, auth=auth, progress=progress)`` returns the image id; the
default is ``pull.pull`` from this package (the registry side).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from .. import errors
from . import reference

_HEX64 = re.compile(r"[a-f0-9]{64}\Z")
_HEXPREFIX = re.compile(r"(?:sha256:)?([a-f0-9]{12,64})\Z")


@dataclass
class Image:
    id: str                                   # sha256:<config digest hex>
    repo_tags: list = field(default_factory=list)
    repo_digests: list = field(default_factory=list)
    size: int = 0
    uid: int | None = None                    # numeric config User
    username: str = ""                        # non-numeric config User
    annotations: dict = field(default_factory=dict)
    pinned: bool = False
    manifest_digest: str = ""
    chain_ids: list = field(default_factory=list)


@dataclass
class FsUsage:
    timestamp_ns: int
    mountpoint: str
    used_bytes: int
    inodes_used: int


def user_fields(user):
    """Config ``User`` -> (uid or None, username): "1000", "1000:1000" -> uid; "nobody" -> name."""
    name = (user or "").split(":", 1)[0]
    if name.isdigit():
        return int(name), ""
    return None, name


class ImageService:
    def __init__(self, store, puller=None):
        self.store = store
        self._puller = puller

    # -- lookups -------------------------------------------------------------
    def resolve(self, ref):
        """The image id ``ref`` names, or None."""
        meta = self.store.meta
        if not ref:
            raise errors.InvalidArgument("image reference: empty")
        if ref.startswith("sha256:") and _HEX64.match(ref[7:]):
            return ref if meta.get_image(ref) else None
        if _HEX64.match(ref):
            if meta.get_image("sha256:" + ref):
                return "sha256:" + ref
        try:
            r = reference.parse(ref)
        except errors.InvalidArgument:
            r = None
        if r is not None:
            name = r.digested_name() if r.digest else r.tagged_name()
            iid = meta.image_id_by_name(name)
            if iid is not None:
                return iid
        m = _HEXPREFIX.match(ref)
        if m:
            hits = [i for i in meta.image_ids() if i[7:].startswith(m.group(1))]
            if len(hits) == 1:
                return hits[0]
        if r is None and not m:
            raise errors.InvalidArgument(f"image reference {ref!r}: neither an image id nor a reference")
        return None

    def _image(self, image_id):
        rec = self.store.meta.get_image(image_id)
        if rec is None:
            return None
        names = self.store.meta.names_of(image_id)
        uid, username = user_fields(rec.user)
        return Image(
            id=rec.id,
            repo_tags=[n for n, k in names if k == "tag"],
            repo_digests=[n for n, k in names if k == "digest"],
            size=rec.size, uid=uid, username=username, annotations=rec.annotations,
            pinned=rec.pinned, manifest_digest=rec.manifest_digest,
            chain_ids=[layer.chain_id for layer in rec.layers])

    def image_status(self, ref):
        iid = self.resolve(ref)
        return self._image(iid) if iid else None

    def list_images(self, filter_ref=None):
        if filter_ref:
            img = self.image_status(filter_ref)
            return [img] if img else []
        out = []
        for iid in self.store.meta.image_ids():
            img = self._image(iid)
            if img is not None:
                out.append(img)
        return out

    def config(self, image_id):
        return self.store.config(image_id)

    # -- changes -------------------------------------------------------------
    def pull(self, ref, auth=None, progress=None):
        puller = self._puller
        if puller is None:
            try:
                from . import pull as pull_module
            except ImportError as e:
                raise errors.Unimplemented(f"pull {ref}: no registry client available ({e})") from None
            puller = pull_module.pull
        return puller(self.store, ref, auth=auth, progress=progress)

    def remove(self, ref):
        """Remove by id, tag or digest (see the module docstring); absent is fine."""
        meta = self.store.meta
        with self.store.lock:
            iid = self.resolve(ref)
            if iid is None:
                return
            by_tag = None
            if not (ref == iid or _HEX64.match(ref) or ref.startswith("sha256:")):
                try:
                    r = reference.parse(ref)
                    if r.digest is None:
                        by_tag = r.tagged_name()
                except errors.InvalidArgument:
                    pass
            if by_tag is not None and meta.image_id_by_name(by_tag) == iid:
                with meta.transaction() as tx:
                    tx.execute("DELETE FROM image_names WHERE name=?", (by_tag,))
                    left = tx.execute("SELECT COUNT(*) FROM image_names WHERE image_id=? AND kind='tag'",
                                      (iid,)).fetchone()[0]
                    if left == 0:
                        tx.execute("DELETE FROM images WHERE id=?", (iid,))
            else:
                meta.delete_image(iid)
            self.store.gc()

    def pin(self, ref, pinned=True):
        """Mark an image pinned (kubelet never garbage-collects it), e.g. the pause image."""
        iid = self.resolve(ref)
        if iid is None:
            raise errors.NotFound(f"pin {ref}: no such image")
        self.store.meta.set_pinned(iid, pinned)

    def fs_info(self):
        """Bytes and inodes the snapshots take (what ImageFsInfo reports).

        Committed snapshots are measured once, when committed; only active ones
        (container root filesystems) are walked here.
        """
        used, inodes = self.store.snapshots.total_usage()
        return FsUsage(time.time_ns(), self.store.snapshots.root, used, inodes)
