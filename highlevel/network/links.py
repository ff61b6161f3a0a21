"""Links of the built-in bridge, through rtnetlink sockets (netlink.py; no fork, no `ip` subprocess).

Host side: the bridge with the gateway address (one per family), one veth
per pod whose host end is a bridge port (hairpin on, so a pod reaches itself
through a host port).  Pod side, from a thread inside the pod's netns
(netns.py): the peer arrives there already named ``eth0``; it gets the MTU,
its addresses and a default route via the gateway of each family.
"""
import errno
import hashlib
import ipaddress
import os

from ..errors import FailedPrecondition, Internal
from . import rtnl
from .netlink import Rtnl
from .netns import run_in_netns
from .rtnl import NetlinkError

POD_IFNAME = "eth0"
VETH_PREFIX = "gv"


def veth_name(pod_id):
    """Host end of a pod's veth: 'gv' + 13 hex digits of the pod id's hash (15 bytes, IFNAMSIZ)."""
    return VETH_PREFIX + hashlib.sha256(pod_id.encode()).hexdigest()[:13]


def _fail(what, exc):
    code = getattr(exc, "code", None)
    detail = os.strerror(code) if isinstance(code, int) and code > 0 else str(exc)
    return Internal("%s: %s" % (what, detail))


def _index(nl, name):
    """The link's index, or None; one RTM_GETLINK by name (no dump of every link)."""
    return nl.link_index(name)


def ensure_bridge(name, gateways, mtu):
    """Create or complete the bridge: up, MTU, each (gateway, prefixlen) address, route_localnet."""
    with Rtnl() as nl:
        try:
            idx = _index(nl, name)
            if idx is None:
                try:
                    nl.request(rtnl.add_bridge, name, what="add bridge %s" % name)
                except NetlinkError as exc:
                    if exc.code != errno.EEXIST:
                        raise
                idx = _index(nl, name)
            have = {(ipaddress.ip_address(a["address"]), a["prefixlen"]) for a in nl.addresses(idx) if a["address"]}
            for gw, prefixlen in gateways:
                if (ipaddress.ip_address(gw), prefixlen) not in have:
                    _add_address(nl, idx, gw, prefixlen)
            nl.request(rtnl.set_link, idx, True, mtu, what="set %s up" % name)
        except NetlinkError as exc:
            raise _fail("set up bridge %s (%s)" % (name, ", ".join("%s/%d" % g for g in gateways)), exc) from exc
    _sysctl("net/ipv4/conf/%s/route_localnet" % name, "1")
    _sysctl("net/ipv4/ip_forward", "1")


def _add_address(nl, idx, ip, prefixlen):
    """Add an address; IPv6 ones without duplicate address detection (usable at once, as CNI's bridge does)."""
    try:
        nl.request(rtnl.add_address, idx, ipaddress.ip_address(ip), prefixlen, what="add address %s/%d" % (ip, prefixlen))
    except NetlinkError as exc:
        if exc.code != errno.EEXIST:
            raise


def _sysctl(key, value):
    path = "/proc/sys/" + key
    try:
        with open(path) as f:
            if f.read().strip() == value:
                return
        with open(path, "w") as f:
            f.write(value)
    except OSError as exc:
        raise Internal("sysctl %s=%s: %s" % (key.replace("/", "."), value, exc.strerror)) from exc


def default_route_mtu(fallback=1500):
    """The MTU of the link the host's IPv4 default route uses (pods must not exceed the uplink), or fallback."""
    try:
        with open("/proc/net/route") as f:
            rows = [line.split() for line in f.read().splitlines()[1:]]
        dev = next(r[0] for r in rows if len(r) > 7 and r[1] == "00000000" and r[7] == "00000000")
        with open("/sys/class/net/%s/mtu" % dev) as f:
            return int(f.read())
    except (OSError, StopIteration, ValueError):
        return fallback


def add_pod_link(bridge, veth, netns_path, mtu):
    """The pod's veth pair: host end ``veth`` on the bridge, peer ``eth0`` inside the netns."""
    try:
        nsfd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise Internal("open netns %s: %s" % (netns_path, exc.strerror)) from exc
    try:
        with Rtnl() as nl:
            bidx = _index(nl, bridge)
            if bidx is None:
                raise FailedPrecondition("add veth %s: bridge %s does not exist" % (veth, bridge))
            nl.request(rtnl.add_veth, veth, mtu, POD_IFNAME, nsfd, what="add veth %s" % veth)
            vidx = _index(nl, veth)
            nl.request(rtnl.set_link, vidx, True, None, bidx, what="set %s up on %s" % (veth, bridge))
            nl.request(rtnl.set_hairpin, vidx, what="hairpin on %s" % veth)
    except NetlinkError as exc:
        raise _fail("add veth %s (peer %s in %s) to bridge %s" % (veth, POD_IFNAME, netns_path, bridge),
                    exc) from exc
    finally:
        os.close(nsfd)


def configure_pod_side(netns_path, addresses):
    """Inside the pod: eth0 up with each (ip, prefixlen, gateway) and a default route per family."""
    def inside():
        with Rtnl() as nl:
            idx = _index(nl, POD_IFNAME)
            if idx is None:
                raise NetlinkError(errno.ENODEV, "get link %s" % POD_IFNAME)
            for ip, prefixlen, _ in addresses:
                _add_address(nl, idx, ip, prefixlen)
            nl.request(rtnl.set_link, idx, True, what="set %s up" % POD_IFNAME)
            for _ip, _, gw in addresses:
                nl.request(rtnl.add_default_route, ipaddress.ip_address(gw), idx, what="default route via %s" % gw)
    what = ", ".join("%s/%d via %s" % a for a in addresses)
    try:
        run_in_netns(netns_path, inside)
    except NetlinkError as exc:
        raise _fail("configure %s in %s (%s)" % (POD_IFNAME, netns_path, what), exc) from exc
    except OSError as exc:
        raise Internal("enter netns %s: %s" % (netns_path, exc)) from exc


def delete_link(name):
    """Delete a link by name (both ends of a veth go); a missing link is fine."""
    with Rtnl() as nl:
        try:
            idx = _index(nl, name)
            if idx is not None:
                nl.request(rtnl.delete_link, idx, what="delete link %s" % name)
        except NetlinkError as exc:
            if exc.code not in (errno.ENODEV, errno.ENOENT):
                raise _fail("delete link %s" % name, exc) from exc


def bridge_ports(bridge):
    """Names of the links enslaved to ``bridge`` (empty when it does not exist)."""
    with Rtnl() as nl:
        bidx = _index(nl, bridge)
        if bidx is None:
            return []
        return [link["name"] for link in nl.links() if link["master"] == bidx]


def link_exists(name):
    with Rtnl() as nl:
        return _index(nl, name) is not None
