"""What plugins are told about a pod (pure)."""
from types import SimpleNamespace

import pytest
from gantry.highlevel.errors import InvalidArgument
from gantry.highlevel.network import cni_args
from gantry.highlevel.network.api import PodNetwork, PortMapping


def pod(**kw):
    base = dict(id="sb1", name="web", namespace="default", uid="u-1", netns_path="/run/ns/x")
    base.update(kw)
    return PodNetwork(**base)


def test_cni_args_as_kubelet_runtimes_send_them():
    assert cni_args.cni_args(pod()) == ("IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;"
                                        "K8S_POD_INFRA_CONTAINER_ID=sb1;K8S_POD_UID=u-1")


def test_plugin_env_replaces_inherited_cni_variables():
    env = cni_args.plugin_env({"PATH": "/bin", "CNI_COMMAND": "stale", "HOME": "/root"}, "ADD", "sb1",
                              "/run/ns/x", "eth0", "A=1", ["/usr/lib/cni", "/opt/cni/bin"])
    assert env == {"PATH": "/bin", "HOME": "/root", "CNI_COMMAND": "ADD", "CNI_CONTAINERID": "sb1",
                   "CNI_NETNS": "/run/ns/x", "CNI_IFNAME": "eth0", "CNI_ARGS": "A=1",
                   "CNI_PATH": "/usr/lib/cni:/opt/cni/bin"}


def test_capability_args():
    dns = SimpleNamespace(servers=["10.0.0.10"], searches=["svc.local"], options=["ndots:5"])
    p = pod(port_mappings=[PortMapping("TCP", 80, 8080, "127.0.0.1"), PortMapping("UDP", 53, 0)], dns=dns,
            annotations={"kubernetes.io/ingress-bandwidth": "10M", "kubernetes.io/egress-bandwidth": "1Mi"},
            cgroup_parent="/kubepods/pod1")
    assert cni_args.capability_args(p, "10.9.0.0/24") == {
        "portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp", "hostIP": "127.0.0.1"}],
        "dns": {"servers": ["10.0.0.10"], "searches": ["svc.local"], "options": ["ndots:5"]},
        "ipRanges": [[{"subnet": "10.9.0.0/24"}]],
        "bandwidth": {"ingressRate": 10_000_000, "ingressBurst": cni_args.MAX_BURST,
                      "egressRate": 1 << 20, "egressBurst": cni_args.MAX_BURST},
        "cgroupPath": "/kubepods/pod1"}
    assert cni_args.capability_args(pod()) == {}
    assert cni_args.capability_args(pod(), "10.9.0.0/24, fd00:9::/64") == {
        "ipRanges": [[{"subnet": "10.9.0.0/24"}], [{"subnet": "fd00:9::/64"}]]}


@pytest.mark.parametrize("text, want", [("100", 100), ("1k", 1000), ("1.5M", 1_500_000), ("2Gi", 2 << 30)])
def test_parse_quantity(text, want):
    assert cni_args.parse_quantity(text, "x") == want


def test_parse_quantity_refuses_garbage():
    with pytest.raises(InvalidArgument, match="annotation kubernetes.io/ingress-bandwidth: '10 mbit'"):
        cni_args.capability_args(pod(annotations={"kubernetes.io/ingress-bandwidth": "10 mbit"}))
