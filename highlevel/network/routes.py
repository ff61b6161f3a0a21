"""Routes of other links that take a pod CIDR's traffic away from the bridge (read from /proc/net/route).

A pod CIDR that another link also routes, with an equal or longer prefix, sends
the host's packets for (some of) the pods to that link: host → pod connections
and host ports then fail with EHOSTUNREACH or time out, even when that link is
down (a leftover bridge keeps its connected route, marked linkdown).  A shorter
prefix (10.0.0.0/8 via eth0 beside a /24 pod CIDR) is harmless: the longest
prefix wins.  gantryd warns when it sets the bridge up (for its first pod, and
after the pod CIDR changes) and goes on: neither containerd nor CRI-O checks
this, and the pods themselves still reach each other over the bridge.

IPv4 only: /proc/net/route is the main table (what host traffic uses) in a
fixed format; the IPv6 file mixes in the local table's host routes.
"""
import socket
import struct
from ipaddress import IPv4Network

ROUTE_FILE = "/proc/net/route"


def parse(text):
    """[(iface, IPv4Network)] of /proc/net/route's text (hex, host byte order); bad lines are skipped."""
    out = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        try:
            dest, mask = (socket.inet_ntoa(struct.pack("=I", int(f, 16))) for f in (fields[1], fields[7]))
            out.append((fields[0], IPv4Network("%s/%s" % (dest, mask), strict=False)))
        except (ValueError, struct.error):
            continue
    return out


def shadowing(routes, subnet, bridge):
    """The routes of links other than bridge that take some of subnet's addresses (pure)."""
    return [(iface, net) for iface, net in routes
            if iface != bridge and net.prefixlen >= subnet.prefixlen and net.overlaps(subnet)]


def shadowing_routes(subnet, bridge, path=ROUTE_FILE):
    """shadowing() of this host's routes; [] for an IPv6 subnet or an unreadable route file."""
    if subnet.version != 4:
        return []
    try:
        with open(path) as f:
            return shadowing(parse(f.read()), subnet, bridge)
    except OSError:
        return []
