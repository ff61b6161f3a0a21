"""create, start, stop, rm, ps, inspect."""
import re

from gantry.api import cri_pb2

from . import configs, resolve
from .client import CtlError
from .output import ago, emit, json_or_text, message_dict, short_id, truncate

STATES = {"created": cri_pb2.CONTAINER_CREATED, "running": cri_pb2.CONTAINER_RUNNING,
          "exited": cri_pb2.CONTAINER_EXITED, "unknown": cri_pb2.CONTAINER_UNKNOWN}
STATE_NAMES = {v: k.capitalize() for k, v in STATES.items()}
CTR_TIMEOUT = 120.0


def cmd_create(client, args, out):
    pid = resolve.pod_id(client, args.pod)
    cfg = configs.load_message(args.config, cri_pb2.ContainerConfig)
    if args.pod_config:
        pod_cfg = configs.load_message(args.pod_config, cri_pb2.PodSandboxConfig)
    else:
        st = client.call("pod status " + pid, client.runtime.PodSandboxStatus,
                         cri_pb2.PodSandboxStatusRequest(pod_sandbox_id=pid)).status
        pod_cfg = configs.pod_config_from_status(st)
    if not args.no_pull and cfg.image.image:
        from .images import image_status, pull

        if not image_status(client, cfg.image.image).HasField("image"):
            pull(client, cfg.image.image, timeout=client.timeout, sandbox_config=pod_cfg)
    out.write(create(client, pid, cfg, pod_cfg) + "\n")


def create(client, pod_id, cfg, pod_cfg):
    return client.call("create", client.runtime.CreateContainer,
                       cri_pb2.CreateContainerRequest(pod_sandbox_id=pod_id, config=cfg, sandbox_config=pod_cfg),
                       timeout=max(client.timeout, CTR_TIMEOUT)).container_id


def start(client, cid):
    client.call("start " + cid, client.runtime.StartContainer, cri_pb2.StartContainerRequest(container_id=cid),
                timeout=max(client.timeout, CTR_TIMEOUT))


def stop(client, cid, timeout):
    client.call("stop " + cid, client.runtime.StopContainer,
                cri_pb2.StopContainerRequest(container_id=cid, timeout=timeout),
                timeout=max(client.timeout, CTR_TIMEOUT + timeout))


def remove(client, cid):
    client.call("rm " + cid, client.runtime.RemoveContainer, cri_pb2.RemoveContainerRequest(container_id=cid),
                timeout=max(client.timeout, CTR_TIMEOUT))


def status(client, cid, verbose=False):
    return client.call("status " + cid, client.runtime.ContainerStatus,
                       cri_pb2.ContainerStatusRequest(container_id=cid, verbose=verbose))


def _targets(client, args, running_only=False):
    if getattr(args, "all", False):
        return [c.id for c in resolve.containers(client)
                if not running_only or c.state == cri_pb2.CONTAINER_RUNNING]
    if not args.containers:
        raise CtlError("%s: name a container%s" % (args.command, "" if args.command == "start" else ", or -a for all"))
    return [resolve.container_id(client, ref) for ref in args.containers]


def cmd_start(client, args, out):
    for cid in _targets(client, args):
        start(client, cid)
        out.write(cid + "\n")


def cmd_stop(client, args, out):
    for cid in _targets(client, args, running_only=True):
        stop(client, cid, args.time)
        out.write(cid + "\n")


def cmd_rm(client, args, out):
    for cid in _targets(client, args):
        if args.force:
            stop(client, cid, 0)
        elif status(client, cid).status.state == cri_pb2.CONTAINER_RUNNING:
            raise CtlError("rm %s: the container is running: stop it first, or rm -f" % cid)
        remove(client, cid)
        out.write(cid + "\n")


def container_rows(containers, pod_names, now=None):
    rows = [("CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD")]
    for c in containers:
        image = c.image.user_specified_image or c.image.image or c.image_ref
        if image.startswith("sha256:"):
            image = short_id(image)
        rows.append((short_id(c.id), truncate(image, 40), ago(c.created_at, now), STATE_NAMES.get(c.state, str(c.state)),
                     c.metadata.name, str(c.metadata.attempt), short_id(c.pod_sandbox_id),
                     pod_names.get(c.pod_sandbox_id, "")))
    return rows


def list_containers(client, args):
    req = cri_pb2.ListContainersRequest()
    if args.state:
        if args.state.lower() not in STATES:
            raise CtlError("--state %s: expected one of %s" % (args.state, ", ".join(STATES)))
        req.filter.state.state = STATES[args.state.lower()]
    elif not args.all:
        req.filter.state.state = cri_pb2.CONTAINER_RUNNING
    if args.pod:
        req.filter.pod_sandbox_id = resolve.pod_id(client, args.pod)
    from .pods import label_filter

    req.filter.label_selector.update(label_filter(args.label))
    ctrs = client.call("ps", client.runtime.ListContainers, req).containers
    name_re = re.compile(args.name) if args.name else None
    return sorted((c for c in ctrs
                   if (not args.id or c.id.startswith(args.id)) and (not name_re or name_re.search(c.metadata.name))
                   and (not args.image or args.image in (c.image.image, c.image_ref, c.image.user_specified_image))),
                  key=lambda c: -c.created_at)


def cmd_ps(client, args, out):
    ctrs = list_containers(client, args)
    if args.quiet:
        out.write("".join(c.id + "\n" for c in ctrs))
        return
    pod_names = {p.id: p.metadata.name for p in resolve.pods(client)} if args.output == "table" else {}
    emit(out, args.output, {"containers": [message_dict(c) for c in ctrs]}, container_rows(ctrs, pod_names))


def cmd_inspect(client, args, out):
    docs = []
    for ref in args.containers:
        resp = status(client, resolve.container_id(client, ref), verbose=True)
        docs.append({"status": message_dict(resp.status), "info": {k: json_or_text(v) for k, v in resp.info.items()}})
    emit(out, "yaml" if args.output == "yaml" else "json", docs[0] if len(docs) == 1 else docs)
