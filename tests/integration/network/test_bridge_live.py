"""The built-in bridge for real: veths, addresses, routes, host ports, teardown, restart, recovery."""
import ipaddress
import os
import subprocess
import sys

import pytest
from gantry.highlevel.errors import GantryError
from gantry.highlevel.network import hostports
from gantry.highlevel.network.bridge import BridgeNetwork
from gantry.highlevel.network.links import default_route_mtu, veth_name

from .connectivity import pod_spec, two_pods_talk
from .nettools import links, nat_rules

pytestmark = pytest.mark.root

BRIDGE = "gtbrtest0"
CIDR = "10.251.77.0/24"
GATEWAY = "10.251.77.1"


def _unrouted(cidr):
    out = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
    net = ipaddress.ip_network(cidr)
    for line in out.splitlines():
        dest = line.split()[0]
        if dest != "default" and ipaddress.ip_network(dest, strict=False).overlaps(net) and BRIDGE not in line:
            return False
    return True


@pytest.fixture
def net(tmp_path, netns_cleanup):
    assert _unrouted(CIDR), "%s is routed on this machine; the test needs a private CIDR" % CIDR
    made = []

    def make(**kw):
        n = BridgeNetwork(str(tmp_path / "network" / "ipam.db"), bridge=BRIDGE, pod_cidr=CIDR, **kw)
        made.append(n)
        return n

    yield make
    if not made:
        make()
    for n in made:
        for pod_id in n.store.pod_ids():
            n.teardown(pod_id)
    made[0].remove_host_state()
    for n in made:
        n.close()


def assert_gone(n, pod_ids):
    for pod_id in pod_ids:
        assert veth_name(pod_id) not in links()
        assert hostports.pod_chain(BRIDGE, pod_id) not in nat_rules()
        assert n.store.record(pod_id) is None
    assert not set(n.store.addresses().values()) & set(pod_ids)


def test_two_pods_host_and_host_ports(net, tmp_path):
    n = net()
    a, b, ip_a, ip_b = two_pods_talk(n, tmp_path, GATEWAY, BRIDGE, 31851)
    assert ipaddress.ip_address(ip_a) in ipaddress.ip_network(CIDR)
    inside = subprocess.run(["nsenter", "--net=" + a.netns_path, "ip", "-o", "-4", "route"],
                            capture_output=True, text=True).stdout
    assert "default via %s dev eth0" % GATEWAY in inside
    mtu = open("/sys/class/net/%s/mtu" % veth_name(a.id)).read().strip()
    assert mtu == str(default_route_mtu())             # mtu = 0: the uplink's
    brport = "/sys/class/net/%s/brport/" % veth_name(a.id)
    assert open(brport + "hairpin_mode").read().strip() == "1"     # a pod reaches itself via a host port
    assert os.path.basename(os.readlink(brport + "bridge")) == BRIDGE
    n.teardown(a.id)
    n.teardown(b.id)
    n.teardown(b.id)                                  # idempotent
    assert_gone(n, [a.id, b.id])
    assert n.store.addresses() == {}


def test_a_restarted_gantryd_tears_down_what_the_old_one_set_up(net, tmp_path):
    old = net()
    a = pod_spec(tmp_path, "a", [])
    from gantry.highlevel.network.api import PortMapping
    b = pod_spec(tmp_path, "b", [PortMapping("TCP", 80, 31874)])
    old.setup(a)
    old.setup(b)
    new = net(mtu=1400)                                # same root, different config
    assert new.store.pod_ids() == {a.id, b.id}
    new.teardown(b.id)
    assert_gone(new, [b.id])
    new.recover({"nothing-else"})                      # a was not live: released too
    assert_gone(new, [a.id])


def test_kill_9_after_setup_then_recover(net, tmp_path):
    """A gantryd killed right after setting up a pod (RunPodSandbox never recorded it): recover frees all."""
    a = pod_spec(tmp_path, "a", [])
    script = ("import sys\nfrom gantry.highlevel.network.bridge import BridgeNetwork\n"
              "from gantry.highlevel.network.api import PodNetwork, PortMapping\n"
              "n = BridgeNetwork(sys.argv[1], bridge=%r, pod_cidr=%r)\n"
              "n.setup(PodNetwork(id='test-a', name='a', namespace='t', uid='u', netns_path=sys.argv[2],"
              " port_mappings=[PortMapping('TCP', 80, 31875)]))\n"
              "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n" % (BRIDGE, CIDR))
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "network" / "ipam.db"), a.netns_path])
    assert proc.returncode == -9
    n = net()
    assert veth_name(a.id) in links() and hostports.pod_chain(BRIDGE, a.id) in nat_rules()
    n.recover(set())
    assert_gone(n, [a.id])


def test_recover_removes_stray_veths_and_chains_with_no_record(net, tmp_path):
    n = net()
    a = pod_spec(tmp_path, "a", [])
    n.setup(a)
    n.store.release(a.id)                              # as if the record were lost
    n.recover(set())
    assert veth_name(a.id) not in links()


def test_failed_setup_leaves_nothing(net, tmp_path):
    n = net()
    pod = pod_spec(tmp_path, "a", [])
    pod.netns_path = str(tmp_path / "no-such-netns")
    with pytest.raises(GantryError, match="no-such-netns"):
        n.setup(pod)
    assert_gone(n, [pod.id])
    assert n.store.addresses() == {}


def test_teardown_after_the_netns_is_gone(net, tmp_path):
    n = net()
    a = pod_spec(tmp_path, "a", [])
    n.setup(a)
    subprocess.run(["umount", a.netns_path], check=True)
    os.unlink(a.netns_path)
    n.teardown(a.id)
    assert_gone(n, [a.id])


def test_update_pod_cidr_applies_to_new_pods(net, tmp_path):
    n = net()
    a = pod_spec(tmp_path, "a", [])
    b = pod_spec(tmp_path, "b", [])
    assert n.setup(a).ips[0].startswith("10.251.77.")
    n.update_pod_cidr("10.251.79.0/24")
    assert n.setup(b).ips[0].startswith("10.251.79.")
    out = subprocess.run(["ip", "-o", "-4", "addr", "show", BRIDGE], capture_output=True, text=True).stdout
    assert "10.251.77.1/24" in out and "10.251.79.1/24" in out
    n.teardown(a.id)
    n.teardown(b.id)


def test_setup_never_forks(net, tmp_path):
    """gantryd is threaded: setup and teardown may start programs (iptables) but never fork Python."""
    a = pod_spec(tmp_path, "a", [])
    script = ("import sys\nfrom gantry.highlevel.network.bridge import BridgeNetwork\n"
              "from gantry.highlevel.network.api import PodNetwork\n"
              "n = BridgeNetwork(sys.argv[1], bridge=%r, pod_cidr=%r)\n"
              "p = PodNetwork(id='test-a', name='a', namespace='t', uid='u', netns_path=sys.argv[2])\n"
              "n.setup(p)\nn.teardown(p.id)\n" % (BRIDGE, CIDR))
    trace = str(tmp_path / "strace")
    subprocess.run(["strace", "-f", "-qq", "-e", "trace=fork,vfork,clone,clone3,execve", "-o", trace,
                    sys.executable, "-c", script, str(tmp_path / "network" / "ipam.db"), a.netns_path], check=True)
    lines = open(trace).read().splitlines()
    children = {}                                       # pid -> did it execve
    root = lines[0].split()[0]
    for line in lines:
        pid = line.split()[0]
        if ("clone(" in line or "clone3(" in line or "fork(" in line) and "CLONE_THREAD" not in line \
                and "= " in line and not line.rstrip().endswith("<unfinished ...>"):
            child = line.rsplit("= ", 1)[1].split()[0]
            children[child] = False
        if "execve(" in line and pid != root:
            children[pid] = True
    assert children and all(children.values()), "a child that never exec'd: %s" % children


def test_teardown_when_the_rules_are_half_gone(net, tmp_path):
    """A crash between rule steps leaves a chain without its jump: teardown still removes the chain."""
    from gantry.highlevel.network.api import PortMapping
    n = net()
    a = pod_spec(tmp_path, "a", [PortMapping("UDP", 53, 31877)])
    n.setup(a)
    chain = hostports.pod_chain(BRIDGE, a.id)
    jump = [line for line in nat_rules().splitlines() if line.endswith("-j " + chain)][0]
    subprocess.run(["iptables", "-t", "nat", "-D"] + jump.split()[1:4] + ["--comment", "pod " + a.id, "-j", chain],
                   check=True)
    assert chain in nat_rules() and not any(x.endswith("-j " + chain) for x in nat_rules().splitlines())
    n.teardown(a.id)
    assert_gone(n, [a.id])


def test_concurrent_setups_from_grpc_like_threads(net, tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    n = net()
    pods = [pod_spec(tmp_path, "c%d" % i, []) for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        ips = list(pool.map(lambda p: n.setup(p).ips[0], pods))
    assert len(set(ips)) == 8
    for p, ip in zip(pods, ips, strict=True):
        out = subprocess.run(["nsenter", "--net=" + p.netns_path, "ip", "-o", "-4", "addr", "show", "eth0"],
                             capture_output=True, text=True).stdout
        assert ip + "/24" in out
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda p: n.teardown(p.id), pods))
    assert_gone(n, [p.id for p in pods])


def test_a_host_port_taken_by_another_pod_is_refused(net, tmp_path):
    from gantry.highlevel.errors import AlreadyExists
    from gantry.highlevel.network.api import PortMapping
    n = net()
    n.setup(pod_spec(tmp_path, "a", [PortMapping("TCP", 80, 31878)]))
    with pytest.raises(AlreadyExists, match="host port 127.0.0.1:31878/TCP is already mapped for pod nettest/a"):
        n.setup(pod_spec(tmp_path, "c", [PortMapping("TCP", 81, 31878, "127.0.0.1")]))
    assert n.store.pod_ids() == {"test-a"}
    n.setup(pod_spec(tmp_path, "d", [PortMapping("UDP", 81, 31878)]))         # another protocol is fine


def test_bridge_and_base_chains_come_back_when_removed_behind_our_back(net, tmp_path):
    from gantry.highlevel.network.api import PortMapping
    n = net()
    n.setup(pod_spec(tmp_path, "a", []))
    n.teardown("test-a")
    net().remove_host_state()                          # someone else deleted the bridge and our chains
    b = pod_spec(tmp_path, "b", [PortMapping("TCP", 80, 31879)])
    assert n.setup(b).ips
    assert BRIDGE in links() and hostports.pod_chain(BRIDGE, b.id) in nat_rules()


def test_base_chains_come_back_after_a_firewall_flush(net, tmp_path):
    from gantry.highlevel.network import iptables
    from gantry.highlevel.network.api import PortMapping
    n = net()
    n.setup(pod_spec(tmp_path, "a", []))
    nat, filt = hostports.base_removal(iptables.save("nat"), iptables.save("filter"), BRIDGE)
    iptables.restore(nat, "test flush")                # the bridge stays, our chains go
    b = pod_spec(tmp_path, "b", [PortMapping("TCP", 80, 31879)])
    n.setup(b)
    assert hostports.pod_chain(BRIDGE, b.id) in nat_rules()
    assert "-j " + hostports.base_chains(BRIDGE)["hostports"] in nat_rules()


def test_mtu_reaches_both_ends(net, tmp_path):
    n = net(mtu=1300)
    a = pod_spec(tmp_path, "a", [])
    n.setup(a)
    # (not /sys/class/net: sysfs shows the namespace of whoever mounted it, the host's)
    inside = subprocess.run(["nsenter", "--net=" + a.netns_path, "ip", "-o", "link", "show", "eth0"],
                            capture_output=True, text=True).stdout
    assert " mtu 1300 " in inside
    assert open("/sys/class/net/%s/mtu" % veth_name(a.id)).read().strip() == "1300"


def test_dual_stack_pods(net, tmp_path):
    from .nettools import HostServer, ask, ask_from, start_server
    n = net(pod_cidr_v6="fd87:251:77::/64")
    a = pod_spec(tmp_path, "a", [])
    b = pod_spec(tmp_path, "b", [])
    ips_a, ips_b = n.setup(a).ips, n.setup(b).ips
    assert ips_a == ["10.251.77.2", "fd87:251:77::2"] and ips_b == ["10.251.77.3", "fd87:251:77::3"]
    inside = subprocess.run(["nsenter", "--net=" + a.netns_path, "ip", "-6", "route"],
                            capture_output=True, text=True).stdout
    assert "default via fd87:251:77::1 dev eth0" in inside
    servers = [start_server(b.netns_path, "tcp", 8080, "b6-tcp", ipv6=True),
               start_server(b.netns_path, "udp", 5353, "b6-udp", ipv6=True)]
    host = HostServer("fd87:251:77::1", "host6")
    try:
        assert ask_from(a.netns_path, "tcp", ips_b[1], 8080) == "b6-tcp"
        assert ask_from(a.netns_path, "udp", ips_b[1], 5353) == "b6-udp"
        assert ask_from(a.netns_path, "tcp", ips_b[0], 8080) == "b6-tcp"       # :: listens for IPv4 too
        assert ask("tcp", ips_b[1], 8080) == "b6-tcp"
        assert ask_from(a.netns_path, "tcp", "fd87:251:77::1", host.port) == "host6"
    finally:
        host.close()
        for proc in servers:
            proc.kill()
            proc.wait()
    n.update_pod_cidr("10.251.79.0/24,fd87:251:79::/64")
    c = pod_spec(tmp_path, "c", [])
    assert n.setup(c).ips == ["10.251.79.2", "fd87:251:79::2"]
    for p in (a, b, c):
        n.teardown(p.id)
    assert n.store.addresses() == {}


def test_without_iptables_pods_connect_and_host_ports_are_refused(net, tmp_path, monkeypatch):
    from gantry.highlevel.errors import FailedPrecondition
    from gantry.highlevel.network.api import PortMapping
    a = pod_spec(tmp_path, "a", [])
    b = pod_spec(tmp_path, "b", [PortMapping("TCP", 80, 31870)])
    n = net()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))     # no iptables-save / iptables-restore
    assert n.status() == (True, "", "")
    assert n.setup(a).ips == ["10.251.77.2"]
    with pytest.raises(FailedPrecondition, match="host ports need iptables-restore"):
        n.setup(b)
    assert net(masquerade=True).status()[0] is False
    n.teardown(a.id)
    monkeypatch.undo()
    assert_gone(n, [a.id, b.id])


def test_sctp_host_port_rules(net, tmp_path):
    """SCTP mappings become rules (the nft backend matches SCTP even where the kernel has no SCTP sockets)."""
    from gantry.highlevel.network.api import PortMapping
    n = net()
    a = pod_spec(tmp_path, "a", [PortMapping("SCTP", 9, 31869)])
    ip = n.setup(a).ips[0]
    chain = hostports.pod_chain(BRIDGE, a.id)
    assert "-A %s -p sctp -m sctp --dport 31869 -j DNAT --to-destination %s:9" % (chain, ip) in nat_rules()
    n.teardown(a.id)
    assert_gone(n, [a.id])


def test_masquerade_switch(net, tmp_path):
    """Outbound NAT only with masquerade = true (no traffic leaves the machine here: the rule is checked)."""
    post = hostports.base_chains(BRIDGE)["postrouting"]
    rule = "-A %s -s %s ! -d %s -j MASQUERADE" % (post, CIDR, CIDR)
    off = net()
    off.setup(pod_spec(tmp_path, "a", []))
    assert rule not in nat_rules()
    on = net(masquerade=True)
    on.setup(pod_spec(tmp_path, "b", []))
    assert rule in nat_rules()


def test_connect_in_netns_reaches_the_pods_loopback(tmp_path, netns_cleanup):
    """CRI PortForward's building block: a socket dialled inside the pod's netns, used from this thread."""
    from gantry.highlevel.streaming.netns import dial as connect_in_netns

    from .nettools import start_server
    a = pod_spec(tmp_path, "a", [])                        # loopback only: no bridge needed
    server = start_server(a.netns_path, "tcp", 7070, "from-inside")
    try:
        with connect_in_netns(a.netns_path, 7070) as sock:
            assert sock.recv(100) == b"from-inside"
        with pytest.raises(ConnectionRefusedError):
            connect_in_netns(a.netns_path, 7071)
    finally:
        server.kill()
        server.wait()


def test_a_network_without_pods_starts_and_recovers_without_netlink(tmp_path):
    """gantryd's start-up (construct, status, recover) with no pod and no stray veth loads no pyroute2;
    the first netlink call does."""
    script = r"""
import socket, sys
from gantry.highlevel.network.bridge import BridgeNetwork
from gantry.highlevel.network.links import VETH_PREFIX
n = BridgeNetwork(sys.argv[1], bridge="gtnonl0", pod_cidr="10.251.78.0/24")
n.status()
strays = [name for _, name in socket.if_nameindex() if name.startswith(VETH_PREFIX)]
n.recover(set())
before = "pyroute2" in sys.modules
n.remove_host_state()
print(before, bool(strays), "pyroute2" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "ipam.db")], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    before, strays, after = out.stdout.split()
    if strays == "False":              # another run's pod veth on this machine would need netlink to check
        assert before == "False"
    assert after == "True"                 # remove_host_state deleted the bridge through netlink


def test_a_cidr_another_link_routes_is_warned_about(net, tmp_path, caplog):
    """A leftover link routing part of the pod CIDR takes the host's traffic to those pods: a warning
    names it when the bridge is set up, and the pods are still set up."""
    shadow = "gtshadow0"
    subprocess.run(["ip", "link", "add", shadow, "type", "bridge"], check=True)
    try:
        subprocess.run(["ip", "addr", "add", "10.251.77.128/25", "dev", shadow], check=True)
        subprocess.run(["ip", "link", "set", shadow, "up"], check=True)    # up, no port: "linkdown", as left over
        n = net()
        with caplog.at_level("WARNING", logger="gantry.network"):
            ip = n.setup(pod_spec(tmp_path, "a")).ips[0]
        assert ipaddress.ip_address(ip) in ipaddress.ip_network(CIDR)
        warned = [r.getMessage() for r in caplog.records if shadow in r.getMessage()]
        assert warned == ["pod CIDR %s: 10.251.77.128/25 is also routed through %s; the host's traffic to those "
                          "pods goes there, not to bridge %s (choose a pod_cidr no other link routes)"
                          % (CIDR, shadow, BRIDGE)]
    finally:
        subprocess.run(["ip", "link", "del", shadow])
