"""Manifests, indexes and image configs (pure): media types, parsing, layer kinds, digests.

What a pull reads, in order::

    index / manifest list   {"manifests": [descriptor + platform, ...]}   -> pick one (platforms.select)
    image manifest          {"config": descriptor, "layers": [descriptor, ...]}
    image config            {"rootfs": {"diff_ids": [...]}, "os": ..., "architecture": ...}
    layers                  tar, tar+gzip, tar+zstd; non-distributable ones may carry "urls"

Docker schema 2 and OCI media types are both accepted; Docker schema 1 is
refused with a message that says so.
"""
import hashlib
import json
import re
from dataclasses import dataclass, field

from ...errors import DataLoss, InvalidArgument, Unimplemented

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"

DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"

# media type -> (compression, distributable)
LAYER_TYPES = {
    "application/vnd.docker.image.rootfs.diff.tar.gzip": ("gzip", True),
    "application/vnd.docker.image.rootfs.diff.tar.zstd": ("zstd", True),
    "application/vnd.docker.image.rootfs.diff.tar": (None, True),
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": ("gzip", False),
    "application/vnd.oci.image.layer.v1.tar": (None, True),
    "application/vnd.oci.image.layer.v1.tar+gzip": ("gzip", True),
    "application/vnd.oci.image.layer.v1.tar+zstd": ("zstd", True),
    "application/vnd.oci.image.layer.nondistributable.v1.tar": (None, False),
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": ("gzip", False),
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd": ("zstd", False),
}

INDEX_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
SCHEMA1_TYPES = (DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED)

# What we ask for, best first; "*/*" last so that a registry holding only an
# old format answers with it and we can say why we refuse it.
ACCEPT = ", ".join([OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST, "*/*"])

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
_GENERIC_TYPES = ("", "application/json", "application/octet-stream", "text/plain")


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    urls: tuple = ()
    annotations: dict = field(default_factory=dict, hash=False, compare=False)
    platform: dict | None = field(default=None, hash=False, compare=False)

    def to_dict(self):
        out = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform:
            out["platform"] = dict(self.platform)
        return out


@dataclass(frozen=True)
class Manifest:
    media_type: str
    config: Descriptor
    layers: tuple


@dataclass(frozen=True)
class ImageConfig:
    diff_ids: tuple
    os: str
    architecture: str
    variant: str


# --- digests -------------------------------------------------------------------

_SHA256 = re.compile(r"sha256:[a-f0-9]{64}\Z")


def sha256_digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_digest_format(digest, what):
    if not isinstance(digest, str) or not _SHA256.match(digest):
        raise Unimplemented("%s: digest %r: only sha256 digests are supported" % (what, digest))
    return digest


def verify_bytes(data, digest, what, size=None):
    """Raise DataLoss unless ``data`` has ``digest`` (and ``size`` when given)."""
    check_digest_format(digest, what)
    if size is not None and len(data) != size:
        raise DataLoss("%s %s: size %d, expected %d" % (what, digest, len(data), size))
    actual = sha256_digest(data)
    if actual != digest:
        raise DataLoss("%s: digest mismatch: got %s, expected %s" % (what, actual, digest))
    return data


# --- media type dispatch -------------------------------------------------------

def kind_of(content_type, body):
    """"index", "manifest" or raise, from the Content-Type (or the body when it is generic)."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    doc = _load(body, "manifest")
    if media_type in _GENERIC_TYPES:
        media_type = doc.get("mediaType") or ""
        if not media_type:
            if doc.get("schemaVersion") == 1:
                media_type = DOCKER_SCHEMA1
            elif "manifests" in doc:
                media_type = OCI_INDEX
            elif "layers" in doc and "config" in doc:
                media_type = OCI_MANIFEST
    if media_type in SCHEMA1_TYPES or doc.get("schemaVersion") == 1:
        raise Unimplemented("Docker image manifest schema 1 (%s) is deprecated and not supported; "
                            "push the image again with a current tool (schema 2 or OCI)" % DOCKER_SCHEMA1)
    if media_type in INDEX_TYPES:
        return "index", media_type, doc
    if media_type in MANIFEST_TYPES:
        return "manifest", media_type, doc
    raise Unimplemented("unsupported manifest media type %r" % media_type)


def _load(body, what):
    if len(body) > MAX_MANIFEST_BYTES:
        raise InvalidArgument("%s is larger than %d bytes" % (what, MAX_MANIFEST_BYTES))
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument("%s is not valid JSON: %s" % (what, exc)) from exc
    if not isinstance(doc, dict):
        raise InvalidArgument("%s is not a JSON object" % what)
    return doc


def descriptor(obj, what):
    if not isinstance(obj, dict):
        raise InvalidArgument("%s: descriptor is not an object" % what)
    media_type, digest, size = obj.get("mediaType"), obj.get("digest"), obj.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise InvalidArgument("%s: descriptor has no mediaType" % what)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidArgument("%s: descriptor %s has no valid size" % (what, digest))
    check_digest_format(digest, what)
    urls = obj.get("urls") or ()
    if not isinstance(urls, (list, tuple)) or not all(isinstance(u, str) for u in urls):
        raise InvalidArgument("%s: descriptor %s: urls is not a list of strings" % (what, digest))
    annotations = obj.get("annotations") or {}
    platform = obj.get("platform")
    return Descriptor(media_type, digest, size, tuple(urls),
                      annotations if isinstance(annotations, dict) else {},
                      platform if isinstance(platform, dict) else None)


def parse_index(doc):
    """Index entries (OCI index or Docker manifest list)."""
    entries = doc.get("manifests")
    if not isinstance(entries, list):
        raise InvalidArgument("index: 'manifests' is not a list")
    return [descriptor(e, "index entry") for e in entries]


CONFIG_TYPES = (DOCKER_CONFIG, OCI_CONFIG)


def parse_manifest(doc, media_type):
    config = descriptor(doc.get("config"), "manifest config")
    if config.media_type not in CONFIG_TYPES:
        raise Unimplemented("manifest config has media type %r: not a container image (an OCI artifact?)"
                            % config.media_type)
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise InvalidArgument("manifest: 'layers' is not a list")
    parsed = tuple(descriptor(layer, "manifest layer") for layer in layers)
    for layer in parsed:
        layer_kind(layer)
    return Manifest(media_type, config, parsed)


def layer_kind(desc):
    """(compression, distributable) for a layer descriptor; Unimplemented for an unknown type."""
    try:
        return LAYER_TYPES[desc.media_type]
    except KeyError:
        raise Unimplemented("layer %s: unsupported media type %r" % (desc.digest, desc.media_type)) from None


def parse_config(body, layer_count):
    """The diff_ids and platform of an image config; their count must match the layers."""
    doc = _load(body, "image config")
    rootfs = doc.get("rootfs")
    if not isinstance(rootfs, dict) or rootfs.get("type") != "layers":
        raise InvalidArgument("image config: rootfs.type is not 'layers'")
    diff_ids = rootfs.get("diff_ids")
    if not isinstance(diff_ids, list):
        raise InvalidArgument("image config: rootfs.diff_ids is not a list")
    for d in diff_ids:
        check_digest_format(d, "image config diff_id")
    if len(diff_ids) != layer_count:
        raise InvalidArgument("image config lists %d diff_ids but the manifest has %d layers"
                              % (len(diff_ids), layer_count))
    return ImageConfig(tuple(diff_ids), str(doc.get("os", "")), str(doc.get("architecture", "")),
                       str(doc.get("variant", "")))


def chain_ids(diff_ids):
    """OCI chain IDs: chain[0] = diff[0]; chain[n] = sha256(chain[n-1] + " " + diff[n])."""
    out = []
    for diff in diff_ids:
        out.append(diff if not out else sha256_digest(("%s %s" % (out[-1], diff)).encode("ascii")))
    return out
