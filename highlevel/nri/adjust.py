"""A plugin's answer applied to the OCI spec (pure).

    apply_adjustment(spec, adjust, plugin) -> spec     CreateContainer's ContainerAdjustment
    oci_resources(nri_resources) -> dict               nri LinuxResources -> OCI linux.resources (set fields)

Applied: annotations, env, mounts, OCI hooks, args, rlimits, and under linux:
resources, oom_score_adj, cgroups_path, devices, sysctl.  A key of
annotations or env, or a mount destination, written "-name" removes "name".
What gantryd does not apply (CDI devices, namespaces, I/O priority, seccomp
policy, network devices, scheduler, RDT, memory policy) is refused with
Unimplemented naming the plugin and the field, so the container is not
created without what the plugin asked for.
"""
import copy

from .. import errors
from .convert import HOOK_KINDS, NRI_HOOK_FIELDS

UNSUPPORTED_LINUX = ("io_priority", "seccomp_policy", "scheduler", "rdt", "memory_policy")


def apply_adjustment(spec, adjust, plugin):
    where = "CreateContainer: NRI plugin %s: adjustment" % plugin
    _refuse_unsupported(adjust, where)
    spec = copy.deepcopy(spec)
    process = spec.setdefault("process", {})
    if adjust.annotations:
        spec["annotations"] = _adjust_map(spec.get("annotations", {}), adjust.annotations)
    if adjust.env:
        process["env"] = _adjust_env(process.get("env", []), adjust.env)
    if adjust.mounts:
        spec["mounts"] = _adjust_mounts(spec.get("mounts", []), adjust.mounts)
    if adjust.HasField("hooks"):
        hooks = spec.setdefault("hooks", {})
        for kind, name in zip(HOOK_KINDS, NRI_HOOK_FIELDS, strict=True):
            for h in getattr(adjust.hooks, name):
                hook = {"path": h.path}
                if h.args:
                    hook["args"] = list(h.args)
                if h.env:
                    hook["env"] = list(h.env)
                if h.HasField("timeout"):
                    hook["timeout"] = h.timeout.value
                hooks.setdefault(kind, []).append(hook)
    if adjust.args:
        process["args"] = list(adjust.args)
    for r in adjust.rlimits:
        rlimits = [x for x in process.get("rlimits", []) if x.get("type") != r.type]
        process["rlimits"] = rlimits + [{"type": r.type, "hard": r.hard, "soft": r.soft}]
    if adjust.HasField("linux"):
        _adjust_linux(spec, adjust.linux)
    return spec


def _refuse_unsupported(adjust, where):
    if adjust.CDI_devices:
        raise errors.Unimplemented("%s.CDI_devices: CDI devices are not supported by gantryd" % where)
    if not adjust.HasField("linux"):
        return
    linux = adjust.linux
    for name in UNSUPPORTED_LINUX:
        if linux.HasField(name):
            raise errors.Unimplemented("%s.linux.%s: not supported by gantryd" % (where, name))
    if linux.namespaces:
        raise errors.Unimplemented("%s.linux.namespaces: not supported by gantryd" % where)
    if linux.net_devices:
        raise errors.Unimplemented("%s.linux.net_devices: not supported by gantryd" % where)


def _adjust_map(current, changes):
    out = dict(current)
    for key, value in changes.items():
        if key.startswith("-"):
            out.pop(key[1:], None)
        else:
            out[key] = value
    return out


def _adjust_env(env, changes):
    out = list(env)
    for kv in changes:
        name = kv.key[1:] if kv.key.startswith("-") else kv.key
        out = [e for e in out if e.split("=", 1)[0] != name]
        if not kv.key.startswith("-"):
            out.append("%s=%s" % (kv.key, kv.value))
    return out


def _adjust_mounts(mounts, changes):
    out = list(mounts)
    for m in changes:
        dest = m.destination[1:] if m.destination.startswith("-") else m.destination
        out = [x for x in out if x.get("destination") != dest]
        if not m.destination.startswith("-"):
            out.append({"destination": m.destination, "type": m.type, "source": m.source,
                        "options": list(m.options)})
    return out


def _adjust_linux(spec, linux):
    out = spec.setdefault("linux", {})
    if linux.HasField("resources"):
        res = out.setdefault("resources", {})
        merge_resources(res, oci_resources(linux.resources))
    if linux.HasField("oom_score_adj"):
        spec.setdefault("process", {})["oomScoreAdj"] = linux.oom_score_adj.value
    if linux.cgroups_path:
        out["cgroupsPath"] = linux.cgroups_path
    for d in linux.devices:
        dev = {"path": d.path, "type": d.type, "major": d.major, "minor": d.minor}
        for field, key in (("file_mode", "fileMode"), ("uid", "uid"), ("gid", "gid")):
            if d.HasField(field):
                dev[key] = getattr(d, field).value
        out["devices"] = [x for x in out.get("devices", []) if x.get("path") != d.path] + [dev]
        out.setdefault("resources", {}).setdefault("devices", []).append(
            {"allow": True, "type": d.type, "major": d.major, "minor": d.minor, "access": "rwm"})
    if linux.sysctl:
        out["sysctl"] = _adjust_map(out.get("sysctl", {}), linux.sysctl)


def merge_resources(res, changes):
    """OCI resources ``changes`` into ``res`` (in place): sections merge key by key, lists add."""
    for key, value in changes.items():
        if isinstance(value, dict) and key != "unified":
            res.setdefault(key, {}).update(value)
        elif key == "unified":
            res.setdefault("unified", {}).update(value)
        elif isinstance(value, list):
            res[key] = res.get(key, []) + value
        else:
            res[key] = value
    return res


def oci_resources(res):
    """nri LinuxResources -> OCI linux.resources with the fields the plugin set."""
    out = {}
    if res.HasField("memory"):
        mem = {}
        for field, key in (("limit", "limit"), ("reservation", "reservation"), ("swap", "swap"),
                           ("kernel", "kernel"), ("kernel_tcp", "kernelTCP"), ("swappiness", "swappiness"),
                           ("disable_oom_killer", "disableOOMKiller"), ("use_hierarchy", "useHierarchy")):
            if res.memory.HasField(field):
                mem[key] = getattr(res.memory, field).value
        if mem:
            out["memory"] = mem
    if res.HasField("cpu"):
        cpu = {}
        for field, key in (("shares", "shares"), ("quota", "quota"), ("period", "period"),
                           ("realtime_runtime", "realtimeRuntime"), ("realtime_period", "realtimePeriod")):
            if res.cpu.HasField(field):
                cpu[key] = getattr(res.cpu, field).value
        if res.cpu.cpus:
            cpu["cpus"] = res.cpu.cpus
        if res.cpu.mems:
            cpu["mems"] = res.cpu.mems
        if cpu:
            out["cpu"] = cpu
    if res.hugepage_limits:
        out["hugepageLimits"] = [{"pageSize": h.page_size, "limit": h.limit} for h in res.hugepage_limits]
    if res.unified:
        out["unified"] = dict(res.unified)
    if res.devices:
        devs = []
        for d in res.devices:
            dev = {"allow": d.allow, "type": d.type, "access": d.access}
            if d.HasField("major"):
                dev["major"] = d.major.value
            if d.HasField("minor"):
                dev["minor"] = d.minor.value
            devs.append(dev)
        out["devices"] = devs
    if res.HasField("pids"):
        out["pids"] = {"limit": res.pids.limit}
    if res.HasField("blockio_class") or res.HasField("rdt_class"):
        raise errors.Unimplemented("NRI resources: blockio_class and rdt_class are not supported by gantryd")
    return out
