"""runp, pods, inspectp, stopp, rmp."""
import re

from gantry.api import cri_pb2

from . import configs, resolve
from .client import CtlError
from .output import ago, emit, json_or_text, message_dict, short_id

POD_STATES = {"ready": cri_pb2.SANDBOX_READY, "notready": cri_pb2.SANDBOX_NOTREADY}
POD_STATE_NAMES = {cri_pb2.SANDBOX_READY: "Ready", cri_pb2.SANDBOX_NOTREADY: "NotReady"}
POD_TIMEOUT = 120.0


def cmd_runp(client, args, out):
    if args.config:
        cfg = configs.load_message(args.config, cri_pb2.PodSandboxConfig)
    else:
        name = args.name or configs.random_name("pod")
        cfg = configs.pod_config(name, args.namespace, args.hostname, args.log_dir, args.label, args.publish)
    resp = client.call("runp", client.runtime.RunPodSandbox,
                       cri_pb2.RunPodSandboxRequest(config=cfg, runtime_handler=args.runtime),
                       timeout=max(client.timeout, POD_TIMEOUT))
    out.write(resp.pod_sandbox_id + "\n")


def pod_rows(pods, now=None):
    rows = [("POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME")]
    for p in pods:
        rows.append((short_id(p.id), ago(p.created_at, now), POD_STATE_NAMES.get(p.state, str(p.state)),
                     p.metadata.name, p.metadata.namespace, str(p.metadata.attempt), p.runtime_handler or "(default)"))
    return rows


def label_filter(labels):
    out = {}
    for text in labels:
        k, sep, v = text.partition("=")
        if not sep:
            raise CtlError("--label %s: expected KEY=VALUE" % text)
        out[k] = v
    return out


def list_pods(client, args):
    req = cri_pb2.ListPodSandboxRequest()
    if args.state:
        if args.state.lower() not in POD_STATES:
            raise CtlError("--state %s: expected ready or notready" % args.state)
        req.filter.state.state = POD_STATES[args.state.lower()]
    req.filter.label_selector.update(label_filter(args.label))
    pods = client.call("pods", client.runtime.ListPodSandbox, req).items
    name_re = re.compile(args.name) if args.name else None
    return sorted((p for p in pods
                   if (not args.id or p.id.startswith(args.id))
                   and (not name_re or name_re.search(p.metadata.name))
                   and (not args.namespace or p.metadata.namespace == args.namespace)),
                  key=lambda p: -p.created_at)


def cmd_pods(client, args, out):
    pods = list_pods(client, args)
    if args.quiet:
        out.write("".join(p.id + "\n" for p in pods))
        return
    emit(out, args.output, {"items": [message_dict(p) for p in pods]}, pod_rows(pods))


def cmd_inspectp(client, args, out):
    docs = []
    for ref in args.pods:
        pid = resolve.pod_id(client, ref)
        resp = client.call("inspectp " + ref, client.runtime.PodSandboxStatus,
                           cri_pb2.PodSandboxStatusRequest(pod_sandbox_id=pid, verbose=True))
        doc = {"status": message_dict(resp.status), "info": {k: json_or_text(v) for k, v in resp.info.items()}}
        if resp.containers_statuses:
            doc["containersStatuses"] = [message_dict(c) for c in resp.containers_statuses]
        docs.append(doc)
    emit(out, "yaml" if args.output == "yaml" else "json", docs[0] if len(docs) == 1 else docs)


def _targets(client, args):
    if args.all:
        return [p.id for p in resolve.pods(client)]
    if not args.pods:
        raise CtlError("%s: name a pod, or -a for all" % args.command)
    return [resolve.pod_id(client, ref) for ref in args.pods]


def stop_pod(client, pid):
    client.call("stopp " + pid, client.runtime.StopPodSandbox, cri_pb2.StopPodSandboxRequest(pod_sandbox_id=pid),
                timeout=max(client.timeout, POD_TIMEOUT))


def remove_pod(client, pid):
    client.call("rmp " + pid, client.runtime.RemovePodSandbox, cri_pb2.RemovePodSandboxRequest(pod_sandbox_id=pid),
                timeout=max(client.timeout, POD_TIMEOUT))


def cmd_stopp(client, args, out):
    for pid in _targets(client, args):
        stop_pod(client, pid)
        out.write("Stopped sandbox %s\n" % pid)


def cmd_rmp(client, args, out):
    for pid in _targets(client, args):
        if args.force:
            stop_pod(client, pid)
        remove_pod(client, pid)
        out.write("Removed sandbox %s\n" % pid)
