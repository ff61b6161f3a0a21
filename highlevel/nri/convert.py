"""gantryd's records -> NRI messages (pure).

    pod_message(pod)                    store.Pod -> nri PodSandbox
    container_message(ctr, spec)        store.Container (+ its OCI spec, when there is one) -> nri Container
    resources_message(oci_resources)    OCI linux.resources -> nri LinuxResources

Names come from the CRI configs the records keep (serialized); what the
container runs (args, env, mounts, hooks, linux) from its OCI spec, which is
what the runtime will really be given.
"""
from gantry.api import cri_pb2, nri_pb2

CONTAINER_STATES = {
    "creating": nri_pb2.CONTAINER_CREATED,
    "created": nri_pb2.CONTAINER_CREATED,
    "running": nri_pb2.CONTAINER_RUNNING,
    "exited": nri_pb2.CONTAINER_STOPPED,
}
HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")
NRI_HOOK_FIELDS = ("prestart", "create_runtime", "create_container", "start_container", "poststart", "poststop")


def pod_message(pod):
    config = cri_pb2.PodSandboxConfig.FromString(pod.config) if pod.config else cri_pb2.PodSandboxConfig()
    md = config.metadata
    msg = nri_pb2.PodSandbox(id=pod.id, name=md.name, uid=md.uid, namespace=md.namespace,
                             labels=dict(config.labels), annotations=dict(config.annotations),
                             runtime_handler=pod.runtime_handler, ips=list(pod.ips),
                             pid=int(pod.infra.get("pid", 0) or 0))
    msg.linux.cgroup_parent = pod.cgroup_parent
    for kind, path in sorted(pod.namespaces.items()):
        msg.linux.namespaces.add(type=kind, path=path)
    return msg


def container_message(ctr, spec=None):
    config = cri_pb2.ContainerConfig.FromString(ctr.config) if ctr.config else cri_pb2.ContainerConfig()
    spec = spec or {}
    process = spec.get("process", {})
    msg = nri_pb2.Container(id=ctr.id, pod_sandbox_id=ctr.pod_id, name=config.metadata.name,
                            state=CONTAINER_STATES.get(ctr.state, nri_pb2.CONTAINER_UNKNOWN),
                            labels=dict(config.labels),
                            annotations=spec.get("annotations", dict(config.annotations)),
                            args=process.get("args", list(config.command) + list(config.args)),
                            env=process.get("env", [_env(kv) for kv in config.envs]),
                            pid=ctr.pid or 0, created_at=ctr.created_ns, started_at=ctr.started_ns,
                            finished_at=ctr.finished_ns, exit_code=ctr.exit_code,
                            status_reason=ctr.reason, status_message=ctr.message)
    for m in spec.get("mounts", []):
        msg.mounts.add(destination=m.get("destination", ""), type=m.get("type", ""), source=m.get("source", ""),
                       options=m.get("options", []))
    for kind, name in zip(HOOK_KINDS, NRI_HOOK_FIELDS, strict=True):
        for h in spec.get("hooks", {}).get(kind, []):
            hook = getattr(msg.hooks, name).add(path=h.get("path", ""), args=h.get("args", []), env=h.get("env", []))
            if "timeout" in h:
                hook.timeout.value = h["timeout"]
    for r in process.get("rlimits", []):
        msg.rlimits.add(type=r.get("type", ""), hard=r.get("hard", 0), soft=r.get("soft", 0))
    user = process.get("user")
    if user:
        msg.user.uid, msg.user.gid = user.get("uid", 0), user.get("gid", 0)
        msg.user.additional_gids.extend(user.get("additionalGids", []))
    _linux(msg.linux, spec.get("linux", {}), process)
    return msg


def _env(kv):
    value = kv.value.decode("utf-8", "replace") if isinstance(kv.value, bytes) else kv.value
    return "%s=%s" % (kv.key, value)


def _linux(out, linux, process):
    for ns in linux.get("namespaces", []):
        out.namespaces.add(type=ns.get("type", ""), path=ns.get("path", ""))
    for d in linux.get("devices", []):
        dev = out.devices.add(path=d.get("path", ""), type=d.get("type", ""), major=d.get("major", 0),
                              minor=d.get("minor", 0))
        for key, field in (("fileMode", "file_mode"), ("uid", "uid"), ("gid", "gid")):
            if key in d:
                getattr(dev, field).value = d[key]
    if "resources" in linux:
        out.resources.CopyFrom(resources_message(linux["resources"]))
    if "oomScoreAdj" in process:
        out.oom_score_adj.value = process["oomScoreAdj"]
    out.cgroups_path = linux.get("cgroupsPath", "")
    out.sysctl.update(linux.get("sysctl", {}))


def resources_message(res):
    """OCI linux.resources (a dict) -> nri LinuxResources."""
    out = nri_pb2.LinuxResources()
    mem = res.get("memory", {})
    for key, field in (("limit", "limit"), ("reservation", "reservation"), ("swap", "swap"),
                       ("kernel", "kernel"), ("kernelTCP", "kernel_tcp"), ("swappiness", "swappiness"),
                       ("disableOOMKiller", "disable_oom_killer"), ("useHierarchy", "use_hierarchy")):
        if mem.get(key) is not None:
            getattr(out.memory, field).value = mem[key]
    cpu = res.get("cpu", {})
    for key, field in (("shares", "shares"), ("quota", "quota"), ("period", "period"),
                       ("realtimeRuntime", "realtime_runtime"), ("realtimePeriod", "realtime_period")):
        if cpu.get(key) is not None:
            getattr(out.cpu, field).value = cpu[key]
    out.cpu.cpus, out.cpu.mems = cpu.get("cpus", ""), cpu.get("mems", "")
    for h in res.get("hugepageLimits", []):
        out.hugepage_limits.add(page_size=h.get("pageSize", ""), limit=h.get("limit", 0))
    out.unified.update(res.get("unified", {}))
    for d in res.get("devices", []):
        dev = out.devices.add(allow=d.get("allow", False), type=d.get("type", ""), access=d.get("access", ""))
        if d.get("major") is not None:
            dev.major.value = d["major"]
        if d.get("minor") is not None:
            dev.minor.value = d["minor"]
    if res.get("pids", {}).get("limit") is not None:
        out.pids.limit = res["pids"]["limit"]
    return out
