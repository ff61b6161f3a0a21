"""config.json: loading and ordered validation checks (pure except load()).

``load(bundle)`` reads and parses the bundle's config.json; ``validate(cfg,
bundle)`` runs CHECKS in order and raises SpecError with the first problem.
Each check is a small function over the config dict; helper modules
(capabilities, seccomp) add their own validators at the end of the list.
"""
import os

NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")
RLIMITS = {
    "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
    "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
    "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
    "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}
PROPAGATIONS = ("", "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable")
HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")
# linux.personality.domain -> personality(2) value (PER_LINUX, PER_LINUX32); the spec defines no flags yet
PERSONALITY_DOMAINS = {"LINUX": 0x0000, "LINUX32": 0x0008}
IPC_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
               "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")


class SpecError(ValueError):
    """config.json is malformed or asks for something invalid."""


def load(bundle):
    from .jsonio import loads
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            cfg = loads(f.read())
    except FileNotFoundError:
        raise SpecError("open %s: no such file or directory" % path) from None
    except ValueError as e:
        raise SpecError("parse %s: %s" % (path, e)) from None
    if not isinstance(cfg, dict):
        raise SpecError("parse %s: not a JSON object" % path)
    return cfg


def rootfs_path(cfg, bundle):
    path = (cfg.get("root") or {}).get("path", "")
    return os.path.normpath(os.path.join(bundle, path))


def namespaces(cfg):
    """{type: path or ""} of linux.namespaces."""
    return {ns.get("type"): ns.get("path", "") for ns in (cfg.get("linux") or {}).get("namespaces") or []}


def new_namespace(cfg, kind):
    ns = namespaces(cfg)
    return kind in ns and not ns[kind]


# --------------------------------------------------------------- the checks

# The JSON type of every field the checks and the init read, so that each check below can take its
# shape for granted ("a[]" is each item of list a, "a.*" each value of object a).  Absent and null
# fields are left to the checks that need them.  Parents come before their children.
_INT = (int,)
TYPES = (
    ("root", dict), ("process", dict), ("linux", dict), ("mounts", list), ("hooks", dict),
    ("annotations", dict), ("hostname", str), ("domainname", str), ("root.path", str),
    ("process.user", dict), ("process.env", list), ("process.rlimits", list), ("process.rlimits[]", dict),
    ("process.rlimits[].soft", _INT), ("process.rlimits[].hard", _INT), ("process.apparmorProfile", str),
    ("process.selinuxLabel", str),
    ("linux.namespaces", list), ("linux.namespaces[]", dict), ("linux.namespaces[].path", str),
    ("linux.uidMappings", list), ("linux.gidMappings", list), ("linux.uidMappings[]", dict),
    ("linux.gidMappings[]", dict), ("linux.maskedPaths", list), ("linux.readonlyPaths", list),
    ("linux.sysctl", dict), ("linux.sysctl.*", str), ("linux.devices", list), ("linux.devices[]", dict),
    ("linux.devices[].path", str), ("linux.devices[].major", _INT), ("linux.devices[].minor", _INT),
    ("linux.rootfsPropagation", str),
    ("mounts[]", dict), ("mounts[].options", list), ("mounts[].options[]", str), ("mounts[].source", str),
    ("mounts[].type", str), ("hooks.*", list), ("hooks.*[]", dict), ("hooks.*[].path", str),
    ("hooks.*[].timeout", _INT), ("hooks.*[].args", list), ("hooks.*[].args[]", str),
    ("hooks.*[].env", list), ("hooks.*[].env[]", str),
)


def _values(doc, path):
    """(where, value) for each value at ``path`` (see TYPES) that is present and not null."""
    found = [("", doc)]
    for part in path.replace("[]", ".[]").split("."):
        nxt = []
        for where, value in found:
            if part == "[]":
                nxt += [("%s[%d]" % (where, i), v) for i, v in enumerate(value)]
            elif part == "*":
                nxt += [("%s.%s" % (where, k), v) for k, v in value.items()]
            elif value.get(part) is not None:
                nxt.append(((where + "." + part).lstrip("."), value[part]))
        found = nxt
    return found


def check_types(cfg, bundle):
    for path, kind in TYPES:
        for where, value in _values(cfg, path):
            kinds = kind if isinstance(kind, tuple) else (kind,)
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                raise SpecError("%s must be %s, not %s" % (
                    where, {dict: "an object", list: "a list", str: "a string", int: "an integer"}[kinds[0]],
                    type(value).__name__))


def check_version(cfg, bundle):
    v = cfg.get("ociVersion")
    if not isinstance(v, str) or not v.startswith("1."):
        raise SpecError("ociVersion %r: only runtime-spec 1.x is supported" % (v,))


def check_root(cfg, bundle):
    root = cfg.get("root")
    if not isinstance(root, dict) or not root.get("path"):
        raise SpecError("root.path is required")
    path = rootfs_path(cfg, bundle)
    if not os.path.isdir(path):
        raise SpecError("root.path %s: not a directory" % path)


def check_process(cfg, bundle):
    proc = cfg.get("process")
    if proc is None:
        return  # allowed by the spec until `start`
    if not isinstance(proc, dict):
        raise SpecError("process must be an object")
    args = proc.get("args")
    if not args or not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise SpecError("process.args must be a non-empty list of strings")
    cwd = proc.get("cwd", "/")
    if not isinstance(cwd, str) or not cwd.startswith("/"):
        raise SpecError("process.cwd %r must be an absolute path" % (cwd,))
    for e in proc.get("env") or []:
        if not isinstance(e, str) or "=" not in e:
            raise SpecError("process.env entry %r is not NAME=VALUE" % (e,))
    user = proc.get("user") or {}
    for k in ("uid", "gid"):
        if not isinstance(user.get(k, 0), int) or user.get(k, 0) < 0:
            raise SpecError("process.user.%s must be a non-negative integer" % k)
    if proc.get("terminal") and proc.get("consoleSize") is not None:
        size = proc["consoleSize"]
        if not isinstance(size, dict):
            raise SpecError("process.consoleSize must be an object")


def check_rlimits(cfg, bundle):
    seen = set()
    for rl in (cfg.get("process") or {}).get("rlimits") or []:
        kind = rl.get("type")
        if kind not in RLIMITS:
            raise SpecError("rlimit %r is unknown" % (kind,))
        if kind in seen:
            raise SpecError("rlimit %s is given twice" % kind)
        seen.add(kind)
        for key in ("soft", "hard"):
            value = rl.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 64:
                raise SpecError("rlimit %s: %s must be an unsigned 64-bit integer, not %r" % (kind, key, value))
        if rl.get("soft", 0) > rl.get("hard", 0):
            raise SpecError("rlimit %s: soft limit %s exceeds hard limit %s" % (kind, rl.get("soft"), rl.get("hard")))


def check_namespaces(cfg, bundle):
    seen = set()
    for ns in (cfg.get("linux") or {}).get("namespaces") or []:
        kind = ns.get("type")
        if kind not in NAMESPACE_TYPES:
            raise SpecError("namespace type %r is unknown" % (kind,))
        if kind in seen:
            raise SpecError("namespace %s is given twice" % kind)
        seen.add(kind)
        path = ns.get("path")
        if path and not os.path.exists(path):
            raise SpecError("namespace %s path %s: does not exist" % (kind, path))


def check_hostname(cfg, bundle):
    for key in ("hostname", "domainname"):
        if cfg.get(key) and "uts" not in namespaces(cfg):
            raise SpecError("%s requires a uts namespace" % key)


def check_user_mappings(cfg, bundle):
    linux = cfg.get("linux") or {}
    maps = linux.get("uidMappings") or linux.get("gidMappings")
    userns = "user" in namespaces(cfg)
    if maps and not userns:
        raise SpecError("uidMappings/gidMappings require a user namespace")
    if new_namespace(cfg, "user") and not (linux.get("uidMappings") and linux.get("gidMappings")):
        raise SpecError("a new user namespace needs uidMappings and gidMappings")
    for m in (linux.get("uidMappings") or []) + (linux.get("gidMappings") or []):
        if not all(isinstance(m.get(k), int) and m.get(k) >= 0 for k in ("containerID", "hostID", "size")):
            raise SpecError("id mapping %r needs containerID, hostID and size" % (m,))


def check_mounts(cfg, bundle):
    for m in cfg.get("mounts") or []:
        dest = m.get("destination")
        if not isinstance(dest, str) or not dest:
            raise SpecError("mount %r has no destination" % (m,))
        if not dest.startswith("/"):
            raise SpecError("mount destination %s must be an absolute path" % dest)
        if not isinstance(m.get("options") or [], list):
            raise SpecError("mount %s options must be a list" % dest)


def check_paths(cfg, bundle):
    linux = cfg.get("linux") or {}
    for key in ("maskedPaths", "readonlyPaths"):
        for p in linux.get(key) or []:
            if not isinstance(p, str) or not p.startswith("/"):
                raise SpecError("%s entry %r must be an absolute path" % (key, p))
    prop = linux.get("rootfsPropagation", "")
    if prop not in PROPAGATIONS:
        raise SpecError("rootfsPropagation %r is unknown" % (prop,))


def check_sysctl(cfg, bundle):
    for key in (cfg.get("linux") or {}).get("sysctl") or {}:
        if key in IPC_SYSCTLS or key.startswith("fs.mqueue."):
            if not new_namespace(cfg, "ipc"):
                raise SpecError("sysctl %s requires a new ipc namespace" % key)
        elif key.startswith("net."):
            if not new_namespace(cfg, "network"):
                raise SpecError("sysctl %s requires a new network namespace" % key)
        elif key in ("kernel.hostname", "kernel.domainname"):
            raise SpecError("sysctl %s: set hostname/domainname instead" % key)
        else:
            raise SpecError("sysctl %s is not namespaced: refused" % key)


def check_devices(cfg, bundle):
    for d in (cfg.get("linux") or {}).get("devices") or []:
        if d.get("type") not in ("c", "b", "u", "p"):
            raise SpecError("device %s: type %r is unknown" % (d.get("path"), d.get("type")))
        if not str(d.get("path", "")).startswith("/"):
            raise SpecError("device path %r must be absolute" % (d.get("path"),))
        if d["type"] != "p" and not ("major" in d and "minor" in d):
            raise SpecError("device %s needs major and minor" % d["path"])


def check_hooks(cfg, bundle):
    for kind, hooks in (cfg.get("hooks") or {}).items():
        if kind not in HOOK_KINDS:
            raise SpecError("hook kind %r is unknown" % kind)
        for h in hooks or []:
            if not str(h.get("path", "")).startswith("/"):
                raise SpecError("%s hook path %r must be absolute" % (kind, h.get("path")))
            if h.get("timeout") is not None and h["timeout"] <= 0:
                raise SpecError("%s hook timeout must be positive" % kind)


def apparmor_enabled():
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            return f.read().strip() == "Y"
    except OSError:
        return False


def check_security_modules(cfg, bundle):
    """Profiles and labels we cannot apply are refused, never silently dropped."""
    proc = cfg.get("process") or {}
    if proc.get("apparmorProfile"):
        raise SpecError("process.apparmorProfile %r: AppArmor is not %s" % (
            proc["apparmorProfile"], "supported by gantry-oci" if apparmor_enabled() else "enabled on this host"))
    if proc.get("selinuxLabel"):
        raise SpecError("process.selinuxLabel: SELinux labels are not supported by gantry-oci")
    if (cfg.get("linux") or {}).get("intelRdt"):
        raise SpecError("linux.intelRdt: Intel RDT is not supported by gantry-oci")


def check_personality(cfg, bundle):
    per = (cfg.get("linux") or {}).get("personality")
    if per is None:
        return
    if not isinstance(per, dict) or per.get("domain") not in PERSONALITY_DOMAINS:
        raise SpecError("linux.personality: domain %r is unknown (LINUX or LINUX32)" % (
            per.get("domain") if isinstance(per, dict) else per,))
    if per.get("flags"):
        raise SpecError("linux.personality: flags %r are not supported (the runtime spec defines none)" % (
            per["flags"],))


def check_capabilities(cfg, bundle):
    caps = (cfg.get("process") or {}).get("capabilities")
    if caps:
        try:
            from . import capabilities
        except ImportError:
            return
        try:
            capabilities.validate(caps)
        except ValueError as e:
            raise SpecError(str(e)) from None


def check_seccomp(cfg, bundle):
    sec = (cfg.get("linux") or {}).get("seccomp")
    if sec:
        try:
            from . import seccomp
        except ImportError:
            raise SpecError("linux.seccomp is not supported by this build") from None
        try:
            seccomp.validate(sec)
        except ValueError as e:
            raise SpecError(str(e)) from None


CHECKS = (check_types, check_version, check_root, check_process, check_rlimits, check_namespaces, check_hostname,
          check_user_mappings, check_mounts, check_paths, check_sysctl, check_devices, check_hooks,
          check_security_modules, check_personality, check_capabilities, check_seccomp)


def validate(cfg, bundle):
    for check in CHECKS:
        check(cfg, bundle)
    return cfg
