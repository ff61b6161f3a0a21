"""The two pod-network modes a gantryd under test can run in, and where each keeps what a pod holds.

``Mode("bridge"|"cni", workdir).config()`` is the gantryd config: the built-in bridge (the tests'
own bridge and /24) or Debian's CNI plugins (bridge + host-local + portmap + loopback on a
conflist, bridge and /24 of its own); the other methods count addresses, cache entries,
host-port rules and bridge ports, so a test can say nothing leaked.  conftest's ``net_gantryd``
runs a gantryd in each mode.
"""
import json
import os
import sqlite3
import subprocess

from gantry.highlevel.network import hostports

# the tests' pods get a bridge and addresses of their own, apart from a gantryd the machine may run
TEST_NETWORK = """
[network]
mode = "bridge"
bridge = "gantrytest0"
pod_cidr = "10.87.250.0/24"
"""

CNI_BRIDGE, CNI_NETWORK, CNI_SUBNET = "gtcrashcni0", "gantry-crash", "10.251.93.0/24"


class Mode:
    """Where a network mode keeps what a pod holds, so a test can count it."""

    def __init__(self, name, workdir):
        self.name, self.workdir = name, workdir
        self.bridge = "gantrytest0" if name == "bridge" else CNI_BRIDGE
        self.marker = 'name: \\"%s\\"' % CNI_NETWORK     # in the comments of portmap's rules

    def config(self):
        if self.name == "bridge":
            return TEST_NETWORK
        conf_dir = os.path.join(self.workdir, "net.d")
        os.makedirs(conf_dir, exist_ok=True)
        with open(os.path.join(conf_dir, "10-crash.conflist"), "w") as f:
            json.dump({"cniVersion": "1.0.0", "name": CNI_NETWORK, "plugins": [
                {"type": "bridge", "bridge": CNI_BRIDGE, "isGateway": True, "ipMasq": False, "hairpinMode": True,
                 "ipam": {"type": "host-local", "dataDir": self.host_local_dir(),
                          "ranges": [[{"subnet": CNI_SUBNET}]], "routes": [{"dst": "0.0.0.0/0"}]}},
                {"type": "portmap", "capabilities": {"portMappings": True}},
                {"type": "loopback"}]}, f)
        return '[network]\nmode = "cni"\ncni_conf_dir = "%s"\ncni_bin_dirs = ["/usr/lib/cni"]\n' % conf_dir

    def host_local_dir(self):
        return os.path.join(self.workdir, "host-local")

    def reserved_ips(self, gd):
        """Addresses the mode holds for pods: host-local's files, or the bridge's IPAM rows."""
        if self.name == "cni":
            net_dir = os.path.join(self.host_local_dir(), CNI_NETWORK)
            return set(n for n in os.listdir(net_dir) if n[0].isdigit()) if os.path.isdir(net_dir) else set()
        db = sqlite3.connect(os.path.join(gd.root, "network", "ipam.db"))
        try:
            return {ip for (ip,) in db.execute("SELECT ip FROM addresses")}
        finally:
            db.close()

    def cache_files(self, gd):
        """Every file in the CNI cache (entries and stray temporaries); the bridge's pod records."""
        if self.name == "cni":
            cache = os.path.join(gd.root, "network", "cni")
            return set(os.listdir(cache)) if os.path.isdir(cache) else set()
        db = sqlite3.connect(os.path.join(gd.root, "network", "ipam.db"))
        try:
            return {pod for (pod,) in db.execute("SELECT pod_id FROM pods")}
        finally:
            db.close()

    def rules(self):
        """Host-port rules left: gantryd's per-pod chains, or portmap's rules naming the network."""
        out = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True, check=True).stdout
        if self.name == "bridge":
            return hostports.owned_pod_chains(out, self.bridge)
        return [line for line in out.splitlines() if line.startswith("-A ") and self.marker in line]
