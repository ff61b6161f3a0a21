"""The Network contract (api.py), run against every implementation: bridge and CNI.

    setup -> IPs in the configured range, eth0 in the pod's netns
    teardown -> idempotent, unknown pods are fine, works from a new object (a restart)
    setup of a pod already set up -> replaces it, leaks nothing
    failed setup -> the error names the cause, nothing stays behind
    recover(live) -> releases exactly the pods not in live
"""
import ipaddress
import json
import os
import subprocess

import pytest
from gantry.highlevel.errors import GantryError
from gantry.highlevel.network import hostports
from gantry.highlevel.network.api import PortMapping
from gantry.highlevel.network.bridge import BridgeNetwork
from gantry.highlevel.network.cni import CNINetwork
from gantry.highlevel.network.links import bridge_ports

from .connectivity import pod_spec
from .nettools import nat_rules

pytestmark = pytest.mark.root


class BridgeMode:
    bridge, cidr = "gtcontract0", "10.251.85.0/24"

    def __init__(self, tmp_path):
        self.db = str(tmp_path / "ipam.db")

    def make(self):
        return BridgeNetwork(self.db, bridge=self.bridge, pod_cidr=self.cidr)

    def leftovers(self, net):
        rules = [x for x in nat_rules().splitlines() if x.startswith("-A GANTRY-%s-HOSTPORTS" % hostports.tag(self.bridge))]
        return {"addresses": net.store.addresses(), "ports": bridge_ports(self.bridge), "rules": rules}

    def cleanup(self):
        net = self.make()
        net.remove_host_state()
        net.close()


class CNIMode:
    bridge, cidr = "gtcontractc0", "10.251.86.0/24"

    def __init__(self, tmp_path):
        if not os.access("/usr/lib/cni/bridge", os.X_OK):
            pytest.skip("CNI plugins not installed in /usr/lib/cni (Debian containernetworking-plugins)")
        self.conf, self.cache, self.data = tmp_path / "net.d", str(tmp_path / "cache"), str(tmp_path / "ipam")
        self.conf.mkdir()
        (self.conf / "10-contract.conflist").write_text(json.dumps({
            "cniVersion": "1.0.0", "name": "gantry-contract", "plugins": [
                {"type": "bridge", "bridge": self.bridge, "isGateway": True,
                 "ipam": {"type": "host-local", "dataDir": self.data, "ranges": [[{"subnet": self.cidr}]]}},
                {"type": "portmap", "capabilities": {"portMappings": True}}, {"type": "loopback"}]}))

    def make(self):
        return CNINetwork(str(self.conf), ["/usr/lib/cni"], self.cache)

    def leftovers(self, net):
        net_dir = os.path.join(self.data, "gantry-contract")
        ips = [n for n in os.listdir(net_dir) if n[0].isdigit()] if os.path.isdir(net_dir) else []
        rules = [x for x in nat_rules().splitlines() if 'name: \\"gantry-contract\\"' in x]
        return {"addresses": ips, "ports": bridge_ports(self.bridge), "rules": rules, "cache": sorted(net.cache.pod_ids())}

    def cleanup(self):
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)


@pytest.fixture(params=[BridgeMode, CNIMode], ids=["bridge", "cni"])
def mode(request, tmp_path, netns_cleanup):
    m = request.param(tmp_path)
    yield m
    m.cleanup()


def nothing_left(mode, net):
    return all(not v for v in mode.leftovers(net).values())


def test_setup_then_teardown(mode, tmp_path):
    net = mode.make()
    a = pod_spec(tmp_path, "a", [PortMapping("TCP", 80, 31860)])
    result = net.setup(a)
    assert result.interface == "eth0" and ipaddress.ip_address(result.ips[0]) in ipaddress.ip_network(mode.cidr)
    inside = subprocess.run(["nsenter", "--net=" + a.netns_path, "ip", "-o", "-4", "addr", "show", "eth0"],
                            capture_output=True, text=True).stdout
    assert result.ips[0] + "/" in inside
    assert not nothing_left(mode, net)
    net.teardown(a.id)
    net.teardown(a.id)
    net.teardown("never-set-up")
    assert nothing_left(mode, net), mode.leftovers(net)


def test_teardown_from_a_new_object(mode, tmp_path):
    a = pod_spec(tmp_path, "a", [PortMapping("UDP", 53, 31861)])
    mode.make().setup(a)
    again = mode.make()
    again.teardown(a.id)
    assert nothing_left(mode, again), mode.leftovers(again)


def test_setup_twice_replaces(mode, tmp_path):
    net = mode.make()
    a = pod_spec(tmp_path, "a", [PortMapping("TCP", 80, 31862)])
    net.setup(a)
    net.setup(a)
    assert len(mode.leftovers(net)["addresses"]) == 1 and len(mode.leftovers(net)["ports"]) == 1
    net.teardown(a.id)
    assert nothing_left(mode, net), mode.leftovers(net)


def test_failed_setup_leaves_nothing(mode, tmp_path):
    net = mode.make()
    a = pod_spec(tmp_path, "a", [PortMapping("TCP", 80, 31863)])
    a.netns_path = str(tmp_path / "missing-netns")
    with pytest.raises(GantryError, match="missing-netns"):
        net.setup(a)
    assert nothing_left(mode, net), mode.leftovers(net)


def test_recover_releases_exactly_the_gone_pods(mode, tmp_path):
    net = mode.make()
    a, b = pod_spec(tmp_path, "a", []), pod_spec(tmp_path, "b", [PortMapping("TCP", 80, 31864)])
    ip_a = net.setup(a).ips[0]
    net.setup(b)
    mode.make().recover({a.id})
    left = mode.leftovers(net)
    assert list(left["addresses"]) == [ip_a] and len(left["ports"]) == 1 and not left["rules"]
    net.teardown(a.id)
    assert nothing_left(mode, net)
