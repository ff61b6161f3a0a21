"""The OCI spec of one RUN step's container (pure: no I/O).

    spec = run_spec(RunSpec(id=..., rootfs=..., args=[...], env=[...], cwd="/app", user=User(...),
                            network="none", hostname="buildkitsandbox"), defaults)

A RUN container is an ordinary gantryd container without a pod: the default
mounts (specmounts.default_mounts: /proc, /dev, /dev/pts, /dev/shm,
/dev/mqueue, /sys read-only, the cgroup tree read-only), the default masked
and read-only paths, the default capabilities (containerd's set, as
``docker build`` gives), the RuntimeDefault seccomp profile for them, its
own mount, pid, ipc and uts namespaces, and its own cgroup under the
default parent.  Network: ``none`` makes a new network namespace, where the
runtime brings loopback up and nothing else exists; ``host`` stays in the
host's (no namespace entry), as ``docker build --network host`` does.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from .. import errors
from ..runtime import specmounts, specsecurity
from ..runtime.specgen import OCI_VERSION, SpecDefaults, User

NETWORK_MODES = ("none", "host")
HOSTNAME = "buildkitsandbox"       # what BuildKit's RUN containers are called inside


PIPES_DIR = "/dev/pipes"          # where BuildKit puts heredoc files a RUN executes


@dataclass
class RunSpec:
    id: str
    rootfs: str
    args: list
    env: list
    cwd: str = "/"
    user: User = field(default_factory=lambda: User(0, 0, []))
    network: str = "none"
    hostname: str = HOSTNAME
    # heredoc scripts run by their own #! line: name -> host path, bound read-only at /dev/pipes/<name>
    scripts: dict = field(default_factory=dict)


def run_spec(req, defaults=None):
    """config.json of a RUN step's container."""
    defaults = defaults or SpecDefaults()
    if req.network not in NETWORK_MODES:
        raise errors.InvalidArgument("build network %r: one of %s" % (req.network, ", ".join(NETWORK_MODES)))
    if not req.args:
        raise errors.InvalidArgument("RUN: empty command")
    if any("\0" in a for a in req.args) or any("\0" in e for e in req.env):
        raise errors.InvalidArgument("RUN: the command or the environment contains a NUL byte")
    cwd = req.cwd if req.cwd.startswith("/") else "/" + req.cwd
    caps = specsecurity.capabilities(None, defaults.default_caps, defaults.all_caps)
    namespaces = [{"type": t} for t in ("mount", "pid", "ipc", "uts")]
    if req.network == "none":
        namespaces.append({"type": "network"})
    spec = {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": False,
            "user": {"uid": req.user.uid, "gid": req.user.gid,
                     "additionalGids": sorted(set(req.user.additional_gids) | {req.user.gid})},
            "args": list(req.args),
            "env": list(req.env),
            "cwd": posixpath.normpath(cwd) if cwd != "/" else "/",
            "capabilities": caps,
            "noNewPrivileges": False,
        },
        "root": {"path": req.rootfs, "readonly": False},
        "hostname": req.hostname,
        "mounts": specmounts.default_mounts(privileged=False) + [
            {"destination": posixpath.join(PIPES_DIR, name), "type": "bind", "source": path,
             "options": ["rbind", "ro", "nosuid", "nodev"]} for name, path in sorted(req.scripts.items())],
        "linux": {
            "namespaces": namespaces,
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "cgroupsPath": posixpath.join(defaults.cgroup_parent, "build-" + req.id),
            "maskedPaths": list(defaults.masked_paths),
            "readonlyPaths": list(defaults.readonly_paths),
        },
        "annotations": {"io.gantry.build": "run"},
    }
    profile = defaults.seccomp_default
    spec["linux"]["seccomp"] = profile(caps["bounding"]) if callable(profile) else profile
    if defaults.cgroup_namespace:
        namespaces.append({"type": "cgroup"})
    return spec
