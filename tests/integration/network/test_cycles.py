"""Many pod cycles leak nothing: veths, rules, addresses, cache entries (GANTRY_NET_CYCLES, default 200)."""
import json
import os
import subprocess
import time

import pytest
from gantry.highlevel.network import hostports
from gantry.highlevel.network.api import PodNetwork, PortMapping
from gantry.highlevel.network.bridge import BridgeNetwork
from gantry.highlevel.network.cni import CNINetwork
from gantry.highlevel.network.links import bridge_ports, veth_name

from .nettools import links, make_netns, nat_rules, remove_netns

pytestmark = [pytest.mark.root, pytest.mark.slow]
CYCLES = int(os.environ.get("GANTRY_NET_CYCLES", "200"))


def mine(rules, marker):
    """How many rules mention ``marker`` (other tests and runtimes may add rules of their own meanwhile)."""
    return sum(1 for line in rules.splitlines() if line.startswith("-A ") and marker in line)


def run_cycles(net, tmp_path, count):
    """count x (new netns, setup with 2 host ports, teardown, netns gone); seconds per cycle."""
    ns = str(tmp_path / "ns-cycle")
    spent = 0.0
    for i in range(count):
        make_netns(ns)
        pod = PodNetwork(id="cycle-%d" % i, name="c%d" % i, namespace="cycles", uid="u%d" % i, netns_path=ns,
                         port_mappings=[PortMapping("TCP", 80, 31880), PortMapping("UDP", 53, 31881)])
        start = time.perf_counter()
        result = net.setup(pod)
        net.teardown(pod.id)
        spent += time.perf_counter() - start
        assert result.ips
        remove_netns(ns)
    return spent / count


def test_bridge_cycles_leak_nothing(tmp_path):
    net = BridgeNetwork(str(tmp_path / "ipam.db"), bridge="gtcycle0", pod_cidr="10.251.80.0/24")
    try:
        run_cycles(net, tmp_path, 1)                  # makes the bridge and the base chains
        base_rules = mine(nat_rules(), "GANTRY-%s-" % hostports.tag("gtcycle0"))
        per_cycle = run_cycles(net, tmp_path, CYCLES)
        print("bridge: %d cycles, %.1f ms setup+teardown each" % (CYCLES, per_cycle * 1000))
        assert "gtcycle0" in links() and bridge_ports("gtcycle0") == []
        assert not {veth_name("cycle-%d" % i) for i in range(CYCLES)} & links()
        assert mine(nat_rules(), "GANTRY-%s-" % hostports.tag("gtcycle0")) == base_rules
        assert hostports.owned_pod_chains(nat_rules(), "gtcycle0") == []
        assert net.store.addresses() == {} and net.store.pod_ids() == set()
    finally:
        net.remove_host_state()
        net.close()
    assert "gtcycle0" not in links() and mine(nat_rules(), "GANTRY-%s-" % hostports.tag("gtcycle0")) == 0


def test_cni_cycles_leak_nothing(tmp_path):
    if not os.access("/usr/lib/cni/bridge", os.X_OK):
        pytest.skip("CNI plugins not installed in /usr/lib/cni (Debian containernetworking-plugins)")
    conf_dir = tmp_path / "net.d"
    conf_dir.mkdir()
    data_dir = str(tmp_path / "host-local")
    (conf_dir / "10-cycle.conflist").write_text(json.dumps({"cniVersion": "1.0.0", "name": "gantry-cycle", "plugins": [
        {"type": "bridge", "bridge": "gtcnicycle0", "isGateway": True, "hairpinMode": True,
         "ipam": {"type": "host-local", "dataDir": data_dir, "ranges": [[{"subnet": "10.251.81.0/24"}]]}},
        {"type": "portmap", "capabilities": {"portMappings": True}}, {"type": "loopback"}]}))
    net = CNINetwork(str(conf_dir), ["/usr/lib/cni"], str(tmp_path / "cache"))
    count = max(CYCLES // 4, 10)
    try:
        run_cycles(net, tmp_path, 1)                  # makes the bridge and portmap's base chains
        per_cycle = run_cycles(net, tmp_path, count)
        print("cni: %d cycles, %.1f ms setup+teardown each" % (count, per_cycle * 1000))
        assert "gtcnicycle0" in links() and bridge_ports("gtcnicycle0") == []
        assert mine(nat_rules(), 'name: \\"gantry-cycle\\"') == 0            # portmap names the network in its comments
        assert [n for n in os.listdir(os.path.join(data_dir, "gantry-cycle")) if n[0].isdigit()] == []
        assert net.cache.pod_ids() == set()
    finally:
        subprocess.run(["ip", "link", "del", "gtcnicycle0"], capture_output=True)
