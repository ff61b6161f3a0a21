"""The OCI runtime spec of a CRI container, of a pod's infra process, and of an exec (pure: no I/O).

    spec = container_spec(cid, config, pod, image_config, rootfs, user, defaults, volumes,
                          host_paths=..., devices=..., host_devices=..., target_pid_ns=..., read_profile=...)
    process = exec_process(spec, ["sh", "-c", "id"], tty=False)
    infra = sandbox_spec(pod, rootfs, ["/pause"])
    per_ns = sysctls_by_namespace(pod.config)     # the pod's sysctls, for the namespaces it owns

``container_spec`` reads like containerd's CRI plugin: a base spec, then an
ordered list of small edits (``STEPS``), each one rule of the CRI contract.
Everything it needs from the host comes in as arguments, found by the thin
I/O helpers: ``userinfo.resolve`` (the User), ``hostmounts.check_host_mounts``
(``host_paths``), ``hostmounts.prepare_image_volumes`` (``volumes``),
``hostfacts.lookup_devices`` / ``host_devices`` (``devices``, ``host_devices``),
``hostfacts.read_seccomp_profile`` (``read_profile``, called only for a
Localhost profile), ``hostfacts.current_capabilities`` (``SpecDefaults.all_caps``).

Bad input raises InvalidArgument naming the CRI field; what this host cannot
do (AppArmor/SELinux profiles, ambient capabilities, id-mapped mounts) raises
Unimplemented.  Container specs carry no sysctls: a container joins the pod's
namespaces, where the pod applied them (``sysctls_by_namespace``), and a
runtime refuses ipc sysctls for a namespace the container does not create.
"""
from __future__ import annotations

import copy
import posixpath
from dataclasses import dataclass, field

from ..errors import FailedPrecondition, InvalidArgument
from . import seccomp_default, specmounts, specsecurity

# sandbox_spec and sysctls_by_namespace live in podspec.py and are importable from here
from .podspec import (  # noqa: F401
    ANNOTATION,
    DEFAULT_CGROUP_PARENT,
    DEFAULT_MASKED_PATHS,
    DEFAULT_PATH_ENV,
    DEFAULT_READONLY_PATHS,
    sandbox_spec,
    sysctl_namespace,
    sysctls_by_namespace,
)
from .specsecurity import DEFAULT_CAPS, KNOWN_CAPS
from .userinfo import User

__all__ = ["PodContext", "User", "SpecDefaults", "HostDevice", "container_spec", "exec_process",
           "sandbox_spec", "sysctls_by_namespace", "DEFAULT_MASKED_PATHS", "DEFAULT_READONLY_PATHS"]

OCI_VERSION = "1.1.0"
FIELD = "CreateContainer config"
POD, CONTAINER, NODE, TARGET = 0, 1, 2, 3            # cri NamespaceMode



@dataclass
class PodContext:
    id: str                       # pod sandbox id
    config: object                # cri_pb2.PodSandboxConfig
    namespaces: dict              # "network"/"ipc"/"uts"/"pid"/"user" -> path to join; absent = the host's
    cgroup_parent: str = ""       # cgroupfs path of the pod ("" = SpecDefaults.cgroup_parent)
    shm_path: str = ""            # host dir of the pod's /dev/shm ("" = the pod uses the host IPC ns)
    etc_files: dict = field(default_factory=dict)   # "/etc/hosts" | "/etc/resolv.conf" | "/etc/hostname" -> host path


@dataclass(frozen=True)
class HostDevice:
    path: str                     # host path of the device node
    type: str                     # "c", "b" (or "u")
    major: int
    minor: int
    file_mode: int                # permission bits
    uid: int
    gid: int


@dataclass
class SpecDefaults:
    # RuntimeDefault: a profile dict, or a callable(bounding caps) -> dict
    seccomp_default: object = seccomp_default.profile_for
    default_caps: list = field(default_factory=lambda: list(DEFAULT_CAPS))
    # what "add ALL" and privileged get: the capabilities gantryd itself holds (hostfacts.current_capabilities())
    all_caps: list = field(default_factory=lambda: list(KNOWN_CAPS))
    # used when the CRI lists are empty (kubelet always sends them unless procMount is Unmasked)
    masked_paths: list = field(default_factory=lambda: list(DEFAULT_MASKED_PATHS))
    readonly_paths: list = field(default_factory=lambda: list(DEFAULT_READONLY_PATHS))
    path_env: str = DEFAULT_PATH_ENV
    rlimits: list = field(default_factory=list)      # containerd's CRI sets none: the container inherits
    node_hostname: str = ""       # HOSTNAME when the pod gives none (the node's name)
    cgroup_parent: str = DEFAULT_CGROUP_PARENT       # for pods without a cgroup parent
    cgroup_namespace: bool = False                   # cgroup v2 hosts: unprivileged containers get a cgroupns
    swap_limit: bool = True       # the memory controller accepts swap limits (hostfacts.swap_limit_supported())
    hugetlb: bool = True          # the hugetlb controller is there (hostfacts.hugetlb_supported())
    oom_score_adj_floor: int | None = None           # clamp lower requests to this (restrict_oom_score_adj)


# ====================================================================== container spec

@dataclass
class _Request:
    id: str
    config: object
    pod: PodContext
    image: dict                   # the image config's "config" object
    image_name: str
    rootfs: str
    user: User
    defaults: SpecDefaults
    volumes: dict
    host_paths: list | None
    devices: dict | None
    host_devices: list | None
    target_pid_ns: str
    read_profile: object

    @property
    def sc(self):
        linux = self.config.linux if self.config.HasField("linux") else None
        return linux.security_context if linux is not None and linux.HasField("security_context") else None

    @property
    def privileged(self):
        return self.sc is not None and self.sc.privileged

    @property
    def ns_options(self):
        sc = self.sc
        return sc.namespace_options if sc is not None and sc.HasField("namespace_options") else None

    @property
    def pod_ns_options(self):
        linux = self.pod.config.linux if self.pod.config.HasField("linux") else None
        if linux is None or not linux.HasField("security_context"):
            return None
        psc = linux.security_context
        return psc.namespace_options if psc.HasField("namespace_options") else None

    @property
    def userns(self):
        ns = self.ns_options
        return ns.userns_options if ns is not None and ns.HasField("userns_options") else None

    @property
    def pod_userns(self):
        ns = self.pod_ns_options
        return ns.userns_options if ns is not None and ns.HasField("userns_options") else None

    @property
    def resources(self):
        linux = self.config.linux if self.config.HasField("linux") else None
        return linux.resources if linux is not None and linux.HasField("resources") else None


def container_spec(container_id, config, pod, image_config, rootfs, user, defaults, volumes=None, *,
                   host_paths=None, devices=None, host_devices=None, target_pid_ns="", read_profile=None):
    """The OCI spec dict (config.json) of one CRI container."""
    image = (image_config or {}).get("config") or {}
    image_name = config.image.user_specified_image or config.image.image
    req = _Request(container_id, config, pod, image, image_name, rootfs, user, defaults, dict(volumes or {}),
                   host_paths, devices, host_devices, target_pid_ns, read_profile)
    spec = _base(req)
    for step in STEPS:
        step(spec, req)
    return spec


def _base(req):
    return {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": [],
            "env": [],
            "cwd": "/",
            "capabilities": {},
            "noNewPrivileges": False,
        },
        "root": {"path": req.rootfs, "readonly": False},
        "mounts": [],
        "annotations": {},
        "linux": {
            "namespaces": [{"type": "mount"}],
            "resources": {"devices": []},
            "maskedPaths": [],
            "readonlyPaths": [],
        },
    }


def _with_args(spec, req):
    """command replaces the image Entrypoint and drops Cmd; args alone replace Cmd (kubelet's rule)."""
    command, args = list(req.config.command), list(req.config.args)
    if not command:
        entrypoint = list(req.image.get("Entrypoint") or [])
        if entrypoint == [""]:
            entrypoint = []
        command = entrypoint
        if not args:
            args = list(req.image.get("Cmd") or [])
    argv = command + args
    if not argv:
        raise InvalidArgument("%s.command: no command given and the image has no Entrypoint or Cmd" % FIELD)
    for i, a in enumerate(argv):
        if "\0" in a:
            raise InvalidArgument("%s.command/args[%d]: contains a NUL byte" % (FIELD, i))
    spec["process"]["args"] = argv


def _with_cwd(spec, req):
    wd = req.config.working_dir
    if wd:
        if not wd.startswith("/"):
            raise InvalidArgument("%s.working_dir: %r must be an absolute path" % (FIELD, wd))
    else:
        wd = req.image.get("WorkingDir") or "/"
        if not wd.startswith("/"):
            wd = "/" + wd
    spec["process"]["cwd"] = posixpath.normpath(wd) if wd != "/" else "/"


def _with_terminal(spec, req):
    spec["process"]["terminal"] = bool(req.config.tty)


def _with_env(spec, req):
    """PATH default, TERM for a tty, HOSTNAME, then the image's env, then the CRI envs, each overriding by key."""
    env = [req.defaults.path_env]
    if req.config.tty:
        env = merge_env(env, ["TERM=xterm"])
    env = merge_env(env, ["HOSTNAME=" + _hostname(req)])
    env = merge_env(env, list(req.image.get("Env") or []))
    cri = []
    for i, kv in enumerate(req.config.envs):
        value = kv.value.decode("utf-8", "surrogateescape") if isinstance(kv.value, bytes) else kv.value
        if not kv.key or "=" in kv.key or "\0" in kv.key or "\0" in value:
            raise InvalidArgument("%s.envs[%d]: invalid variable %r (empty name, '=' in the name, or a NUL byte)"
                                  % (FIELD, i, kv.key))
        cri.append(kv.key + "=" + value)
    spec["process"]["env"] = merge_env(env, cri)


def merge_env(base, overrides):
    """Override ``KEY=value`` entries by key, appending new keys; a bare ``KEY`` removes it."""
    out = list(base)
    index = {e.partition("=")[0]: i for i, e in enumerate(out)}
    for entry in overrides:
        key, sep, _ = entry.partition("=")
        if not sep:
            if key in index:
                out[index[key]] = None
            continue
        if key in index and out[index[key]] is not None:
            out[index[key]] = entry
        else:
            index[key] = len(out)
            out.append(entry)
    return [e for e in out if e is not None]


def _hostname(req):
    return req.pod.config.hostname or req.defaults.node_hostname


def _with_hostname(spec, req):
    if "uts" in req.pod.namespaces and _hostname(req):
        spec["hostname"] = _hostname(req)


def _with_user(spec, req):
    """The resolved User (userinfo.resolve); run_as_group alone is refused here too, whoever resolved it."""
    sc = req.sc
    if sc is not None and sc.HasField("run_as_group") and not sc.run_as_username and not sc.HasField("run_as_user"):
        raise InvalidArgument("%s.linux.security_context.run_as_group: set without run_as_user or run_as_username"
                              % FIELD)
    u = req.user
    for what, value in (("uid", u.uid), ("gid", u.gid)):
        if not 0 <= value <= 2**31 - 1:
            raise InvalidArgument("%s.linux.security_context: %s %d out of range" % (FIELD, what, value))
    spec["process"]["user"] = {"uid": u.uid, "gid": u.gid, "additionalGids": sorted(set(u.additional_gids) | {u.gid})}


def _with_mounts(spec, req):
    sc = req.sc
    readonly_rootfs = sc is not None and sc.readonly_rootfs
    shm = ""
    ipc_host = "ipc" not in req.pod.namespaces or (req.ns_options is not None and req.ns_options.ipc == NODE)
    if ipc_host:
        shm = "/dev/shm"                                  # the host's, as containerd binds for host IPC
    elif req.pod.shm_path:
        shm = req.pod.shm_path
    userns_pod = req.userns is not None and req.userns.mode == POD
    sysfs_bind = userns_pod and "network" not in req.pod.namespaces
    mounts, propagation = specmounts.mounts(req.config, req.privileged, req.pod.etc_files, shm, readonly_rootfs,
                                            req.volumes, req.host_paths, sysfs_bind)
    spec["mounts"] = mounts
    if propagation:
        spec["linux"]["rootfsPropagation"] = propagation


def _with_masked_paths(spec, req):
    sc = req.sc
    masked = list(sc.masked_paths) if sc is not None and sc.masked_paths else list(req.defaults.masked_paths)
    ro = list(sc.readonly_paths) if sc is not None and sc.readonly_paths else list(req.defaults.readonly_paths)
    for name, paths in (("masked_paths", masked), ("readonly_paths", ro)):
        for p in paths:
            if not p.startswith("/"):
                raise InvalidArgument("%s.linux.security_context.%s: %r must be absolute" % (FIELD, name, p))
    if req.privileged:
        masked, ro = [], []
    spec["linux"]["maskedPaths"] = masked
    spec["linux"]["readonlyPaths"] = ro


def _with_devices(spec, req):
    nodes, rules = specmounts.devices(req.config, req.devices, req.host_devices, req.privileged)
    if nodes:
        spec["linux"]["devices"] = nodes
    spec["linux"]["resources"]["devices"] = rules


def _with_capabilities(spec, req):
    if req.privileged:
        caps = specsecurity.privileged_capabilities(req.defaults.all_caps)
    else:
        caps = specsecurity.capabilities(req.sc, req.defaults.default_caps, req.defaults.all_caps)
    spec["process"]["capabilities"] = caps


def _with_privileged(spec, req):
    if not req.privileged:
        return
    pod_linux = req.pod.config.linux if req.pod.config.HasField("linux") else None
    pod_privileged = pod_linux is not None and pod_linux.HasField("security_context") and \
        pod_linux.security_context.privileged
    if not pod_privileged:
        raise InvalidArgument("%s.linux.security_context.privileged: the pod sandbox is not privileged" % FIELD)


def _with_security_profiles(spec, req):
    specsecurity.check_apparmor(req.sc)
    specsecurity.check_selinux(req.sc)
    profile = specsecurity.seccomp(req.sc, req.privileged, spec["process"]["capabilities"]["bounding"],
                                   req.defaults.seccomp_default, req.read_profile)
    if profile is not None:
        spec["linux"]["seccomp"] = profile


def _with_no_new_privs(spec, req):
    spec["process"]["noNewPrivileges"] = bool(req.sc is not None and req.sc.no_new_privs)


def _with_readonly_rootfs(spec, req):
    spec["root"]["readonly"] = bool(req.sc is not None and req.sc.readonly_rootfs)


def _with_rlimits(spec, req):
    if req.defaults.rlimits:
        spec["process"]["rlimits"] = copy.deepcopy(req.defaults.rlimits)


def _with_resources(spec, req):
    r = req.resources
    cgroup_parent = req.pod.cgroup_parent or req.defaults.cgroup_parent
    spec["linux"]["cgroupsPath"] = posixpath.join(cgroup_parent, req.id)
    if r is None:
        return
    where = FIELD + ".linux.resources"
    spec["linux"]["resources"].update(linux_resources(r, where, req.defaults))
    adj = r.oom_score_adj
    if not -1000 <= adj <= 1000:
        raise InvalidArgument("%s.oom_score_adj: %d outside -1000..1000" % (where, adj))
    floor = req.defaults.oom_score_adj_floor
    spec["process"]["oomScoreAdj"] = max(adj, floor) if floor is not None else adj


def linux_resources(r, where, defaults):
    """CRI LinuxContainerResources -> OCI linux.resources: what CreateContainer and UpdateContainerResources write.

    Without a swap limit, a memory limit is also the swap limit (no swapping beyond it), where the
    memory controller takes swap limits at all."""
    out, cpu, memory = {}, {}, {}
    for name in ("cpu_period", "cpu_shares", "memory_limit_in_bytes"):
        if getattr(r, name) < 0:
            raise InvalidArgument("%s.%s: %d is negative" % (where, name, getattr(r, name)))
    if r.cpu_period:
        cpu["period"] = r.cpu_period
    if r.cpu_quota:
        cpu["quota"] = r.cpu_quota
    if r.cpu_shares:
        cpu["shares"] = r.cpu_shares
    if r.cpuset_cpus:
        cpu["cpus"] = r.cpuset_cpus
    if r.cpuset_mems:
        cpu["mems"] = r.cpuset_mems
    if r.memory_limit_in_bytes:
        memory["limit"] = r.memory_limit_in_bytes
        if not r.memory_swap_limit_in_bytes and defaults.swap_limit:
            memory["swap"] = r.memory_limit_in_bytes
    if r.memory_swap_limit_in_bytes and defaults.swap_limit:
        memory["swap"] = r.memory_swap_limit_in_bytes
    if cpu:
        out["cpu"] = cpu
    if memory:
        out["memory"] = memory
    if r.hugepage_limits:
        if not defaults.hugetlb:
            raise FailedPrecondition("%s.hugepage_limits: the hugetlb cgroup controller is missing on this host"
                                     % where)
        out["hugepageLimits"] = [{"pageSize": h.page_size, "limit": h.limit} for h in r.hugepage_limits]
    if r.unified:
        out["unified"] = dict(r.unified)
    return out


def _with_namespaces(spec, req):
    """network, ipc, uts: the pod's (its path) or the host's; pid per mode; user and cgroup when asked."""
    ns = spec["linux"]["namespaces"]
    for kind in ("network", "ipc", "uts"):
        if kind in req.pod.namespaces:
            ns.append({"type": kind, "path": req.pod.namespaces[kind]})
    opts = req.ns_options
    mode = opts.pid if opts is not None else POD
    pod_opts = req.pod_ns_options
    if mode == TARGET:
        if not req.target_pid_ns:
            raise InvalidArgument("%s.linux.security_context.namespace_options.target_id: the target "
                                  "container %r is not running in this pod" % (FIELD, opts.target_id))
        ns.append({"type": "pid", "path": req.target_pid_ns})
    elif mode == CONTAINER:
        ns.append({"type": "pid"})
    elif mode == POD:
        if "pid" in req.pod.namespaces:
            ns.append({"type": "pid", "path": req.pod.namespaces["pid"]})
        elif pod_opts is None or pod_opts.pid != NODE:
            ns.append({"type": "pid"})                    # the pod shares none: one of its own
    elif mode != NODE:
        raise InvalidArgument("%s.linux.security_context.namespace_options.pid: unknown mode %d" % (FIELD, mode))
    where = FIELD + ".linux.security_context.namespace_options.userns_options"
    maps = specsecurity.userns_mappings(req.userns, where)
    if not specsecurity.same_userns(req.userns, req.pod_userns):
        raise InvalidArgument("%s: differs from the pod sandbox's user namespace options" % where)
    if maps is not None:
        user_ns = {"type": "user"}
        if req.pod.namespaces.get("user"):
            user_ns["path"] = req.pod.namespaces["user"]
        ns.append(user_ns)
        spec["linux"]["uidMappings"], spec["linux"]["gidMappings"] = maps
    if req.defaults.cgroup_namespace and not req.privileged:
        ns.append({"type": "cgroup"})


def _with_annotations(spec, req):
    meta = req.pod.config.metadata
    spec["annotations"].update({
        ANNOTATION + "container-type": "container",
        ANNOTATION + "sandbox-id": req.pod.id,
        ANNOTATION + "sandbox-namespace": meta.namespace,
        ANNOTATION + "sandbox-uid": meta.uid,
        ANNOTATION + "sandbox-name": meta.name,
        ANNOTATION + "container-name": req.config.metadata.name,
        ANNOTATION + "image-name": req.image_name,
    })


STEPS = [
    _with_args,
    _with_cwd,
    _with_terminal,
    _with_env,
    _with_hostname,
    _with_user,
    _with_mounts,
    _with_masked_paths,
    _with_devices,
    _with_privileged,
    _with_capabilities,
    _with_no_new_privs,
    _with_readonly_rootfs,
    _with_security_profiles,     # after capabilities: RuntimeDefault depends on the bounding set
    _with_rlimits,
    _with_resources,
    _with_namespaces,
    _with_annotations,
]


# ====================================================================== exec

def exec_process(container_spec, cmd, tty):
    """The OCI process of an exec into a container made from ``container_spec`` (as containerd: its process, new args)."""
    cmd = list(cmd)
    if not cmd:
        raise InvalidArgument("Exec cmd: empty command")
    if any("\0" in a for a in cmd):
        raise InvalidArgument("Exec cmd: an argument contains a NUL byte")
    process = copy.deepcopy(container_spec["process"])
    process["args"] = cmd
    process["terminal"] = bool(tty)
    process.pop("consoleSize", None)
    if tty:
        process["env"] = merge_env(process.get("env") or [], ["TERM=xterm"])
    return process
