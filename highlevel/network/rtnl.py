"""rtnetlink messages of the built-in bridge, as bytes: a pure encoder/decoder (no socket here).

The exchange (netlink.py sends, the kernel answers), one request at a time:

    gantryd -> kernel   nlmsghdr(type, flags, seq) + family header + attributes
    kernel  -> gantryd  for a get: RTM_NEWLINK/NEWADDR replies, then NLMSG_ERROR(0) (the ack)
                        for a dump (NLM_F_DUMP): replies over one or more reads, then NLMSG_DONE
                        for a change: NLMSG_ERROR(0), or NLMSG_ERROR(-errno) on failure

Only what links.py needs: links by name (get, add bridge/veth, set up/MTU/master, delete, dump),
addresses (dump, add), a default route, a bridge port's hairpin mode.  Layouts from
<linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_link.h>, <linux/if_addr.h>, <linux/veth.h>.
gantryd used pyroute2 for this before; its import alone cost ~8 MiB of gantryd's memory.
"""
import os
import socket
import struct

NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19
RTM_NEWADDR, RTM_GETADDR, RTM_NEWROUTE = 20, 22, 24

F_REQUEST, F_MULTI, F_ACK = 0x1, 0x2, 0x4
F_DUMP = 0x300                               # NLM_F_ROOT | NLM_F_MATCH
F_EXCL, F_CREATE = 0x200, 0x400
NLA_F_NESTED = 0x8000

IFF_UP = 0x1
IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_PROTINFO, IFLA_LINKINFO, IFLA_NET_NS_FD = 3, 4, 10, 12, 18, 28
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
VETH_INFO_PEER = 1
IFLA_BRPORT_MODE = 4                         # hairpin
IFA_ADDRESS, IFA_LOCAL = 1, 2
IFA_F_NODAD = 0x02
RTA_OIF, RTA_GATEWAY = 4, 5
RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST = 254, 3, 0, 1

_NLMSGHDR = struct.Struct("=IHHII")          # len, type, flags, seq, pid
_IFINFOMSG = struct.Struct("=BxHiII")        # family, type, index, flags, change
_IFADDRMSG = struct.Struct("=BBBBI")         # family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")         # family, dst_len, src_len, tos, table, protocol, scope, type, flags
_RTATTR = struct.Struct("=HH")               # len, type


class NetlinkError(Exception):
    """The kernel refused a request: ``code`` is the errno, ``what`` the request."""

    def __init__(self, code, what):
        super().__init__("%s: %s" % (what, os.strerror(code)))
        self.code = code


def _pad(n):
    return (n + 3) & ~3


def attr(kind, payload):
    """One rtattr: header + payload, padded to 4 bytes."""
    raw = _RTATTR.pack(_RTATTR.size + len(payload), kind) + payload
    return raw + b"\0" * (_pad(len(raw)) - len(raw))


def u32(kind, value):
    return attr(kind, struct.pack("=I", value))


def string(kind, text):
    return attr(kind, text.encode() + b"\0")


def nested(kind, *attrs):
    return attr(kind | NLA_F_NESTED, b"".join(attrs))


def message(kind, flags, seq, body):
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, flags, seq, 0) + body


def ifinfomsg(index=0, flags=0, change=0, family=socket.AF_UNSPEC):
    return _IFINFOMSG.pack(family, 0, index, flags, change)


# -- requests -------------------------------------------------------------------------------------

def get_link(seq, name):
    return message(RTM_GETLINK, F_REQUEST | F_ACK, seq, ifinfomsg() + string(IFLA_IFNAME, name))


def dump_links(seq):
    return message(RTM_GETLINK, F_REQUEST | F_DUMP, seq, ifinfomsg())


def add_bridge(seq, name):
    body = ifinfomsg() + string(IFLA_IFNAME, name) + nested(IFLA_LINKINFO, attr(IFLA_INFO_KIND, b"bridge"))
    return message(RTM_NEWLINK, F_REQUEST | F_ACK | F_CREATE | F_EXCL, seq, body)


def add_veth(seq, name, mtu, peer_name, peer_netns_fd):
    """A veth pair: ``name`` here, its peer ``peer_name`` created directly in the netns of the fd."""
    peer = ifinfomsg() + string(IFLA_IFNAME, peer_name) + u32(IFLA_NET_NS_FD, peer_netns_fd) + u32(IFLA_MTU, mtu)
    info = nested(IFLA_LINKINFO, attr(IFLA_INFO_KIND, b"veth"),
                  nested(IFLA_INFO_DATA, attr(VETH_INFO_PEER | NLA_F_NESTED, peer)))
    body = ifinfomsg() + string(IFLA_IFNAME, name) + u32(IFLA_MTU, mtu) + info
    return message(RTM_NEWLINK, F_REQUEST | F_ACK | F_CREATE | F_EXCL, seq, body)


def set_link(seq, index, up=None, mtu=None, master=None):
    """Change a link: up (True/False/None = leave), MTU, bridge master index."""
    flags = IFF_UP if up else 0
    change = IFF_UP if up is not None else 0
    body = ifinfomsg(index, flags, change)
    if mtu is not None:
        body += u32(IFLA_MTU, mtu)
    if master is not None:
        body += u32(IFLA_MASTER, master)
    return message(RTM_NEWLINK, F_REQUEST | F_ACK, seq, body)


def set_hairpin(seq, index, on=True):
    """A bridge port's hairpin mode (IFLA_BRPORT_MODE), as `bridge link set dev X hairpin on` sends it."""
    body = ifinfomsg(index, family=socket.AF_BRIDGE) + nested(IFLA_PROTINFO, attr(IFLA_BRPORT_MODE, bytes([int(on)])))
    return message(RTM_SETLINK, F_REQUEST | F_ACK, seq, body)


def delete_link(seq, index):
    return message(RTM_DELLINK, F_REQUEST | F_ACK, seq, ifinfomsg(index))


def dump_addresses(seq):
    return message(RTM_GETADDR, F_REQUEST | F_DUMP, seq, _IFADDRMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0))


def add_address(seq, index, ip, prefixlen):
    """Add an ipaddress.ip_address; IPv6 ones without duplicate address detection (IFA_F_NODAD)."""
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    flags = IFA_F_NODAD if ip.version == 6 else 0
    body = _IFADDRMSG.pack(family, prefixlen, flags, RT_SCOPE_UNIVERSE, index)
    body += attr(IFA_LOCAL, ip.packed) + attr(IFA_ADDRESS, ip.packed)
    return message(RTM_NEWADDR, F_REQUEST | F_ACK | F_CREATE | F_EXCL, seq, body)


def add_default_route(seq, gateway, oif):
    """Default route of the gateway's family via ``gateway`` out of link ``oif`` (main table)."""
    family = socket.AF_INET6 if gateway.version == 6 else socket.AF_INET
    body = _RTMSG.pack(family, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0)
    body += attr(RTA_GATEWAY, gateway.packed) + u32(RTA_OIF, oif)
    return message(RTM_NEWROUTE, F_REQUEST | F_ACK | F_CREATE | F_EXCL, seq, body)


# -- replies --------------------------------------------------------------------------------------

def split(data):
    """[(type, flags, seq, body)] of the netlink messages in one read."""
    out, off = [], 0
    while off + _NLMSGHDR.size <= len(data):
        length, kind, flags, seq, _pid = _NLMSGHDR.unpack_from(data, off)
        if length < _NLMSGHDR.size or off + length > len(data):
            raise ValueError("netlink: truncated message at byte %d (length %d of %d)" % (off, length, len(data)))
        out.append((kind, flags, seq, data[off + _NLMSGHDR.size:off + length]))
        off += _pad(length)
    return out


def error_code(body):
    """The errno of an NLMSG_ERROR body (0: an ack)."""
    return -struct.unpack_from("=i", body)[0]


def attrs(data, off=0):
    """{type: payload} of the attributes from ``off`` (the nested flag stripped; last one wins)."""
    out = {}
    while off + _RTATTR.size <= len(data):
        length, kind = _RTATTR.unpack_from(data, off)
        if length < _RTATTR.size:
            break
        out[kind & ~NLA_F_NESTED] = data[off + _RTATTR.size:off + length]
        off += _pad(length)
    return out


def parse_link(body):
    """{"index", "name", "master"} of an RTM_NEWLINK body (master None when not enslaved)."""
    _family, _type, index, _flags, _change = _IFINFOMSG.unpack_from(body)
    a = attrs(body, _IFINFOMSG.size)
    name = a.get(IFLA_IFNAME, b"").split(b"\0", 1)[0].decode(errors="replace")
    master = struct.unpack("=I", a[IFLA_MASTER])[0] if IFLA_MASTER in a else None
    return {"index": index, "name": name, "master": master}


def parse_address(body):
    """{"index", "family", "prefixlen", "address"} of an RTM_NEWADDR body (address as text)."""
    family, prefixlen, _flags, _scope, index = _IFADDRMSG.unpack_from(body)
    a = attrs(body, _IFADDRMSG.size)
    raw = a.get(IFA_ADDRESS, a.get(IFA_LOCAL))
    address = socket.inet_ntop(family, raw) if raw is not None else None
    return {"index": index, "family": family, "prefixlen": prefixlen, "address": address}
