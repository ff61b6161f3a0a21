"""What gantryd tells CNI plugins about a pod (pure): environment, CNI_ARGS, capability arguments.

As containerd and CRI-O do for a kubelet:

    CNI_ARGS  IgnoreUnknown=1;K8S_POD_NAMESPACE=..;K8S_POD_NAME=..;K8S_POD_INFRA_CONTAINER_ID=..;K8S_POD_UID=..
    capability arguments (runtimeConfig, only those a plugin declares):
      portMappings  [{hostPort, containerPort, protocol, hostIP}]   mappings with a host port
      dns           {servers, searches, options}                    the pod's DNSConfig
      ipRanges      [[{subnet}], ...]                               the pod CIDR(s) of UpdateRuntimeConfig
      bandwidth     {ingressRate, ingressBurst, egressRate, egressBurst}  bits/s, from the
                    kubernetes.io/ingress-bandwidth and egress-bandwidth annotations
      cgroupPath    the pod's cgroup parent
"""
import re

from ..errors import InvalidArgument

_SUFFIX = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(|k|M|G|T|Ki|Mi|Gi|Ti)$")
MAX_BURST = 2**31 - 1


def cni_args(pod):
    return ";".join(["IgnoreUnknown=1", "K8S_POD_NAMESPACE=" + pod.namespace, "K8S_POD_NAME=" + pod.name,
                     "K8S_POD_INFRA_CONTAINER_ID=" + pod.id, "K8S_POD_UID=" + pod.uid])


def plugin_env(base_env, command, container_id, netns, ifname, args, bin_dirs):
    env = {k: v for k, v in base_env.items() if not k.startswith("CNI_")}
    env.update(CNI_COMMAND=command, CNI_CONTAINERID=container_id, CNI_NETNS=netns, CNI_IFNAME=ifname,
               CNI_ARGS=args, CNI_PATH=":".join(bin_dirs))
    env.setdefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    return env


def capability_args(pod, pod_cidr=""):
    out = {}
    ports = [{"hostPort": m.host_port, "containerPort": m.container_port,
              "protocol": (m.protocol or "TCP").lower(), "hostIP": m.host_ip}
             for m in pod.port_mappings if m.host_port]
    if ports:
        out["portMappings"] = ports
    if pod.dns is not None:
        out["dns"] = {"servers": list(getattr(pod.dns, "servers", [])),
                      "searches": list(getattr(pod.dns, "searches", [])),
                      "options": list(getattr(pod.dns, "options", []))}
    cidrs = [c.strip() for c in pod_cidr.split(",") if c.strip()]
    if cidrs:                                   # dual stack 'v4,v6': one range set per family
        out["ipRanges"] = [[{"subnet": c}] for c in cidrs]
    bandwidth = _bandwidth(pod.annotations or {})
    if bandwidth:
        out["bandwidth"] = bandwidth
    if pod.cgroup_parent:
        out["cgroupPath"] = pod.cgroup_parent
    return out


def _bandwidth(annotations):
    out = {}
    for direction in ("ingress", "egress"):
        raw = annotations.get("kubernetes.io/%s-bandwidth" % direction)
        if raw:
            out[direction + "Rate"] = parse_quantity(raw, "kubernetes.io/%s-bandwidth" % direction)
            out[direction + "Burst"] = MAX_BURST
    return out


def parse_quantity(text, what):
    """A Kubernetes quantity ('10M', '1Gi', '500k') -> an integer."""
    match = _QUANTITY.match(text.strip())
    if not match:
        raise InvalidArgument("annotation %s: %r is not a quantity like 10M" % (what, text))
    return int(float(match.group(1)) * _SUFFIX[match.group(2)])
