"""CNI mode with Debian's standard plugins (bridge, host-local, portmap, loopback) in a private conf dir."""
import json
import os
import subprocess

import pytest
from gantry.highlevel.network.api import PortMapping
from gantry.highlevel.network.cni import CNIError, CNINetwork

from .connectivity import pod_spec, two_pods_talk
from .nettools import links, nat_rules

pytestmark = pytest.mark.root

PLUGIN_DIR = "/usr/lib/cni"
BRIDGE = "gtcnitest0"
SUBNET = "10.251.78.0/24"
GATEWAY = "10.251.78.1"
PORTMAP_MARK = 'name: \\"gantry-test\\"'     # in the comments of portmap's rules


def conflist(data_dir, version="1.0.0", subnet=SUBNET):
    return {"cniVersion": version, "name": "gantry-test", "plugins": [
        {"type": "bridge", "bridge": BRIDGE, "isGateway": True, "ipMasq": False, "hairpinMode": True,
         "ipam": {"type": "host-local", "dataDir": data_dir, "ranges": [[{"subnet": subnet}]],
                  "routes": [{"dst": "0.0.0.0/0"}]}},
        {"type": "portmap", "capabilities": {"portMappings": True}},
        {"type": "loopback"}]}


@pytest.fixture
def cni(tmp_path, netns_cleanup):
    missing = [p for p in ("bridge", "host-local", "portmap", "loopback")
               if not os.access(os.path.join(PLUGIN_DIR, p), os.X_OK)]
    if missing:
        pytest.skip("CNI plugins %s not installed in %s (Debian containernetworking-plugins)" % (missing, PLUGIN_DIR))
    conf_dir = tmp_path / "net.d"
    conf_dir.mkdir()
    data_dir = str(tmp_path / "host-local")

    def write(version="1.0.0", name="10-test.conflist"):
        (conf_dir / name).write_text(json.dumps(conflist(data_dir, version)))

    made = []

    def make():
        n = CNINetwork(str(conf_dir), [str(tmp_path / "nobin"), PLUGIN_DIR], str(tmp_path / "cache"))
        made.append(n)
        return n

    yield make, write, conf_dir, data_dir
    for n in made:
        for pod_id in n.cache.pod_ids():
            n.teardown(pod_id)
    subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)


def host_local_ips(data_dir):
    net_dir = os.path.join(data_dir, "gantry-test")
    if not os.path.isdir(net_dir):
        return []
    return [n for n in os.listdir(net_dir) if n[0].isdigit()]


@pytest.mark.parametrize("version", ["1.0.0", "0.4.0"])
def test_two_pods_host_and_host_ports(cni, tmp_path, version):
    make, write, _, data_dir = cni
    write(version)
    n = make()
    assert n.status() == (True, "", "")
    a, b, ip_a, ip_b = two_pods_talk(n, tmp_path, GATEWAY, BRIDGE, 31841)
    assert ip_a.startswith("10.251.78.") and sorted(host_local_ips(data_dir)) == sorted([ip_a, ip_b])
    assert PORTMAP_MARK in nat_rules()
    n.teardown(a.id)
    n.teardown(b.id)
    n.teardown(b.id)
    assert host_local_ips(data_dir) == [] and PORTMAP_MARK not in nat_rules()
    assert n.cache.pod_ids() == set()


def test_del_after_conf_removed_and_restart(cni, tmp_path):
    make, write, conf_dir, data_dir = cni
    write()
    a = pod_spec(tmp_path, "a", [PortMapping("TCP", 80, 31876)])
    make().setup(a)
    for name in os.listdir(conf_dir):
        os.unlink(conf_dir / name)
    again = make()
    assert again.status()[0] is False and "no network config" in again.status()[2]
    again.teardown(a.id)
    assert host_local_ips(data_dir) == [] and PORTMAP_MARK not in nat_rules()
    assert not [name for name in links() if name.startswith("veth")
                and os.path.realpath("/sys/class/net/%s/master" % name).endswith(BRIDGE)]


def test_recover_after_kill_releases_gone_pods(cni, tmp_path):
    make, write, _, data_dir = cni
    write()
    a = pod_spec(tmp_path, "a", [])
    b = pod_spec(tmp_path, "b", [])
    n = make()
    n.setup(a)
    n.setup(b)
    make().recover({a.id})
    assert n.cache.pod_ids() == {a.id} and len(host_local_ips(data_dir)) == 1


def test_plugin_error_becomes_the_pods_error(cni, tmp_path):
    make, write, conf_dir, data_dir = cni
    doc = conflist(data_dir)
    doc["plugins"][0]["ipam"]["ranges"] = [[{"subnet": "10.251.78.0/30"}]]     # one usable address
    (conf_dir / "10-test.conflist").write_text(json.dumps(doc))
    n = make()
    n.setup(pod_spec(tmp_path, "a", []))
    with pytest.raises(CNIError, match="cni plugin bridge ADD .*no IP addresses available in range set"):
        n.setup(pod_spec(tmp_path, "b", []))
    assert n.cache.pod_ids() == {"test-a"}


def test_check_and_missing_plugin_status(cni, tmp_path):
    make, write, conf_dir, data_dir = cni
    doc = conflist(data_dir)
    doc["plugins"] = [doc["plugins"][0], doc["plugins"][2]]        # bridge + loopback support CHECK
    (conf_dir / "10-test.conflist").write_text(json.dumps(doc))
    n = make()
    a = pod_spec(tmp_path, "a", [])
    n.setup(a)
    n.check(a.id)
    doc["plugins"].append({"type": "no-such-plugin"})
    (conf_dir / "05-first.conflist").write_text(json.dumps(doc))
    ready, reason, message = n.status()
    assert not ready and reason == "NetworkPluginNotReady" and "no-such-plugin not found" in message


def test_firewall_and_bandwidth_plugins_get_their_capability_args(cni, tmp_path):
    make, write, conf_dir, data_dir = cni
    doc = conflist(data_dir)
    doc["plugins"][2:2] = [{"type": "firewall", "backend": "iptables"},
                           {"type": "bandwidth", "capabilities": {"bandwidth": True}}]
    if not all(os.access(os.path.join(PLUGIN_DIR, p), os.X_OK) for p in ("firewall", "bandwidth")):
        pytest.skip("CNI firewall/bandwidth plugins not installed in %s" % PLUGIN_DIR)
    (conf_dir / "10-test.conflist").write_text(json.dumps(doc))
    n = make()
    a = pod_spec(tmp_path, "a", [])
    a.annotations = {"kubernetes.io/ingress-bandwidth": "10M", "kubernetes.io/egress-bandwidth": "20M"}

    def shaped():
        return subprocess.run(["tc", "qdisc", "show"], capture_output=True, text=True).stdout.count("qdisc tbf")

    def firewall():
        return subprocess.run(["iptables", "-S", "CNI-FORWARD"], capture_output=True, text=True).stdout

    before = shaped()
    ip = n.setup(a).ips[0]
    assert shaped() == before + 2 and "-d %s/32" % ip in firewall()     # ingress on the veth, egress on an ifb
    n.teardown(a.id)
    assert shaped() == before and ip + "/32" not in firewall()


def test_del_after_the_netns_is_gone(cni, tmp_path):
    make, write, _, data_dir = cni
    write()
    n = make()
    a = pod_spec(tmp_path, "a", [PortMapping("TCP", 80, 31876)])
    n.setup(a)
    subprocess.run(["umount", a.netns_path], check=True)
    os.unlink(a.netns_path)
    n.teardown(a.id)
    assert host_local_ips(data_dir) == [] and PORTMAP_MARK not in nat_rules() and n.cache.pod_ids() == set()
