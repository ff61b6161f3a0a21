"""CRI configs from files (JSON or YAML, crictl's pod-config.json / container-config.json work
unchanged: snake_case or camelCase field names) and from docker-style flags."""
import os
import sys
import uuid

from gantry.api import cri_pb2

from . import runflags
from .client import CtlError

PROTOCOL_ENUM = {"tcp": cri_pb2.TCP, "udp": cri_pb2.UDP, "sctp": cri_pb2.SCTP}


def load_document(path):
    """A file ('-': stdin) holding JSON or YAML -> dict."""
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    except OSError as exc:
        raise CtlError("read %s: %s" % (path, exc.strerror)) from None
    import yaml  # YAML 1.1 reads JSON too

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CtlError("parse %s: %s" % (path, str(exc).replace("\n", " "))) from None
    if not isinstance(doc, dict):
        raise CtlError("parse %s: expected a mapping (JSON object) at the top" % path)
    return doc


def message_from(doc, cls, what):
    from google.protobuf import json_format

    try:
        return json_format.ParseDict(doc, cls())
    except json_format.ParseError as exc:
        raise CtlError("%s: %s" % (what, exc)) from None


def load_message(path, cls):
    return message_from(load_document(path), cls, "parse %s as %s" % (path, cls.__name__))


def random_name(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def pod_config(name, namespace="default", hostname=None, log_dir=None, labels=(), publish=(), uid=None):
    """A PodSandboxConfig from flags; ``log_dir`` is the parent: the pod gets ``<ns>_<name>_<uid>`` in it."""
    uid = uid or uuid.uuid4().hex
    cfg = cri_pb2.PodSandboxConfig(
        metadata=cri_pb2.PodSandboxMetadata(name=name, namespace=namespace, uid=uid, attempt=0),
        hostname=hostname or name[:63])
    # as a kubelet does for a pod without shareProcessNamespace: each container its own PID namespace
    # (its process is pid 1, like docker run's), so the pod needs no pause process
    cfg.linux.security_context.namespace_options.pid = cri_pb2.CONTAINER
    if log_dir:
        cfg.log_directory = os.path.join(os.path.abspath(log_dir), "%s_%s_%s" % (namespace, name, uid))
    for text in labels:
        k, v = runflags.parse_label(text)
        cfg.labels[k] = v
    cfg.labels.setdefault("io.gantry.ctl", "true")
    for text in publish:
        p = runflags.parse_publish(text)
        cfg.port_mappings.add(protocol=PROTOCOL_ENUM[p["protocol"]], container_port=p["container_port"],
                              host_port=p["host_port"] or p["container_port"], host_ip=p["host_ip"])
    return cfg


def container_config(args, name):
    """A ContainerConfig from ``gantryctl run``'s flags (docker's meaning: CMD replaces the image's
    Cmd, --entrypoint its Entrypoint)."""
    cfg = cri_pb2.ContainerConfig(metadata=cri_pb2.ContainerMetadata(name=name, attempt=0),
                                  image=cri_pb2.ImageSpec(image=args.image), args=list(args.cmd),
                                  working_dir=args.workdir or "", tty=args.tty, stdin=args.interactive,
                                  stdin_once=args.interactive, log_path="%s/0.log" % name)
    if args.entrypoint is not None:
        cfg.command[:] = [args.entrypoint] if args.entrypoint else []
    for text in args.env:
        k, v = runflags.parse_env(text)
        cfg.envs.add(key=k, value=v.encode("utf-8", "surrogateescape"))
    for text in args.volume:
        v = runflags.parse_volume(text)
        if not os.path.exists(v["host_path"]):
            raise CtlError("-v %s: %s does not exist" % (text, v["host_path"]))
        cfg.mounts.add(host_path=v["host_path"], container_path=v["container_path"], readonly=v["readonly"])
    sc = cfg.linux.security_context
    sc.namespace_options.pid = cri_pb2.CONTAINER
    sc.privileged = bool(args.privileged)
    if args.user:
        user = runflags.parse_user(args.user)
        if "run_as_user" in user:
            sc.run_as_user.value = user["run_as_user"]
        else:
            sc.run_as_username = user["run_as_username"]
        if "run_as_group" in user:
            sc.run_as_group.value = user["run_as_group"]
    res = cfg.linux.resources
    if args.memory:
        res.memory_limit_in_bytes = runflags.parse_memory(args.memory)
    if args.cpus is not None:
        res.cpu_quota, res.cpu_period = runflags.parse_cpus(args.cpus)
    return cfg


def pod_config_from_status(status):
    """A PodSandboxConfig rebuilt from a PodSandboxStatus (for CreateContainer without a pod file)."""
    return cri_pb2.PodSandboxConfig(metadata=status.metadata, labels=status.labels, annotations=status.annotations)
