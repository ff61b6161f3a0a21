"""`gantry-oci features`: what this runtime supports, as a runtime-spec features document."""
from . import mountopts
from .spec import HOOK_KINDS, NAMESPACE_TYPES


def document():
    doc = {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.2.0",
        "hooks": list(HOOK_KINDS),
        "mountOptions": sorted(set(mountopts.FLAGS) | set(mountopts.PROPAGATION) | set(mountopts.RECURSIVE)),
        "linux": {
            "namespaces": list(NAMESPACE_TYPES),
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False, "rdma": False},
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
            "intelRdt": {"enabled": False},
            "mountExtensions": {"idmap": {"enabled": False}},
        },
        "annotations": {"org.opencontainers.runc.version": "gantry-oci"},
    }
    try:
        from . import capabilities
        doc["linux"]["capabilities"] = list(capabilities.NAMES)
    except ImportError:
        pass
    try:
        from . import seccomp
        doc["linux"]["seccomp"] = seccomp.features() if hasattr(seccomp, "features") else {"enabled": True}
    except ImportError:
        doc["linux"]["seccomp"] = {"enabled": False}
    return doc
