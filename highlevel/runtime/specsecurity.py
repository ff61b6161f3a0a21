"""Security edits of a container's OCI spec (pure): capabilities, seccomp, AppArmor/SELinux, user namespaces.

Each function takes the CRI security context (``cri_pb2.LinuxContainerSecurityContext``)
and edits or returns a piece of the spec, as containerd's CRI plugin does:

- ``capabilities(sc, defaults, all_caps)``: the default set, then ``add ALL``,
  ``drop ALL``, named adds, named drops (in that order); names with or
  without ``CAP_``, any case; an unknown name is InvalidArgument.
- ``seccomp(sc, privileged, bounding, ...)``: privileged containers run
  unconfined; ``seccomp`` (a SecurityProfile) wins over the deprecated
  ``seccomp_profile_path``; neither set means unconfined (kubelet sends
  RuntimeDefault explicitly when it wants it).
- ``check_apparmor`` / ``check_selinux``: both are off on gantry hosts;
  asking for a specific profile or label is Unimplemented.
- ``userns_mappings(userns, where)``: the id mappings of a UserNamespace,
  with the checks critest's "should fail" specs expect.
"""
from ..errors import InvalidArgument, Unimplemented

# Linux capabilities in kernel order (capability.h), CAP_CHOWN = 0 ... CAP_CHECKPOINT_RESTORE = 40.
KNOWN_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
    "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
]

# What a container gets without asking (Docker's and containerd's list).
DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE",
]

RUNTIME_DEFAULT, UNCONFINED, LOCALHOST = 0, 1, 2       # cri SecurityProfile.ProfileType
FIELD = "CreateContainer config.linux.security_context"


def capability_name(name, field):
    """``net_admin``, ``NET_ADMIN`` or ``CAP_NET_ADMIN`` -> ``CAP_NET_ADMIN``; unknown -> InvalidArgument."""
    upper = name.strip().upper()
    full = upper if upper.startswith("CAP_") else "CAP_" + upper
    if full not in KNOWN_CAPS:
        raise InvalidArgument("%s.capabilities.%s: unknown capability %r" % (FIELD, field, name))
    return full


def capabilities(sc, default_caps, all_caps):
    """The process.capabilities section (no inheritable or ambient set, as containerd)."""
    caps = list(default_caps)
    req = sc.capabilities if sc is not None and sc.HasField("capabilities") else None
    if req is not None:
        if req.add_ambient_capabilities:
            raise Unimplemented("%s.capabilities.add_ambient_capabilities: ambient capabilities are not "
                                "supported" % FIELD)
        add = [c for c in req.add_capabilities if c.strip().upper() != "ALL"]
        drop = [c for c in req.drop_capabilities if c.strip().upper() != "ALL"]
        if len(add) != len(req.add_capabilities):
            caps = list(all_caps)
        if len(drop) != len(req.drop_capabilities):
            caps = []
        for name in add:
            full = capability_name(name, "add_capabilities")
            if full not in caps:
                caps.append(full)
        dropped = {capability_name(name, "drop_capabilities") for name in drop}
        caps = [c for c in caps if c not in dropped]
    return {"bounding": list(caps), "effective": list(caps), "permitted": list(caps)}


def privileged_capabilities(all_caps):
    return {"bounding": list(all_caps), "effective": list(all_caps), "permitted": list(all_caps)}


# ------------------------------------------------------------------ seccomp

def seccomp_profile_request(sc):
    """(profile_type, localhost_path) asked for, or None for unconfined-by-absence."""
    if sc is None:
        return None
    if sc.HasField("seccomp"):
        sp = sc.seccomp
        if sp.profile_type != LOCALHOST and sp.localhost_ref:
            raise InvalidArgument("%s.seccomp.localhost_ref: set for a profile type other than Localhost"
                                  % FIELD)
        if sp.profile_type == LOCALHOST:
            path = sp.localhost_ref
            if path.startswith("localhost/"):
                path = path[len("localhost/"):]
            return LOCALHOST, _absolute_profile(path, "seccomp.localhost_ref")
        if sp.profile_type not in (RUNTIME_DEFAULT, UNCONFINED):
            raise InvalidArgument("%s.seccomp.profile_type: unknown value %d" % (FIELD, sp.profile_type))
        return sp.profile_type, ""
    text = sc.seccomp_profile_path
    if not text:
        return None
    if text in ("runtime/default", "docker/default"):
        return RUNTIME_DEFAULT, ""
    if text == "unconfined":
        return UNCONFINED, ""
    if text.startswith("localhost/"):
        return LOCALHOST, _absolute_profile(text[len("localhost/"):], "seccomp_profile_path")
    raise InvalidArgument("%s.seccomp_profile_path: unknown profile %r (runtime/default, docker/default, "
                          "unconfined or localhost/<absolute path>)" % (FIELD, text))


def _absolute_profile(path, field):
    if not path.startswith("/"):
        raise InvalidArgument("%s.%s: seccomp profile path %r must be absolute" % (FIELD, field, path))
    if "\0" in path:
        raise InvalidArgument("%s.%s: seccomp profile path %r holds a NUL byte" % (FIELD, field, path))
    return path


def seccomp(sc, privileged, bounding, default_profile, read_profile):
    """The linux.seccomp section, or None for none.

    ``default_profile`` is a dict or a callable(bounding capabilities) -> dict
    (seccomp_default.profile_for); ``read_profile(path) -> dict`` loads a
    Localhost profile (hostfacts.read_seccomp_profile).
    """
    request = seccomp_profile_request(sc)
    if privileged or request is None:
        return None
    kind, path = request
    if kind == UNCONFINED:
        return None
    if kind == RUNTIME_DEFAULT:
        return default_profile(bounding) if callable(default_profile) else dict(default_profile)
    if read_profile is None:
        raise Unimplemented("%s.seccomp: Localhost profiles need a profile reader" % FIELD)
    profile = read_profile(path)
    if not isinstance(profile, dict) or not isinstance(profile.get("defaultAction"), str):
        raise InvalidArgument("%s.seccomp: profile %s is not an OCI seccomp object (no defaultAction)"
                              % (FIELD, path))
    return profile


# ------------------------------------------------------------------ AppArmor, SELinux (off here)

def check_apparmor(sc):
    """AppArmor is off on gantry hosts: runtime/default and unconfined run as they are, a named profile cannot."""
    if sc is None:
        return
    if sc.HasField("apparmor"):
        if sc.apparmor.profile_type == LOCALHOST:
            raise Unimplemented("%s.apparmor: AppArmor is not enabled on this host (profile %r)"
                                % (FIELD, sc.apparmor.localhost_ref))
        return
    text = sc.apparmor_profile
    if text and text not in ("runtime/default", "unconfined"):
        raise Unimplemented("%s.apparmor_profile: AppArmor is not enabled on this host (profile %r)"
                            % (FIELD, text))


def check_selinux(sc):
    """SELinux is off on gantry hosts: a label asked for cannot be applied."""
    if sc is None or not sc.HasField("selinux_options"):
        return
    o = sc.selinux_options
    if o.user or o.role or o.type or o.level:
        raise Unimplemented("%s.selinux_options: SELinux is not enabled on this host" % FIELD)


# ------------------------------------------------------------------ user namespaces

NODE, POD = 2, 0    # cri NamespaceMode values used here


def userns_mappings(userns, where):
    """(uid_mappings, gid_mappings) as OCI lists for a cri UserNamespace; None when not set or mode NODE.

    Mode POD needs exactly one uid and one gid mapping, each of length >= 1
    and mapping container id 0; NODE takes no mappings; CONTAINER and TARGET
    are refused.  ``where`` names the field for errors (e.g. "RunPodSandbox
    config.linux.security_context.namespace_options.userns_options").
    """
    if userns is None:
        return None
    uids = _mapping(userns.uids, where + ".uids")
    gids = _mapping(userns.gids, where + ".gids")
    if userns.mode == NODE:
        if uids or gids:
            raise InvalidArgument("%s: mode NODE takes no id mappings" % where)
        return None
    if userns.mode != POD:
        raise InvalidArgument("%s.mode: only POD and NODE are supported (got %d)" % (where, userns.mode))
    if not uids or not gids:
        raise InvalidArgument("%s: mode POD needs one uid and one gid mapping" % where)
    return uids, gids


def _mapping(entries, where):
    if not entries:
        return []
    if len(entries) > 1:
        raise InvalidArgument("%s: only one mapping is supported, got %d" % (where, len(entries)))
    m = entries[0]
    if m.length < 1:
        raise InvalidArgument("%s: mapping length must be at least 1" % where)
    if m.container_id != 0:
        raise InvalidArgument("%s: the mapping must start at container id 0 (got %d)" % (where, m.container_id))
    if m.host_id + m.length > 2**32 - 1:
        raise InvalidArgument("%s: host ids %d+%d overflow" % (where, m.host_id, m.length))
    return [{"containerID": m.container_id, "hostID": m.host_id, "size": m.length}]


def same_userns(a, b):
    """Whether two UserNamespace messages (or None) ask for the same namespace."""
    if a is None or b is None:
        return a is None and b is None
    return (a.mode == b.mode and [(m.container_id, m.host_id, m.length) for m in a.uids]
            == [(m.container_id, m.host_id, m.length) for m in b.uids]
            and [(m.container_id, m.host_id, m.length) for m in a.gids]
            == [(m.container_id, m.host_id, m.length) for m in b.gids])
