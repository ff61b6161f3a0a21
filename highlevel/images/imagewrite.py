"""A new image from a base image and new layers: config, manifest, snapshots, names.

    with store.lease() as lease:
        blob = layerwrite.store_layer(store, upper, lease)
        image_id = store_image(store, base_id, [blob], names=["example.com/app:v1"],
                               config={"Cmd": ["sh"]}, history=[{"created_by": "RUN make"}],
                               lease=lease, epoch=None)

``base_id``: an image id the store has (``sha256:<config digest>``) or None
(``scratch``).  ``config``: the new image's ``config`` section (User, Env,
Cmd, ...; see ``changes.py`` for Dockerfile-style edits); None keeps the
base's.  ``history``: entries appended to the base's history, one per new
layer plus any ``"empty_layer": true`` ones (for config-only steps), in
order; None writes one ``gantry`` entry per layer.

What is written: the config (base config + diff_ids + history + created, in
canonical JSON), an OCI manifest listing the base's layers then the new ones
(Docker layer media types become their OCI equals, same bytes), each new
layer's committed snapshot (unpacked from its stored blob, unless a snapshot
of that chain ID exists already: a builder may commit its own upper dir under
the chain ID first and save the unpack), and the image row with its names
(store.record_image, one transaction).  ``created``: SOURCE_DATE_EPOCH when
given (``epoch``), else now, so a rebuild with an epoch has the same id.
"""
from __future__ import annotations

import copy
import json
import time

from .. import errors
from . import reference
from .registry import manifests
from .snapshots import chain_ids

_OCI_EQUIVALENT = {
    "application/vnd.docker.image.rootfs.diff.tar.gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.docker.image.rootfs.diff.tar.zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar": "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
}
HISTORY_BY = "gantry"


def canonical_json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def rfc3339(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(seconds)))


def oci_layer_type(media_type):
    return _OCI_EQUIVALENT.get(media_type, media_type)


def new_config(base, new_diff_ids, history, created, config=None, platform=None):
    """The image config (a dict) for ``base`` (a config dict or None) plus layers ``new_diff_ids``.

    ``history``: entries to append; each gets ``created`` unless it has one.  Their count
    without ``empty_layer`` ones must match the new layers (what docker and containerd check)."""
    out = copy.deepcopy(base) if base else {"architecture": (platform or {}).get("architecture", "amd64"),
                                            "os": (platform or {}).get("os", "linux"), "config": {}}
    if platform and not base:
        out.update({k: v for k, v in platform.items() if k in ("architecture", "os", "variant")})
    rootfs = out.get("rootfs") or {}
    out["rootfs"] = {"type": "layers", "diff_ids": list(rootfs.get("diff_ids") or []) + list(new_diff_ids)}
    if history is None:
        history = [{"created_by": HISTORY_BY} for _ in new_diff_ids]
    real = [h for h in history if not h.get("empty_layer")]
    if len(real) != len(new_diff_ids):
        raise errors.InvalidArgument(
            f"image config: {len(real)} history entries with a layer for {len(new_diff_ids)} new layers")
    out["history"] = list(out.get("history") or []) + [{"created": created, **h} for h in history]
    out["created"] = created
    if config is not None:
        out["config"] = copy.deepcopy(config)
    out.setdefault("config", {})
    return out


def manifest_for(config_bytes, layers):
    """OCI manifest bytes for a config and ``layers`` ([(digest, media type, size)], bottom first)."""
    return canonical_json({
        "schemaVersion": 2,
        "mediaType": manifests.OCI_MANIFEST,
        "config": {"mediaType": manifests.OCI_CONFIG, "digest": manifests.sha256_digest(config_bytes),
                   "size": len(config_bytes)},
        "layers": [{"mediaType": oci_layer_type(m), "digest": d, "size": s} for d, m, s in layers],
    })


def tag_names(names):
    """User names -> [(canonical ``name:tag``, 'tag')]; a digest reference is refused (it is not ours to set)."""
    out = []
    for n in names:
        r = reference.parse(n)
        if r.digest is not None:
            raise errors.InvalidArgument(f"image name {n!r}: a digest reference cannot name a new image")
        out.append((r.tagged_name(), "tag"))
    return out


def store_image(store, base_id, blobs, *, names=(), config=None, history=None, lease=None, epoch=None,
                platform=None):
    """Record a new image (see the module docstring); returns its id (``sha256:<config digest>``).

    ``blobs``: layerwrite.LayerBlob-like objects (digest, size, diff_id, media_type), already in
    ``store.content`` (and in ``lease``, which must be held until this returns)."""
    base_cfg, base_layers = None, []
    if base_id is not None:
        rec = store.meta.get_image(base_id)
        if rec is None:
            raise errors.NotFound(f"new image: base image {base_id} not found")
        base_cfg = store.config(base_id)
        base_layers = [(lay.digest, lay.media_type, lay.size) for lay in rec.layers]
    created = rfc3339(time.time() if epoch is None else epoch)
    cfg = new_config(base_cfg, [b.diff_id for b in blobs], history, created, config, platform)
    cfg_bytes = canonical_json(cfg)
    layers = base_layers + [(b.digest, b.media_type, b.size) for b in blobs]
    man_bytes = manifest_for(cfg_bytes, layers)
    if lease is not None:
        for d in (manifests.sha256_digest(cfg_bytes), manifests.sha256_digest(man_bytes)):
            lease.add_content(d)
    config_digest = store.content.put_bytes(cfg_bytes)
    manifest_digest = store.content.put_bytes(man_bytes)
    chains = chain_ids(cfg["rootfs"]["diff_ids"])
    first_new = len(base_layers)
    for i, blob in enumerate(blobs, start=first_new):
        if lease is not None:
            lease.add_snapshot(chains[i])
        if not store.snapshots.exists(chains[i]):
            with store.content.open(blob.digest) as f:
                store.unpack_layer(chains[i], chains[i - 1] if i else None, f, blob.diff_id)
    return store.record_image(tag_names(names), manifest_digest, manifests.OCI_MANIFEST, config_digest,
                              [(d, oci_layer_type(m), s) for d, m, s in layers])


def tag(store, image_id, names):
    """Point more names at an image the store has (names move away from any other image)."""
    rec = store.meta.get_image(image_id)
    if rec is None:
        raise errors.NotFound(f"tag {image_id}: image not found")
    with store.lock:
        store.meta.put_image(rec, tag_names(names))
    return image_id
