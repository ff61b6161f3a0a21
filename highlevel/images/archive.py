"""Import and export of images without a registry: OCI image layouts and ``docker save`` archives.

``import_archive(store, path)`` takes any of the three forms below; each has its own
``import_*`` and ``export_*`` function.

OCI image layout (a directory, or the same tree packed in a tar: ``oci-archive``)::

    oci-layout             {"imageLayoutVersion": "1.0.0"}
    index.json             {"manifests": [descriptor + annotations, ...]}
    blobs/sha256/<hex>     manifests, indexes, configs, layers

Docker archive (a tar, as ``docker save`` writes it)::

    manifest.json          [{"Config": "<hex>.json", "RepoTags": ["busybox:1.36"], "Layers": ["<dir>/layer.tar", ...]}]
    repositories           {"busybox": {"1.36": "<top layer id>"}}
    <hex>.json, <dir>/layer.tar ...

Import copies every blob into the content store through a verifying writer
(a blob whose bytes do not match its digest is refused with errors.DataLoss),
unpacks the layers and records the image (store.record_image), all under one
lease so a concurrent GC cannot take half of it.  An index in a layout is
resolved to this machine's platform.  Names: ``io.containerd.image.name``
(full reference) wins; otherwise ``org.opencontainers.image.ref.name`` if it
is a full reference, or ``<base_name>:<ref.name>`` when it is only a tag;
without either the image is imported under its id alone.  A docker archive
has no manifest: one is synthesised (Docker schema 2; layer media types from
each blob's compression), as containerd does.

Export writes the platform manifest, its config and layers (compressed, as
stored) and names each image in the index by both annotations; the docker
export writes uncompressed ``layer.tar`` files.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile

from .. import errors
from . import reference
from .registry import manifests as mf
from .registry import platforms
from .unpack import BUF, DiffReader, detect_compression

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
LAYOUT_VERSION = "1.0.0"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
_DOCKER_LAYER_TYPES = {"none": DOCKER_LAYER, "gzip": DOCKER_LAYER + ".gzip",
                       "zstd": "application/vnd.oci.image.layer.v1.tar+zstd"}


# -- import: OCI layout ---------------------------------------------------------

def _layout_blob(layout, digest):
    mf.check_digest_format(digest, f"oci layout {layout}")
    return os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1])


def _copy_blob(store, lease, src_open, digest, size, what):
    lease.add_content(digest)          # lease first, then look: GC re-checks leases before deleting
    if store.content.exists(digest):
        return
    w = store.content.writer(f"import-{digest}-{lease.id}", digest, size)
    try:
        with src_open() as f:
            while True:
                chunk = f.read(BUF)
                if not chunk:
                    break
                w.write(chunk)
        w.commit()
    except FileNotFoundError:
        w.abort()
        raise errors.NotFound(f"import {what}: blob {digest} missing") from None
    except BaseException:
        w.abort()
        raise


def _names_for(annotations, base_name):
    full = annotations.get(CONTAINERD_NAME)
    tag = annotations.get(REF_NAME)
    if not full and tag and ("/" in tag or ":" in tag or "@" in tag):
        full = tag
    if not full and tag and base_name:
        full = f"{base_name}:{tag}"
    if not full:
        return []
    r = reference.parse(full)
    if r.digest:
        return [(r.digested_name(), "digest")]
    return [(r.tagged_name(), "tag")]


def import_oci_layout(store, layout, base_name=None, platform=None):
    """Import every image named in the layout directory's index.json; returns [(image id, [names])]."""
    def open_member(rel):
        return open(os.path.join(layout, rel), "rb")

    return _import_layout(store, open_member, f"oci layout {layout}", base_name, platform)


def import_oci_archive(store, path, base_name=None, platform=None):
    """The same for an OCI layout packed in a tar (``oci-archive:``, ``ctr export``)."""
    try:
        tf = tarfile.open(path, "r:*")
    except (OSError, tarfile.TarError) as e:
        raise errors.InvalidArgument(f"import {path}: not a tar archive: {e}") from None
    with tf:
        members = {os.path.normpath(m.name).lstrip("/"): m for m in tf.getmembers() if m.isreg()}

        def open_member(rel):
            m = members.get(rel)
            if m is None:
                raise FileNotFoundError(rel)
            return tf.extractfile(m)

        return _import_layout(store, open_member, f"oci archive {path}", base_name, platform)


def import_archive(store, path, base_name=None, platform=None):
    """Whatever ``path`` is: an OCI layout directory, an OCI layout tar or a ``docker save`` tar."""
    if os.path.isdir(path):
        return import_oci_layout(store, path, base_name, platform)
    try:
        with tarfile.open(path, "r:*") as tf:
            names = {os.path.normpath(n).lstrip("/") for n in tf.getnames()}
    except (OSError, tarfile.TarError) as e:
        raise errors.InvalidArgument(f"import {path}: neither a directory nor a tar archive: {e}") from None
    if "manifest.json" in names:
        return import_docker_archive(store, path)
    return import_oci_archive(store, path, base_name, platform)


def _import_layout(store, open_member, what, base_name, platform):
    try:
        with open_member("oci-layout") as f:
            version = json.load(f).get("imageLayoutVersion")
        with open_member("index.json") as f:
            index = json.loads(f.read())
    except (OSError, ValueError) as e:
        raise errors.InvalidArgument(f"import {what}: not an OCI image layout: {e}") from None
    if version != LAYOUT_VERSION:
        raise errors.InvalidArgument(f"import {what}: unsupported imageLayoutVersion {version!r}")
    wanted = platform or platforms.host()

    def read(digest):
        mf.check_digest_format(digest, f"import {what}")
        return open_member("blobs/sha256/" + digest.split(":", 1)[1])

    results = []
    with store.lease() as lease:
        for desc in mf.parse_index(index):
            names = _names_for(desc.annotations, base_name)
            image_id = _import_manifest_tree(store, lease, read, desc, names, wanted, what)
            results.append((image_id, [n for n, _ in names]))
    return results


def _import_manifest_tree(store, lease, read, desc, names, wanted, what):
    index_digest = None
    if desc.media_type in mf.INDEX_TYPES:
        _copy_blob(store, lease, lambda: read(desc.digest), desc.digest, desc.size, what)
        index_digest = desc.digest
        entries = mf.parse_index(json.loads(store.content.read_bytes(desc.digest)))
        chosen = platforms.select(entries, wanted)
        if chosen is None:
            raise errors.NotFound(f"import {what}: no manifest for {wanted} (has {platforms.available(entries)})")
        desc = chosen
    if desc.media_type not in mf.MANIFEST_TYPES:
        raise errors.Unimplemented(f"import {what}: unsupported media type {desc.media_type!r}")
    _copy_blob(store, lease, lambda: read(desc.digest), desc.digest, desc.size, what)
    body = store.content.read_bytes(desc.digest)
    manifest = mf.parse_manifest(json.loads(body), desc.media_type)
    cfg = manifest.config
    _copy_blob(store, lease, lambda: read(cfg.digest), cfg.digest, cfg.size, what)
    for layer in manifest.layers:
        _copy_blob(store, lease, lambda layer=layer: read(layer.digest), layer.digest, layer.size, what)
    layers = [(x.digest, x.media_type, x.size) for x in manifest.layers]
    store.unpack_from_content(cfg.digest, layers, lease)
    repo_digest = index_digest or desc.digest
    all_names = list(names)
    for name, kind in names:
        if kind == "tag":
            all_names.append((reference.parse(name).digested_name(repo_digest), "digest"))
    return store.record_image(all_names, desc.digest, desc.media_type, cfg.digest, layers,
                              index_digest=index_digest, annotations=dict(desc.annotations))


# -- import: docker archive -------------------------------------------------------

def import_docker_archive(store, path):
    """Import a ``docker save`` tar; returns [(image id, [names])]."""
    try:
        tf = tarfile.open(path, "r:*")
    except (OSError, tarfile.TarError) as e:
        raise errors.InvalidArgument(f"import {path}: not a tar archive: {e}") from None
    with tf:
        def member_bytes(name):
            try:
                f = tf.extractfile(name)
            except KeyError:
                f = None
            if f is None:
                raise errors.InvalidArgument(f"import {path}: member {name!r} missing or not a file")
            return f

        try:
            entries = json.loads(member_bytes("manifest.json").read())
        except ValueError as e:
            raise errors.InvalidArgument(f"import {path}: manifest.json: {e}") from None
        if not isinstance(entries, list):
            raise errors.InvalidArgument(f"import {path}: manifest.json is not a list")
        results = []
        with store.lease() as lease:
            for entry in entries:
                results.append(_import_docker_entry(store, lease, member_bytes, entry, path))
    return results


def _put_leased(store, lease, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    lease.add_content(digest)
    return store.content.put_bytes(data, digest)


def _member_digest(open_member):
    h = hashlib.sha256()
    size = 0
    with open_member() as f:
        head = f.read(4)
        h.update(head)
        size += len(head)
        while True:
            chunk = f.read(BUF)
            if not chunk:
                break
            h.update(chunk)
            size += len(chunk)
    return "sha256:" + h.hexdigest(), size, detect_compression(head)


def _import_docker_entry(store, lease, member, entry, path):
    if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str) \
            or not isinstance(entry.get("Layers"), list):
        raise errors.InvalidArgument(f"import {path}: malformed manifest.json entry")
    config_bytes = member(entry["Config"]).read()
    config_digest = _put_leased(store, lease, config_bytes)
    layer_descs = []
    for name in entry["Layers"]:
        digest, size, compression = _member_digest(lambda name=name: member(name))
        _copy_blob(store, lease, lambda name=name: member(name), digest, size, f"docker archive {path}")
        layer_descs.append({"mediaType": _DOCKER_LAYER_TYPES[compression], "digest": digest, "size": size})
    manifest = {"schemaVersion": 2, "mediaType": mf.DOCKER_MANIFEST,
                "config": {"mediaType": mf.DOCKER_CONFIG, "digest": config_digest, "size": len(config_bytes)},
                "layers": layer_descs}
    body = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    manifest_digest = _put_leased(store, lease, body)
    layers = [(d["digest"], d["mediaType"], d["size"]) for d in layer_descs]
    store.unpack_from_content(config_digest, layers, lease)
    names = []
    for tag in entry.get("RepoTags") or []:
        r = reference.parse(tag)
        names.append((r.tagged_name() or r.digested_name(), "tag" if r.tag and not r.digest else "digest"))
    image_id = store.record_image(names, manifest_digest, mf.DOCKER_MANIFEST, config_digest, layers)
    return image_id, [n for n, _ in names]


# -- export ---------------------------------------------------------------------

def _export_set(service, refs):
    """[(image record, name or None)] for the refs, each resolved through the service."""
    out = []
    for ref in refs:
        iid = service.resolve(ref)
        if iid is None:
            raise errors.NotFound(f"export {ref}: no such image")
        rec = service.store.meta.get_image(iid)
        name = None
        try:
            r = reference.parse(ref)
            name = r.tagged_name() if r.digest is None else None
        except errors.InvalidArgument:
            pass
        if name is None:
            tags = [n for n, k in service.store.meta.names_of(iid) if k == "tag"]
            name = tags[0] if tags else None
        out.append((rec, name))
    return out


def export_oci_layout(service, refs, layout):
    """Write the images ``refs`` name into the directory ``layout`` (created; may exist empty)."""
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    store = service.store

    def add_blob(digest):
        target = _layout_blob(layout, digest)
        if not os.path.exists(target):
            with store.content.open(digest) as src, open(target + ".tmp", "wb") as dst:
                shutil.copyfileobj(src, dst, BUF)
            os.replace(target + ".tmp", target)

    index = _oci_index(service, refs, add_blob)
    _write_json(os.path.join(layout, "oci-layout"), {"imageLayoutVersion": LAYOUT_VERSION})
    _write_json(os.path.join(layout, "index.json"), index)


def export_oci_archive(service, refs, path):
    """The same layout, packed in a tar at ``path`` (what ``oci-archive:`` and ``ctr import`` read)."""
    store = service.store
    tmp = path + ".tmp"
    written = set()
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tf:
        def add_blob(digest):
            if digest in written:
                return
            written.add(digest)
            info = tarfile.TarInfo("blobs/sha256/" + digest.split(":", 1)[1])
            info.size, info.mode = store.content.info(digest).size, 0o644
            with store.content.open(digest) as src:
                tf.addfile(info, src)

        index = _oci_index(service, refs, add_blob)
        _add_bytes(tf, "oci-layout", json.dumps({"imageLayoutVersion": LAYOUT_VERSION}).encode())
        _add_bytes(tf, "index.json", json.dumps(index, sort_keys=True).encode())
    os.replace(tmp, path)


def _oci_index(service, refs, add_blob):
    store = service.store
    descs = []
    for rec, name in _export_set(service, refs):
        for d in [rec.manifest_digest, rec.id] + [layer.digest for layer in rec.layers]:
            add_blob(d)
        cfg = store.config(rec.id)
        desc = {"mediaType": rec.manifest_media_type or mf.OCI_MANIFEST, "digest": rec.manifest_digest,
                "size": store.content.info(rec.manifest_digest).size,
                "platform": {k: cfg[k] for k in ("architecture", "os", "variant") if cfg.get(k)}}
        if name:
            r = reference.parse(name)
            desc["annotations"] = {CONTAINERD_NAME: name, REF_NAME: r.tag}
        descs.append(desc)
    return {"schemaVersion": 2, "mediaType": mf.OCI_INDEX, "manifests": descs}


def _write_json(path, obj):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, sort_keys=True)
    os.replace(path + ".tmp", path)


def export_docker_archive(service, refs, path):
    """Write a ``docker load``-able tar of the images ``refs`` name to ``path``."""
    store = service.store
    entries, repositories, written = [], {}, set()
    tmp = path + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tf:
        for rec, name in _export_set(service, refs):
            hexid = rec.id.split(":", 1)[1]
            config_name = hexid + ".json"
            if config_name not in written:
                _add_bytes(tf, config_name, store.content.read_bytes(rec.id))
                written.add(config_name)
            layer_names = []
            for layer in rec.layers:
                lname = layer.diff_id.split(":", 1)[1] + "/layer.tar"
                if lname not in written:
                    _add_diff(tf, lname, store, layer.digest)
                    written.add(lname)
                layer_names.append(lname)
            tags = []
            if name:
                r = reference.parse(name)
                tags.append(r.familiar())
                repo = r.familiar().rsplit(":", 1)[0]
                repositories.setdefault(repo, {})[r.tag] = rec.layers[-1].diff_id.split(":", 1)[1] \
                    if rec.layers else hexid
            entries.append({"Config": config_name, "RepoTags": tags, "Layers": layer_names})
        _add_bytes(tf, "manifest.json", json.dumps(entries).encode())
        _add_bytes(tf, "repositories", json.dumps(repositories).encode())
    os.replace(tmp, path)


def _add_bytes(tf, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tf.addfile(info, io.BytesIO(data))


def _add_diff(tf, name, store, digest):
    with tempfile.TemporaryFile() as tmp, store.content.open(digest) as blob:
        reader = DiffReader(blob)
        while True:
            chunk = reader.read(BUF)
            if not chunk:
                break
            tmp.write(chunk)
        size = tmp.tell()
        tmp.seek(0)
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o644
        tf.addfile(info, tmp)
