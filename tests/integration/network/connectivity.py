"""The traffic checks both modes pass: two pods, host ports, TCP and UDP (shared by the test files)."""
import os

from gantry.highlevel.network.api import PodNetwork, PortMapping

from .nettools import HostServer, ask, ask_from, host_address, make_netns, start_server

# host ports chosen high and unusual; DNAT takes them whether or not something listens on the host
TCP_PORT, UDP_PORT, LOCAL_ONLY_PORT = 31871, 31872, 31873


def pod_spec(tmp_path, name, mappings=()):
    ns = os.path.join(str(tmp_path), "ns-" + name)
    make_netns(ns)
    return PodNetwork(id="test-" + name, name=name, namespace="nettest", uid="uid-" + name, netns_path=ns,
                      port_mappings=list(mappings))


def two_pods_talk(net, tmp_path, gateway, bridge):
    """Set up pods a and b (b with host ports), check every path, return the specs (caller tears down)."""
    a = pod_spec(tmp_path, "a")
    b = pod_spec(tmp_path, "b", [PortMapping("TCP", 8080, TCP_PORT), PortMapping("UDP", 5353, UDP_PORT),
                                 PortMapping("TCP", 8081, LOCAL_ONLY_PORT, "127.0.0.1")])
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
        assert ask("tcp", "127.0.0.1", TCP_PORT) == "b-tcp"
        assert ask("udp", "127.0.0.1", UDP_PORT) == "b-udp"
        # host_ip honoured: 127.0.0.1 only
        assert ask("tcp", "127.0.0.1", LOCAL_ONLY_PORT) == "b-local"
        own = host_address(exclude_links=(bridge,))
        if own:
            # on the host's own address, from the host and from another pod and from the pod itself (hairpin)
            assert ask("tcp", own, TCP_PORT) == "b-tcp"
            assert ask("udp", own, UDP_PORT) == "b-udp"
            assert ask_from(a.netns_path, "tcp", own, TCP_PORT) == "b-tcp"
            assert ask_from(b.netns_path, "tcp", own, TCP_PORT) == "b-tcp"
            assert ask("tcp", own, LOCAL_ONLY_PORT, timeout=1).startswith("ERR")
    finally:
        host.close()
        for proc in servers:
            proc.kill()
            proc.wait()
    return a, b, ip_a, ip_b
