"""The built-in bridge network (mode = "bridge"): pyroute2 links, sqlite IPAM, iptables host ports.

IPv4 always (the pod's primary IP); IPv6 too when pod_cidr_v6 is set (dual
stack: pod to pod and host to pod; host ports and outbound NAT are IPv4 only).

setup, in this order, so that every step a crash can interrupt is already
recorded for teardown and recover:

    1. bridge and base chains (once per process and pod CIDR; they hold no pod state)
    2. sqlite, one transaction: an address per family + the pod's record (veth, chains, host ports),
       after checking that no other pod maps the same host port
    3. veth pair: host end on the bridge, eth0 in the pod's netns
    4. inside the netns: address, up, default route
    5. host ports: the pod's nat chain and its jump

teardown removes the rules, then the veth, then the record and the address.
"""
import logging
import threading
from ipaddress import ip_address

from ..errors import AlreadyExists, FailedPrecondition, GantryError, Internal
from . import hostports, iptables, links, routes
from .api import Network, NetworkResult
from .ipam import gateway, parse_subnet, split_pod_cidrs
from .store import NetworkStore

log = logging.getLogger("gantry.network")


class BridgeNetwork(Network):
    def __init__(self, db_path, bridge="gantry0", pod_cidr="10.87.0.0/16", mtu=0, masquerade=False,
                 pod_cidr_v6=""):
        self.bridge = bridge
        self.mtu = mtu or links.default_route_mtu()     # 0: the uplink's MTU
        self.masquerade = masquerade
        self.subnet = parse_subnet(pod_cidr)
        self.subnet6 = parse_subnet(pod_cidr_v6, "pod_cidr_v6", version=6) if pod_cidr_v6 else None
        self.store = NetworkStore(db_path)
        self._lock = threading.Lock()
        self._reserve_lock = threading.Lock()
        self._ensured = None          # the (subnet, subnet6) the bridge and base chains were made for

    def status(self):
        if self.masquerade and not iptables.available():
            return (False, "NetworkPluginNotReady",
                    "network.masquerade = true needs iptables-save and iptables-restore, which are not installed")
        return (True, "", "")

    def update_pod_cidr(self, cidr):
        """'10.1.0.0/24' or dual-stack '10.1.0.0/24,fd00:1::/64'; a family not named keeps its CIDR."""
        subnet, subnet6 = split_pod_cidrs(cidr or "", "UpdateRuntimeConfig pod_cidr")
        with self._lock:
            if subnet and subnet != self.subnet:
                log.info("pod CIDR changed from %s to %s", self.subnet, subnet)
                self.subnet = subnet
            if subnet6 and subnet6 != self.subnet6:
                log.info("pod IPv6 CIDR changed from %s to %s", self.subnet6, subnet6)
                self.subnet6 = subnet6

    def _ensure_base(self):
        with self._lock:
            nets = [n for n in (self.subnet, self.subnet6) if n]
            if self._ensured == nets:
                return nets
            links.ensure_bridge(self.bridge, [(gateway(n), n.prefixlen) for n in nets], self.mtu)
            for iface, net in routes.shadowing_routes(self.subnet, self.bridge):
                log.warning("pod CIDR %s: %s is also routed through %s; the host's traffic to those pods "
                            "goes there, not to bridge %s (choose a pod_cidr no other link routes)",
                            self.subnet, net, iface, self.bridge)
            if iptables.available():          # without it pods still connect; host ports are refused
                subnets = sorted({str(nets[0])} | {r["subnet"] for r in self._records()})
                nat, filt = hostports.base_rules(iptables.save("nat"), iptables.save("filter"),
                                                 self.bridge, subnets, self.masquerade)
                iptables.restore(nat, "set up nat chains of bridge %s" % self.bridge)
                iptables.restore(filt, "set up filter chains of bridge %s" % self.bridge)
            else:
                log.warning("iptables is not installed: pods on bridge %s get no host ports", self.bridge)
            self._ensured = nets
            return nets

    def _records(self):
        return [r for r in (self.store.record(p) for p in self.store.pod_ids()) if r]

    def setup(self, pod):
        if self.store.record(pod.id) is not None:
            self.teardown(pod.id)
        if not links.link_exists(self.bridge):
            self._ensured = None                   # deleted behind our back: make it again
        nets = self._ensure_base()
        subnet = nets[0]
        active = [m for m in pod.port_mappings if m.host_port]
        chains = hostports.base_chains(self.bridge)
        record = {"bridge": self.bridge, "veth": links.veth_name(pod.id), "subnet": str(subnet),
                  "netns": pod.netns_path, "name": "%s/%s" % (pod.namespace, pod.name),
                  "chain": hostports.pod_chain(self.bridge, pod.id) if active else "",
                  "hostports_chain": chains["hostports"], "ports": hostports.port_keys(active)}
        hostports.pod_rules(self.bridge, pod.id, "0.0.0.0", str(subnet), active)   # validates before anything
        if active and not iptables.available():
            raise FailedPrecondition("set up network of pod %s: host ports need iptables-restore, which is "
                                     "not installed" % pod.id)
        with self._reserve_lock:                   # the host-port check and the reservation are one step
            if active:
                self._check_host_ports(pod.id, record["ports"])
            record = self.store.reserve(pod.id, nets, record)
        ips = record["ips"]
        try:
            links.add_pod_link(self.bridge, record["veth"], pod.netns_path, self.mtu)
            links.configure_pod_side(pod.netns_path, [(ip_address(ip), n.prefixlen, gateway(n))
                                                      for ip, n in zip(ips, nets, strict=True)])
            self._add_pod_rules(hostports.pod_rules(self.bridge, pod.id, ips[0], str(subnet), active), pod.id)
        except BaseException as exc:
            try:
                self.teardown(pod.id)
            except GantryError as undo:
                log.warning("undo network setup of pod %s: %s", pod.id, undo)
            if isinstance(exc, GantryError):
                raise
            raise Internal("set up network of pod %s: %s" % (pod.id, exc)) from exc
        return NetworkResult(ips=ips, interface=links.POD_IFNAME)

    def _check_host_ports(self, pod_id, ports):
        taken = {}
        for other in self._records():
            for key in other.get("ports", []):
                taken[tuple(key)] = other["name"]
        for key in ports:
            clash = hostports.clashing(key, taken)
            if clash:
                raise AlreadyExists("set up network of pod %s: host port %s is already mapped for pod %s"
                                    % (pod_id, hostports.describe(key), taken[clash]))

    def _add_pod_rules(self, rules, pod_id):
        what = "add host ports of pod %s" % pod_id
        try:
            iptables.restore(rules, what)
        except Internal:                   # base chains flushed behind our back (a firewall reload)?
            with self._lock:
                self._ensured = None
            self._ensure_base()
            iptables.restore(rules, what)

    def teardown(self, pod_id):
        record = self.store.record(pod_id)
        if record is not None:
            if record.get("chain"):
                self._remove_pod_chain(pod_id, record["chain"], record["hostports_chain"])
            links.delete_link(record["veth"])
        self.store.release(pod_id)

    def _remove_pod_chain(self, pod_id, chain, hostports_chain):
        what = "remove host ports of pod %s" % pod_id
        try:
            iptables.restore(hostports.pod_removal_exact(self.bridge, pod_id, chain, hostports_chain), what)
        except Internal:                   # partly gone already (a crash mid-setup or mid-teardown)
            iptables.restore(hostports.pod_removal(iptables.save("nat"), chain, hostports_chain), what)

    def recover(self, live_pod_ids):
        live = set(live_pod_ids)
        for pod_id in sorted(self.store.pod_ids() - live):
            try:
                self.teardown(pod_id)
                log.info("released network of gone pod %s", pod_id)
            except GantryError as exc:
                log.warning("release network of gone pod %s: %s", pod_id, exc)
        kept = self._records()
        veths = {r["veth"] for r in kept}
        for name in links.stray_veths(self.bridge, veths):
            links.delete_link(name)
        if not iptables.available():
            return
        chains = {r["chain"] for r in kept if r.get("chain")}
        saved = iptables.save("nat")
        for chain in hostports.owned_pod_chains(saved, self.bridge):
            if chain not in chains:
                iptables.restore(hostports.pod_removal(saved, chain, hostports.base_chains(self.bridge)["hostports"]),
                                 "remove stray chain %s" % chain)

    def remove_host_state(self):
        """Delete the bridge and its base chains (tests, uninstall); pods must be torn down first."""
        with self._lock:
            nat, filt = hostports.base_removal(iptables.save("nat"), iptables.save("filter"), self.bridge)
            iptables.restore(nat, "remove nat chains of bridge %s" % self.bridge)
            iptables.restore(filt, "remove filter chains of bridge %s" % self.bridge)
            links.delete_link(self.bridge)
            self._ensured = None

    def close(self):
        self.store.close()
