"""The image config a build writes, and its manifest (pure: dicts and bytes).

    cfg = ImageConfig.from_base(base_config_or_None, platform=("linux", "amd64"))
    cfg.set_env(["A=1"]); cfg.set("User", "app"); cfg.add_ports(["80/tcp"]) ...
    cfg.add_history("RUN /bin/sh -c make", empty_layer=False)
    cfg.add_layer(diff_id)
    config_bytes = cfg.to_bytes(created)       # canonical JSON
    manifest_bytes = manifest(config_digest, len(config_bytes), [(digest, media_type, size), ...])

History entries follow BuildKit's form (``created_by`` is the instruction,
``comment`` "buildkit.dockerfile.v0", ``empty_layer`` for metadata-only
steps), so ``rootfs.diff_ids`` has exactly one entry per history entry
without ``empty_layer``.  ``created`` comes from SOURCE_DATE_EPOCH when the
caller gives it (a reproducible config), else the build's time.
"""
from __future__ import annotations

import copy
import json
import time

from ..runtime.specgen import merge_env

CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
HISTORY_COMMENT = "buildkit.dockerfile.v0"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def rfc3339(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class ImageConfig:
    def __init__(self, doc):
        self.doc = doc
        self.cmd_set = False            # CMD given in this stage (ENTRYPOINT then keeps it)

    @classmethod
    def from_base(cls, base, platform):
        if base is None:               # FROM scratch
            doc = {"architecture": platform[1], "os": platform[0], "config": {"Env": [DEFAULT_PATH]},
                   "rootfs": {"type": "layers", "diff_ids": []}, "history": []}
            if len(platform) > 2 and platform[2]:
                doc["variant"] = platform[2]
            return cls(doc)
        doc = copy.deepcopy(base)
        doc.setdefault("config", {})
        doc.setdefault("rootfs", {"type": "layers", "diff_ids": []})
        doc.setdefault("history", [])
        doc.pop("container", None)
        doc.pop("container_config", None)
        return cls(doc)

    @property
    def config(self):
        return self.doc["config"]

    @property
    def env(self):
        return list(self.config.get("Env") or [])

    def set_env(self, pairs):
        self.config["Env"] = merge_env(self.env, pairs)

    def set(self, key, value):
        if value is None or value == "" and key not in ("WorkingDir", "User"):
            self.config.pop(key, None)
        else:
            self.config[key] = value

    def set_cmd(self, argv):
        self.config["Cmd"] = list(argv)
        self.cmd_set = True

    def set_entrypoint(self, argv):
        self.config["Entrypoint"] = list(argv)
        if not self.cmd_set:            # Docker: a new ENTRYPOINT drops the Cmd inherited from the base
            self.config.pop("Cmd", None)

    def add_ports(self, ports):
        exposed = self.config.setdefault("ExposedPorts", {})
        for p in ports:
            exposed[p if "/" in p else p + "/tcp"] = {}

    def add_volumes(self, paths):
        volumes = self.config.setdefault("Volumes", {})
        for v in paths:
            volumes[v] = {}

    def add_labels(self, labels):
        self.config.setdefault("Labels", {}).update(labels)

    def add_onbuild(self, text):
        self.config.setdefault("OnBuild", []).append(text)

    def take_onbuild(self):
        """The base image's ONBUILD triggers (run at the start of the stage; not inherited further)."""
        return self.config.pop("OnBuild", None) or []

    def add_history(self, created_by, empty_layer, created=None):
        entry = {"created": rfc3339(created if created is not None else time.time()), "created_by": created_by,
                 "comment": HISTORY_COMMENT}
        if empty_layer:
            entry["empty_layer"] = True
        self.doc["history"].append(entry)

    def add_layer(self, diff_id):
        self.doc["rootfs"]["diff_ids"].append(diff_id)

    @property
    def diff_ids(self):
        return list(self.doc["rootfs"]["diff_ids"])

    def to_bytes(self, created=None):
        doc = copy.deepcopy(self.doc)
        doc["created"] = rfc3339(created if created is not None else time.time())
        return canonical(doc)


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def manifest(config_digest, config_size, layers):
    """An OCI image manifest; ``layers``: [(digest, media_type, size)] bottom first."""
    return canonical({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": mt, "digest": d, "size": s} for d, mt, s in layers],
    })
