"""CRI messages <-> gantryd domain objects (pure: no I/O, no gRPC).

The image half of the daemon speaks in domain terms (see the images facade,
``gantry.highlevel.images.service``): an ``Image`` with ``id`` (the config
digest, ``sha256:…``), ``repo_tags``, ``repo_digests``, ``size``, ``uid`` (int or
None), ``username``, ``annotations`` and ``pinned``; registry credentials; and
filesystem usage tuples.  This module turns CRI requests into those and back.
"""
import json

from gantry.api import cri_pb2

from ..errors import InvalidArgument

RUNTIME_NAME = "gantry"
RUNTIME_API_VERSION = "v1"
# what the CRI Version call reports as the API version the client asked about
KUBE_API_VERSION = "0.1.0"


def version_response(runtime_version):
    if not runtime_version:
        raise ValueError("runtime version must not be empty")
    return cri_pb2.VersionResponse(
        version=KUBE_API_VERSION,
        runtime_name=RUNTIME_NAME,
        runtime_version=runtime_version,
        runtime_api_version=RUNTIME_API_VERSION,
    )


def image_ref(spec, operation):
    """The reference (or id) an ImageSpec names; a clear INVALID_ARGUMENT when it is empty."""
    ref = spec.image.strip() if spec is not None else ""
    if not ref:
        raise InvalidArgument("%s: no image given (ImageSpec.image is empty)" % operation)
    return ref


def image_filter(request):
    """ListImages/StreamImages filter -> a reference or None (no filter)."""
    if request.HasField("filter") and request.filter.HasField("image"):
        return request.filter.image.image.strip() or None
    return None


def image_to_cri(image):
    msg = cri_pb2.Image(
        id=image.id,
        repo_tags=list(image.repo_tags),
        repo_digests=list(image.repo_digests),
        size=int(image.size),
        username=image.username or "",
        pinned=bool(image.pinned),
    )
    if image.uid is not None:
        msg.uid.value = int(image.uid)
    msg.spec.image = image.id
    msg.spec.annotations.update(image.annotations or {})
    return msg


def verbose_info(image, config=None):
    """ImageStatus verbose info: one ``info`` key holding JSON, like other runtimes.

    ``config`` is the OCI image config (shown as ``imageSpec``, as containerd does).
    """
    info = {
        "id": image.id,
        "repoTags": list(image.repo_tags),
        "repoDigests": list(image.repo_digests),
        "size": int(image.size),
        "user": _user_text(image),
        "annotations": dict(image.annotations or {}),
        "pinned": bool(image.pinned),
    }
    for attr, key in (("manifest_digest", "manifestDigest"), ("chain_ids", "chainIDs")):
        value = getattr(image, attr, None)  # optional extras of the facade's Image
        if value:
            info[key] = list(value) if isinstance(value, (list, tuple)) else value
    if config is not None:
        info["imageSpec"] = config
    return {"info": json.dumps(info, sort_keys=True)}


def _user_text(image):
    if image.uid is not None:
        return str(image.uid)
    return image.username or ""


def auth_from_cri(auth):
    """CRI AuthConfig -> registry Credentials, or None when no credential is set."""
    if auth is None:
        return None
    values = dict(username=auth.username, password=auth.password, auth=auth.auth,
                  identity_token=auth.identity_token, registry_token=auth.registry_token)
    if not any(values.values()):
        return None
    from ..images.registry.auth import Credentials

    return Credentials.from_auth_config(**values)


def fs_info_to_cri(usages, timestamp_ns):
    """Filesystem usage -> [FilesystemUsage].

    ``usages`` is one usage or a list of them; a usage is an object with
    ``mountpoint``, ``used_bytes``, ``inodes_used`` (and optionally
    ``timestamp_ns``) or a ``(mountpoint, used_bytes, inodes_used)`` tuple.
    ``inodes_used`` None stays unset; ``timestamp_ns`` is the default time.
    """
    if hasattr(usages, "mountpoint") or (isinstance(usages, tuple) and len(usages) == 3
                                          and isinstance(usages[0], str)):
        usages = [usages]
    out = []
    for usage in usages:
        if isinstance(usage, tuple):
            mountpoint, used_bytes, inodes_used = usage
            stamp = timestamp_ns
        else:
            mountpoint, used_bytes, inodes_used = usage.mountpoint, usage.used_bytes, usage.inodes_used
            stamp = getattr(usage, "timestamp_ns", None) or timestamp_ns
        fs = cri_pb2.FilesystemUsage(timestamp=int(stamp))
        fs.fs_id.mountpoint = mountpoint
        fs.used_bytes.value = int(used_bytes)
        if inodes_used is not None:
            fs.inodes_used.value = int(inodes_used)
        out.append(fs)
    return out


def batches(items, size):
    """Split a list for the Stream* calls: at least one (possibly empty) batch."""
    if size < 1:
        raise ValueError("batch size must be >= 1")
    if not items:
        return [[]]
    return [items[i:i + size] for i in range(0, len(items), size)]
