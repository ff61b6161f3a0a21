"""Pod and container records (highlevel/runtime/store.py) -> CRI runtime.v1 messages (pure).

Also the CRI filters (id prefix, state, labels) as predicates, and the
ContainerEventResponse of a published event.
"""
import json
import signal as signalmod

from gantry.api import cri_pb2

POD_STATES = {"ready": cri_pb2.SANDBOX_READY, "notready": cri_pb2.SANDBOX_NOTREADY,
              "creating": cri_pb2.SANDBOX_NOTREADY}
CONTAINER_STATES = {"creating": cri_pb2.CONTAINER_UNKNOWN, "created": cri_pb2.CONTAINER_CREATED,
                    "running": cri_pb2.CONTAINER_RUNNING, "exited": cri_pb2.CONTAINER_EXITED}
EVENT_TYPES = {"created": cri_pb2.CONTAINER_CREATED_EVENT, "started": cri_pb2.CONTAINER_STARTED_EVENT,
               "stopped": cri_pb2.CONTAINER_STOPPED_EVENT, "deleted": cri_pb2.CONTAINER_DELETED_EVENT}


def labels_match(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def _id_match(wanted, actual):
    return not wanted or actual.startswith(wanted)


# -- pods --------------------------------------------------------------------------------
def pod_config(pod):
    return cri_pb2.PodSandboxConfig.FromString(pod.config)


def pod_filter(flt):
    def match(pod):
        if flt is None:
            return True
        if not _id_match(flt.id, pod.id):
            return False
        if flt.HasField("state") and POD_STATES[pod.state] != flt.state.state:
            return False
        return labels_match(flt.label_selector, pod_config(pod).labels)
    return match


def pod_to_cri(pod):
    cfg = pod_config(pod)
    return cri_pb2.PodSandbox(id=pod.id, metadata=cfg.metadata, state=POD_STATES[pod.state],
                              created_at=pod.created_ns, labels=cfg.labels, annotations=cfg.annotations,
                              runtime_handler=pod.runtime_handler)


def pod_status(pod):
    cfg = pod_config(pod)
    status = cri_pb2.PodSandboxStatus(id=pod.id, metadata=cfg.metadata, state=POD_STATES[pod.state],
                                      created_at=pod.created_ns, labels=cfg.labels, annotations=cfg.annotations,
                                      runtime_handler=pod.runtime_handler)
    if pod.ips:
        status.network.ip = pod.ips[0]
        for ip in pod.ips[1:]:
            status.network.additional_ips.add(ip=ip)
    status.linux.namespaces.options.CopyFrom(cfg.linux.security_context.namespace_options)
    return status


def pod_info(pod):
    """Verbose PodSandboxStatus info: what gantryd holds for the pod."""
    return {"info": json.dumps({
        "id": pod.id, "state": pod.state, "runtimeHandler": pod.runtime_handler, "dir": pod.dir,
        "namespaces": pod.namespaces, "cgroupParent": pod.cgroup_parent, "ips": pod.ips,
        "pausePid": pod.infra.get("pid", 0), "config": json.loads(_config_json(pod_config(pod))),
    }, sort_keys=True)}


# -- containers ------------------------------------------------------------------------------
def container_config(ctr):
    return cri_pb2.ContainerConfig.FromString(ctr.config)


def container_filter(flt):
    def match(ctr):
        if flt is None:
            return True
        if not _id_match(flt.id, ctr.id) or not _id_match(flt.pod_sandbox_id, ctr.pod_id):
            return False
        if flt.HasField("state") and CONTAINER_STATES[ctr.state] != flt.state.state:
            return False
        return labels_match(flt.label_selector, container_config(ctr).labels)
    return match


def _image_spec(ctr, cfg):
    return cri_pb2.ImageSpec(image=ctr.image_id, annotations=cfg.image.annotations,
                             user_specified_image=cfg.image.user_specified_image or ctr.image_ref)


def container_to_cri(ctr, image_ref=""):
    cfg = container_config(ctr)
    return cri_pb2.Container(id=ctr.id, pod_sandbox_id=ctr.pod_id, metadata=cfg.metadata,
                             image=_image_spec(ctr, cfg), image_ref=image_ref or ctr.image_id,
                             state=CONTAINER_STATES[ctr.state], created_at=ctr.created_ns, labels=cfg.labels,
                             annotations=cfg.annotations, image_id=ctr.image_id)


def container_status(ctr, image_ref="", spec=None):
    """``image_ref``: the image's repo digest when it has one (what ImageService reports),
    ``spec``: the container's OCI spec (mounts, user, resources), when still on disk."""
    cfg = container_config(ctr)
    status = cri_pb2.ContainerStatus(
        id=ctr.id, metadata=cfg.metadata, state=CONTAINER_STATES[ctr.state], created_at=ctr.created_ns,
        started_at=ctr.started_ns, finished_at=ctr.finished_ns, exit_code=ctr.exit_code,
        image=_image_spec(ctr, cfg), image_ref=image_ref or ctr.image_id, reason=ctr.reason,
        message=ctr.message, labels=cfg.labels, annotations=cfg.annotations, log_path=ctr.log_path,
        image_id=ctr.image_id)
    for i, m in enumerate(cfg.mounts):
        status.mounts.append(m)
        if m.HasField("image") and m.image.image:
            image_id = next((v[2] for v in ctr.image_volumes if v[1].endswith("/imagevols/%d" % i)), "")
            status.mounts[-1].image.image_ref = image_id
    if cfg.linux.HasField("resources"):
        status.resources.linux.CopyFrom(cfg.linux.resources)
    if spec is not None:
        user = spec.get("process", {}).get("user", {})
        status.user.linux.uid = user.get("uid", 0)
        status.user.linux.gid = user.get("gid", 0)
        status.user.linux.supplemental_groups.extend(user.get("additionalGids", []))
        resources = spec.get("linux", {}).get("resources")
        if resources:
            status.resources.linux.CopyFrom(resources_from_oci(resources, status.resources.linux))
    status.stop_signal = signal_to_cri(ctr.stop_signal)
    return status


def signal_to_cri(number):
    try:
        name = signalmod.Signals(number).name
    except ValueError:
        return cri_pb2.RUNTIME_DEFAULT
    return cri_pb2.Signal.Value(name) if name in cri_pb2.Signal.keys() else cri_pb2.RUNTIME_DEFAULT


def container_info(ctr, spec):
    return {"info": json.dumps({
        "id": ctr.id, "sandboxID": ctr.pod_id, "pid": ctr.pid, "state": ctr.state, "bundle": ctr.bundle,
        "shimAddress": ctr.shim_address, "snapshotKey": ctr.snapshot_key, "runtimeHandler": ctr.runtime,
        "config": json.loads(_config_json(container_config(ctr))), "runtimeSpec": spec,
    }, sort_keys=True)}


def _config_json(msg):
    from google.protobuf import json_format

    return json_format.MessageToJson(msg, preserving_proto_field_name=True)


# -- resources ------------------------------------------------------------------------------
def resources_from_oci(res, into=None):
    r = cri_pb2.LinuxContainerResources()
    if into is not None:
        r.CopyFrom(into)
    cpu, memory = res.get("cpu") or {}, res.get("memory") or {}
    r.cpu_shares = cpu.get("shares", r.cpu_shares) or 0
    r.cpu_quota = cpu.get("quota", r.cpu_quota) or 0
    r.cpu_period = cpu.get("period", r.cpu_period) or 0
    r.cpuset_cpus = cpu.get("cpus", r.cpuset_cpus) or ""
    r.cpuset_mems = cpu.get("mems", r.cpuset_mems) or ""
    r.memory_limit_in_bytes = memory.get("limit", r.memory_limit_in_bytes) or 0
    r.memory_swap_limit_in_bytes = memory.get("swap", r.memory_swap_limit_in_bytes) or 0
    return r


# -- stats ------------------------------------------------------------------------------------
def _u64(msg, value):
    if value is not None:
        msg.value = int(value)


def container_stats_to_cri(ctr, stats, mountpoint):
    cfg = container_config(ctr)
    out = cri_pb2.ContainerStats()
    out.attributes.id = ctr.id
    out.attributes.metadata.CopyFrom(cfg.metadata)
    out.attributes.labels.update(cfg.labels)
    out.attributes.annotations.update(cfg.annotations)
    ts = stats.timestamp_ns
    out.cpu.timestamp = ts
    _u64(out.cpu.usage_core_nano_seconds, stats.cpu_usage_ns or 0)
    out.memory.timestamp = ts
    _u64(out.memory.working_set_bytes, stats.memory_working_set or 0)
    _u64(out.memory.usage_bytes, stats.memory_usage or 0)
    out.writable_layer.timestamp = ts
    out.writable_layer.fs_id.mountpoint = mountpoint
    _u64(out.writable_layer.used_bytes, stats.writable_bytes)
    _u64(out.writable_layer.inodes_used, stats.writable_inodes)
    return out


def pod_stats_to_cri(pod, container_stats, net, ts, pids):
    cfg = pod_config(pod)
    out = cri_pb2.PodSandboxStats()
    out.attributes.id = pod.id
    out.attributes.metadata.CopyFrom(cfg.metadata)
    out.attributes.labels.update(cfg.labels)
    out.attributes.annotations.update(cfg.annotations)
    linux = out.linux
    linux.cpu.timestamp = linux.memory.timestamp = ts
    _u64(linux.cpu.usage_core_nano_seconds, sum(s.cpu.usage_core_nano_seconds.value for s in container_stats))
    _u64(linux.memory.working_set_bytes, sum(s.memory.working_set_bytes.value for s in container_stats))
    _u64(linux.memory.usage_bytes, sum(s.memory.usage_bytes.value for s in container_stats))
    linux.process.timestamp = ts
    _u64(linux.process.process_count, pids)
    linux.network.timestamp = ts
    for i, (name, (rx, rx_err, tx, tx_err)) in enumerate(sorted(net.items())):
        iface = linux.network.interfaces.add(name=name)
        _u64(iface.rx_bytes, rx)
        _u64(iface.rx_errors, rx_err)
        _u64(iface.tx_bytes, tx)
        _u64(iface.tx_errors, tx_err)
        if name == "eth0" or i == 0:
            linux.network.default_interface.CopyFrom(iface)
    linux.containers.extend(container_stats)
    return out


def event_to_cri(kind, what, record, pod_status_msg, container_statuses, ts):
    ev = cri_pb2.ContainerEventResponse(container_id=record.id, container_event_type=EVENT_TYPES[what],
                                        created_at=ts)
    if pod_status_msg is not None:
        ev.pod_sandbox_status.CopyFrom(pod_status_msg)
    ev.containers_statuses.extend(container_statuses)
    return ev
