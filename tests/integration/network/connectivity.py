"""The traffic checks both modes pass: two pods, host ports, TCP and UDP (shared by the test files)."""
import os

from gantry.highlevel.network.api import PodNetwork, PortMapping

from .nettools import HostServer, ask, ask_from, host_address, make_netns, start_server

# host ports chosen high and unusual (each caller its own base, so modes never share one);
# DNAT takes them whether or not something listens on the host


def pod_spec(tmp_path, name, mappings=()):
    ns = os.path.join(str(tmp_path), "ns-" + name)
    make_netns(ns)
    return PodNetwork(id="test-" + name, name=name, namespace="nettest", uid="uid-" + name, netns_path=ns,
                      port_mappings=list(mappings))


def two_pods_talk(net, tmp_path, gateway, bridge, base_port):
    """Set up pods a and b (b with host ports base_port..+2), check every path; the specs (caller tears down)."""
    tcp_port, udp_port, local_only_port = base_port, base_port + 1, base_port + 2
    a = pod_spec(tmp_path, "a")
    b = pod_spec(tmp_path, "b", [PortMapping("TCP", 8080, tcp_port), PortMapping("UDP", 5353, udp_port),
                                 PortMapping("TCP", 8081, local_only_port, "127.0.0.1")])
    ip_a = net.setup(a).ips[0]
    ip_b = net.setup(b).ips[0]
    assert ip_a != ip_b
    servers = [start_server(b.netns_path, "tcp", 8080, "b-tcp"), start_server(b.netns_path, "udp", 5353, "b-udp"),
               start_server(b.netns_path, "tcp", 8081, "b-local"), start_server(a.netns_path, "tcp", 8080, "a-tcp")]
    host = HostServer(gateway, "host-tcp")
    try:
        # pod -> pod, TCP and UDP
        assert ask_from(a.netns_path, "tcp", ip_b, 8080) == "b-tcp"
        assert ask_from(a.netns_path, "udp", ip_b, 5353) == "b-udp"
        assert ask_from(b.netns_path, "tcp", ip_a, 8080) == "a-tcp"
        # pod -> host (the gateway is the host's address on the bridge)
        assert ask_from(a.netns_path, "tcp", gateway, host.port) == "host-tcp"
        # host -> pod
        assert ask("tcp", ip_b, 8080) == "b-tcp"
        assert ask("udp", ip_b, 5353) == "b-udp"
        # host ports on 127.0.0.1, TCP and UDP
        assert ask("tcp", "127.0.0.1", tcp_port) == "b-tcp"
        assert ask("udp", "127.0.0.1", udp_port) == "b-udp"
        # host_ip honoured: 127.0.0.1 only
        assert ask("tcp", "127.0.0.1", local_only_port) == "b-local"
        own = host_address(exclude_links=(bridge,))
        if own:
            # on the host's own address, from the host and from another pod and from the pod itself (hairpin)
            assert ask("tcp", own, tcp_port) == "b-tcp"
            assert ask("udp", own, udp_port) == "b-udp"
            assert ask_from(a.netns_path, "tcp", own, tcp_port) == "b-tcp"
            assert ask_from(b.netns_path, "tcp", own, tcp_port) == "b-tcp"
            assert ask("tcp", own, local_only_port, timeout=1).startswith("ERR")
    finally:
        host.close()
        for proc in servers:
            proc.kill()
            proc.wait()
    return a, b, ip_a, ip_b
