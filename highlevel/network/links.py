"""Links of the built-in bridge, through pyroute2 netlink sockets (no fork, no `ip` subprocess).

Host side: the bridge with the gateway address (one per family), one veth
per pod whose host end is a bridge port (hairpin on, so a pod reaches itself
through a host port).  Pod side, from a thread inside the pod's netns
(netns.py): the peer arrives there already named ``eth0``; it gets the MTU,
its addresses and a default route via the gateway of each family.

pyroute2 is imported with the first netlink call (netlinklib.py), not with this module: a
gantryd that has no pod to connect keeps none of it in memory.  What it asks at
start-up (does a link exist, are there stray pod veths) is answered by the kernel's name index
(if_nametoindex / if_nameindex, stdlib) and needs netlink only when a candidate exists.
"""
import errno
import hashlib
import os
import socket

from ..errors import FailedPrecondition, Internal
from . import netlinklib as _nl  # pyroute2's names, loaded on first use
from .netns import run_in_netns

POD_IFNAME = "eth0"
VETH_PREFIX = "gv"


def veth_name(pod_id):
    """Host end of a pod's veth: 'gv' + 13 hex digits of the pod id's hash (15 bytes, IFNAMSIZ)."""
    return VETH_PREFIX + hashlib.sha256(pod_id.encode()).hexdigest()[:13]


def _fail(what, exc):
    code = getattr(exc, "code", None)
    detail = os.strerror(code) if isinstance(code, int) and code > 0 else str(exc)
    return Internal("%s: %s" % (what, detail))


def _index(ipr, name):
    """The link's index, or None; one RTM_GETLINK by name (no dump of every link)."""
    try:
        return ipr.link("get", ifname=name)[0]["index"]
    except _nl.NetlinkError as exc:
        if exc.code in (errno.ENODEV, errno.ENOENT):
            return None
        raise


def ensure_bridge(name, gateways, mtu):
    """Create or complete the bridge: up, MTU, each (gateway, prefixlen) address, route_localnet."""
    with _nl.IPRoute() as ipr:
        try:
            idx = _index(ipr, name)
            if idx is None:
                try:
                    ipr.link("add", ifname=name, kind="bridge")
                except _nl.NetlinkError as exc:
                    if exc.code != errno.EEXIST:
                        raise
                idx = _index(ipr, name)
            have = {(a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(index=idx)}
            for gw, prefixlen in gateways:
                if (str(gw), prefixlen) not in have:
                    _add_address(ipr, idx, gw, prefixlen)
            ipr.link("set", index=idx, state="up", mtu=mtu)
        except _nl.NetlinkError as exc:
            raise _fail("set up bridge %s (%s)" % (name, ", ".join("%s/%d" % g for g in gateways)), exc) from exc
    _sysctl("net/ipv4/conf/%s/route_localnet" % name, "1")
    _sysctl("net/ipv4/ip_forward", "1")


def _add_address(ipr, idx, ip, prefixlen):
    """Add an address; IPv6 ones without duplicate address detection (usable at once, as CNI's bridge does)."""
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    flags = _nl.IFA_F_NODAD if ip.version == 6 else 0
    try:
        ipr.addr("add", index=idx, address=str(ip), prefixlen=prefixlen, family=family, flags=flags)
    except _nl.NetlinkError as exc:
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
        with _nl.IPRoute() as ipr:
            bidx = _index(ipr, bridge)
            if bidx is None:
                raise FailedPrecondition("add veth %s: bridge %s does not exist" % (veth, bridge))
            ipr.link("add", ifname=veth, kind="veth", mtu=mtu,
                     peer={"ifname": POD_IFNAME, "net_ns_fd": nsfd, "mtu": mtu})
            vidx = _index(ipr, veth)
            ipr.link("set", index=vidx, master=bidx, state="up")
            ipr.brport("set", index=vidx, mode=1)          # IFLA_BRPORT_MODE: hairpin
    except _nl.NetlinkError as exc:
        raise _fail("add veth %s (peer %s in %s) to bridge %s" % (veth, POD_IFNAME, netns_path, bridge),
                    exc) from exc
    finally:
        os.close(nsfd)


def configure_pod_side(netns_path, addresses):
    """Inside the pod: eth0 up with each (ip, prefixlen, gateway) and a default route per family."""
    def inside():
        with _nl.IPRoute() as ipr:
            idx = _index(ipr, POD_IFNAME)
            for ip, prefixlen, _ in addresses:
                _add_address(ipr, idx, ip, prefixlen)
            ipr.link("set", index=idx, state="up")
            for ip, _, gw in addresses:
                if ip.version == 6:
                    ipr.route("add", dst="::/0", gateway=str(gw), oif=idx, family=socket.AF_INET6)
                else:
                    ipr.route("add", dst="0.0.0.0/0", gateway=str(gw), oif=idx)
    what = ", ".join("%s/%d via %s" % a for a in addresses)
    try:
        run_in_netns(netns_path, inside)
    except _nl.NetlinkError as exc:
        raise _fail("configure %s in %s (%s)" % (POD_IFNAME, netns_path, what), exc) from exc
    except OSError as exc:
        raise Internal("enter netns %s: %s" % (netns_path, exc)) from exc


def delete_link(name):
    """Delete a link by name (both ends of a veth go); a missing link is fine."""
    with _nl.IPRoute() as ipr:
        try:
            idx = _index(ipr, name)
            if idx is not None:
                ipr.link("del", index=idx)
        except _nl.NetlinkError as exc:
            if exc.code not in (errno.ENODEV, errno.ENOENT):
                raise _fail("delete link %s" % name, exc) from exc


def bridge_ports(bridge):
    """Names of the links enslaved to ``bridge`` (empty when it does not exist)."""
    with _nl.IPRoute() as ipr:
        bidx = _index(ipr, bridge)
        if bidx is None:
            return []
        return [link.get_attr("IFLA_IFNAME") for link in ipr.get_links() if link.get_attr("IFLA_MASTER") == bidx]


def link_exists(name):
    try:
        socket.if_nametoindex(name)
        return True
    except OSError:
        return False


def stray_veths(bridge, keep):
    """Pod veths (VETH_PREFIX) on ``bridge`` not in ``keep``; netlink only when such a name exists."""
    if not any(name.startswith(VETH_PREFIX) and name not in keep for _, name in socket.if_nameindex()):
        return []
    return [name for name in bridge_ports(bridge) if name.startswith(VETH_PREFIX) and name not in keep]
