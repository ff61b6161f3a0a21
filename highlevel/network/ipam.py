"""Address choice for the built-in bridge (pure).

A subnet's first host address is the gateway (the bridge's address); the
network and broadcast addresses are never handed out.  Addresses are taken
round-robin after the last one handed out in that subnet, as CNI's host-local
does, so an address just freed is the last to come back: a stale connection
to a gone pod rarely reaches its successor.
"""
import ipaddress

from ..errors import InvalidArgument, ResourceExhausted


def parse_subnet(cidr, what="pod_cidr"):
    """'10.87.0.0/16' -> IPv4Network with room for a gateway and at least one pod."""
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError as exc:
        raise InvalidArgument("%s: %r is not a CIDR: %s" % (what, cidr, exc)) from exc
    if net.version != 4:
        raise InvalidArgument("%s: %r: only IPv4 pod CIDRs are supported by the built-in bridge" % (what, cidr))
    if net.prefixlen > 29:
        raise InvalidArgument("%s: %r: too small (at most /29)" % (what, cidr))
    return net


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
