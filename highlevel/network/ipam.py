"""Address choice for the built-in bridge (pure).

A subnet's first host address is the gateway (the bridge's address); the
network and broadcast addresses are never handed out.  Addresses are taken
round-robin after the last one handed out in that subnet, as CNI's host-local
does, so an address just freed is the last to come back: a stale connection
to a gone pod rarely reaches its successor.
"""
import ipaddress

from ..errors import InvalidArgument, ResourceExhausted


def parse_subnet(cidr, what="pod_cidr", version=4):
    """'10.87.0.0/16' -> IPv4Network (or 'fd87::/64' -> IPv6Network) with room for a gateway and pods."""
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError as exc:
        raise InvalidArgument("%s: %r is not a CIDR: %s" % (what, cidr, exc)) from exc
    if net.version != version:
        raise InvalidArgument("%s: %r is not an IPv%d CIDR" % (what, cidr, version))
    if net.max_prefixlen - net.prefixlen < 3:
        raise InvalidArgument("%s: %r: too small (at most /%d)" % (what, cidr, net.max_prefixlen - 3))
    return net


def split_pod_cidrs(text, what="pod_cidr"):
    """CRI's pod CIDR ('10.1.0.0/24' or dual-stack '10.1.0.0/24,fd00:1::/64') -> (IPv4 net or None, IPv6 or None)."""
    v4 = v6 = None
    for part in (p.strip() for p in text.split(",") if p.strip()):
        try:
            version = ipaddress.ip_network(part, strict=False).version
        except ValueError as exc:
            raise InvalidArgument("%s: %r is not a CIDR: %s" % (what, part, exc)) from exc
        if version == 4 and v4 is None:
            v4 = parse_subnet(part, what, 4)
        elif version == 6 and v6 is None:
            v6 = parse_subnet(part, what, 6)
        else:
            raise InvalidArgument("%s: %r: more than one IPv%d CIDR" % (what, text, version))
    return v4, v6


def gateway(net):
    """The bridge's address in ``net``: its first host address."""
    return net.network_address + 1


def pick_address(net, used, last=None):
    """The next free host address of ``net`` after ``last`` (wrapping), skipping the gateway.

    ``used`` is a set of ipaddress objects in use.  Raises ResourceExhausted when none is left.
    """
    first = int(net.network_address) + 2           # +1 is the gateway
    end = int(net.broadcast_address) - 1            # inclusive
    size = end - first + 1
    start = first
    if last is not None and first <= int(last) <= end:
        start = int(last) + 1
    for step in range(size):
        candidate = ipaddress.ip_address(first + (start - first + step) % size)
        if candidate not in used:
            return candidate
    raise ResourceExhausted("allocate address in %s: all %d addresses are in use" % (net, size))
