"""Pod-level specs (pure): the infra process of a PID-sharing pod, and the pod's sysctls by namespace.

    infra = sandbox_spec(pod, rootfs, ["/pause"])      # pid 1 of the pod's shared pid namespace
    per_ns = sysctls_by_namespace(pod.config)         # {"ipc": {...}, "network": {...}, "uts": {...}}

Containers carry no sysctls: they join the pod's namespaces, where gantryd
applies ``sysctls_by_namespace`` once when it creates them (a runtime refuses
ipc sysctls in a spec that joins an existing ipc namespace).
"""
import posixpath

from ..errors import InvalidArgument
from . import seccomp_default

OCI_VERSION = "1.1.0"
NODE = 2                                     # cri NamespaceMode.NODE
ANNOTATION = "io.kubernetes.cri."
DEFAULT_CGROUP_PARENT = "/gantry"
DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_MASKED_PATHS = [
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/sys/devices/virtual/powercap", "/proc/scsi",
]
DEFAULT_READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


# ====================================================================== the pod's infra process

def sandbox_spec(pod, rootfs, args):
    """The spec of the infra process holding a pod's shared PID namespace (its pid 1).

    Its own pid and mount namespaces; joins the pod's network, ipc and uts;
    read-only rootfs, no capabilities, no_new_privs, RuntimeDefault seccomp.
    """
    if not args:
        raise InvalidArgument("RunPodSandbox: the infra process needs a command")
    namespaces = [{"type": "pid"}, {"type": "mount"}]
    for kind in ("network", "ipc", "uts"):
        if kind in pod.namespaces:
            namespaces.append({"type": kind, "path": pod.namespaces[kind]})
    meta = pod.config.metadata
    spec = {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0, "additionalGids": [0]},
            "args": list(args),
            "env": [DEFAULT_PATH_ENV],
            "cwd": "/",
            "capabilities": {"bounding": [], "effective": [], "permitted": []},
            "noNewPrivileges": True,
        },
        "root": {"path": rootfs, "readonly": True},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        ],
        "annotations": {
            ANNOTATION + "container-type": "sandbox",
            ANNOTATION + "sandbox-id": pod.id,
            ANNOTATION + "sandbox-namespace": meta.namespace,
            ANNOTATION + "sandbox-uid": meta.uid,
            ANNOTATION + "sandbox-name": meta.name,
            ANNOTATION + "sandbox-log-directory": pod.config.log_directory,
        },
        "linux": {
            "namespaces": namespaces,
            "resources": {"devices": [{"allow": False, "access": "rwm"}], "cpu": {"shares": 2}},
            "cgroupsPath": posixpath.join(pod.cgroup_parent or DEFAULT_CGROUP_PARENT, pod.id),
            "maskedPaths": list(DEFAULT_MASKED_PATHS),
            "readonlyPaths": list(DEFAULT_READONLY_PATHS),
            "seccomp": seccomp_default.profile_for([]),
        },
    }
    if "uts" in pod.namespaces and pod.config.hostname:
        spec["hostname"] = pod.config.hostname
    return spec


# ====================================================================== pod sysctls

IPC_SYSCTLS = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
               "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}


def sysctl_namespace(key):
    """The namespace a sysctl belongs to ("ipc", "network", "uts"), or None when it is not namespaced."""
    if key in IPC_SYSCTLS or key.startswith("fs.mqueue."):
        return "ipc"
    if key.startswith("net."):
        return "network"
    if key in ("kernel.hostname", "kernel.domainname"):
        return "uts"
    return None


def sysctls_by_namespace(pod_config):
    """The pod's sysctls grouped by namespace: {"ipc": {...}, "network": {...}, "uts": {...}}.

    A sysctl that is not namespaced, or that belongs to a namespace the pod
    shares with the host (NODE mode), is InvalidArgument naming it.
    """
    linux = pod_config.linux if pod_config.HasField("linux") else None
    sysctls = dict(linux.sysctls) if linux is not None else {}
    opts = None
    if linux is not None and linux.HasField("security_context") and \
            linux.security_context.HasField("namespace_options"):
        opts = linux.security_context.namespace_options
    host = {"network": opts is not None and opts.network == NODE, "ipc": opts is not None and opts.ipc == NODE,
            "uts": opts is not None and opts.network == NODE}       # kubelet: host network implies host UTS
    out = {}
    for key in sorted(sysctls):
        kind = sysctl_namespace(key)
        if kind is None:
            raise InvalidArgument("RunPodSandbox config.linux.sysctls[%r]: not a namespaced sysctl" % key)
        if host[kind]:
            raise InvalidArgument("RunPodSandbox config.linux.sysctls[%r]: the pod uses the host's %s namespace"
                                  % (key, kind))
        out.setdefault(kind, {})[key] = sysctls[key]
    return out
