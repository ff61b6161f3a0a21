"""rtnl.py: the rtnetlink requests gantryd's bridge sends, byte for byte, and the replies it reads."""
import ipaddress
import socket
import struct

import pytest
from gantry.highlevel.network import rtnl


def header(data):
    return struct.unpack_from("=IHHII", data)


def attributes(data, off):
    out = []
    while off < len(data):
        length, kind = struct.unpack_from("=HH", data, off)
        out.append((kind, data[off + 4:off + length]))
        off += (length + 3) & ~3
    return out


@pytest.mark.parametrize("build,args,kind,flags", [
    (rtnl.get_link, ("br0",), rtnl.RTM_GETLINK, rtnl.F_REQUEST | rtnl.F_ACK),
    (rtnl.dump_links, (), rtnl.RTM_GETLINK, rtnl.F_REQUEST | rtnl.F_DUMP),
    (rtnl.add_bridge, ("br0",), rtnl.RTM_NEWLINK, rtnl.F_REQUEST | rtnl.F_ACK | rtnl.F_CREATE | rtnl.F_EXCL),
    (rtnl.set_link, (7, True, 1400), rtnl.RTM_NEWLINK, rtnl.F_REQUEST | rtnl.F_ACK),
    (rtnl.set_hairpin, (7,), rtnl.RTM_SETLINK, rtnl.F_REQUEST | rtnl.F_ACK),
    (rtnl.delete_link, (7,), rtnl.RTM_DELLINK, rtnl.F_REQUEST | rtnl.F_ACK),
    (rtnl.dump_addresses, (), rtnl.RTM_GETADDR, rtnl.F_REQUEST | rtnl.F_DUMP),
    (rtnl.add_address, (7, ipaddress.ip_address("10.1.2.1"), 24), rtnl.RTM_NEWADDR,
     rtnl.F_REQUEST | rtnl.F_ACK | rtnl.F_CREATE | rtnl.F_EXCL),
    (rtnl.add_default_route, (ipaddress.ip_address("10.1.2.1"), 7), rtnl.RTM_NEWROUTE,
     rtnl.F_REQUEST | rtnl.F_ACK | rtnl.F_CREATE | rtnl.F_EXCL),
])
def test_header_length_type_flags_seq(build, args, kind, flags):
    data = build(42, *args)
    length, mtype, mflags, seq, pid = header(data)
    assert (length, mtype, mflags, seq, pid) == (len(data), kind, flags, 42, 0)
    assert len(data) % 4 == 0


def test_set_link_up_mtu_master():
    data = rtnl.set_link(1, 7, True, 1400, 3)
    family, _pad, _type, index, flags, change = struct.unpack_from("=BBHiII", data, 16)
    assert (family, index, flags, change) == (0, 7, rtnl.IFF_UP, rtnl.IFF_UP)
    assert attributes(data, 32) == [(rtnl.IFLA_MTU, struct.pack("=I", 1400)), (rtnl.IFLA_MASTER, struct.pack("=I", 3))]


def test_set_link_leaves_state_alone_when_up_is_none():
    _f, _p, _t, _i, flags, change = struct.unpack_from("=BBHiII", rtnl.set_link(1, 7, None, 1500), 16)
    assert (flags, change) == (0, 0)


def test_add_bridge_names_kind_in_nested_linkinfo():
    data = rtnl.add_bridge(1, "gbr0")
    attrs = attributes(data, 32)
    assert attrs[0] == (rtnl.IFLA_IFNAME, b"gbr0\0")
    assert attrs[1][0] == rtnl.IFLA_LINKINFO | rtnl.NLA_F_NESTED
    assert attributes(attrs[1][1], 0) == [(rtnl.IFLA_INFO_KIND, b"bridge")]


def test_add_veth_peer_in_netns_with_mtu():
    data = rtnl.add_veth(1, "gv123", 1300, "eth0", 9)
    attrs = dict(attributes(data, 32))
    assert attrs[rtnl.IFLA_IFNAME] == b"gv123\0" and attrs[rtnl.IFLA_MTU] == struct.pack("=I", 1300)
    info = dict(attributes(attrs[rtnl.IFLA_LINKINFO | rtnl.NLA_F_NESTED], 0))
    assert info[rtnl.IFLA_INFO_KIND] == b"veth"
    data_attrs = dict(attributes(info[rtnl.IFLA_INFO_DATA | rtnl.NLA_F_NESTED], 0))
    peer = data_attrs[rtnl.VETH_INFO_PEER | rtnl.NLA_F_NESTED]
    assert peer[:16] == bytes(16)                                    # the peer's ifinfomsg
    assert dict(attributes(peer, 16)) == {rtnl.IFLA_IFNAME: b"eth0\0", rtnl.IFLA_NET_NS_FD: struct.pack("=I", 9),
                                          rtnl.IFLA_MTU: struct.pack("=I", 1300)}


def test_hairpin_is_a_bridge_family_protinfo_mode():
    data = rtnl.set_hairpin(1, 7)
    family, _p, _t, index, _f, _c = struct.unpack_from("=BBHiII", data, 16)
    assert (family, index) == (socket.AF_BRIDGE, 7)
    [(kind, payload)] = attributes(data, 32)
    assert kind == rtnl.IFLA_PROTINFO | rtnl.NLA_F_NESTED
    assert attributes(payload, 0) == [(rtnl.IFLA_BRPORT_MODE, b"\x01")]


@pytest.mark.parametrize("ip,family,flags", [
    ("10.1.2.3", socket.AF_INET, 0),
    ("fd00::3", socket.AF_INET6, rtnl.IFA_F_NODAD),
])
def test_add_address(ip, family, flags):
    addr = ipaddress.ip_address(ip)
    data = rtnl.add_address(1, 7, addr, 24)
    assert struct.unpack_from("=BBBBI", data, 16) == (family, 24, flags, 0, 7)
    assert attributes(data, 24) == [(rtnl.IFA_LOCAL, addr.packed), (rtnl.IFA_ADDRESS, addr.packed)]


@pytest.mark.parametrize("gw,family", [("10.1.2.1", socket.AF_INET), ("fd00::1", socket.AF_INET6)])
def test_default_route(gw, family):
    addr = ipaddress.ip_address(gw)
    data = rtnl.add_default_route(1, addr, 7)
    assert struct.unpack_from("=BBBBBBBBI", data, 16) == (family, 0, 0, 0, 254, 3, 0, 1, 0)
    assert attributes(data, 28) == [(rtnl.RTA_GATEWAY, addr.packed), (rtnl.RTA_OIF, struct.pack("=I", 7))]


def reply(kind, seq, body, flags=0):
    return struct.pack("=IHHII", 16 + len(body), kind, flags, seq, 0) + body + b"\0" * (-len(body) % 4)


def test_split_parses_link_and_address_replies_and_errors():
    link = struct.pack("=BBHiII", 0, 0, 1, 5, 0, 0) + rtnl.string(rtnl.IFLA_IFNAME, "gv1") + rtnl.u32(rtnl.IFLA_MASTER, 3)
    addr = struct.pack("=BBBBI", socket.AF_INET6, 64, 0, 0, 5) + rtnl.attr(rtnl.IFA_ADDRESS,
                                                                            ipaddress.ip_address("fd00::1").packed)
    data = reply(rtnl.RTM_NEWLINK, 4, link) + reply(rtnl.RTM_NEWADDR, 4, addr) + reply(
        rtnl.NLMSG_ERROR, 4, struct.pack("=i", -19) + bytes(16))
    msgs = rtnl.split(data)
    assert [m[0] for m in msgs] == [rtnl.RTM_NEWLINK, rtnl.RTM_NEWADDR, rtnl.NLMSG_ERROR]
    assert rtnl.parse_link(msgs[0][3]) == {"index": 5, "name": "gv1", "master": 3}
    assert rtnl.parse_address(msgs[1][3]) == {"index": 5, "family": socket.AF_INET6, "prefixlen": 64,
                                              "address": "fd00::1"}
    assert rtnl.error_code(msgs[2][3]) == 19


def test_split_refuses_a_truncated_message():
    with pytest.raises(ValueError, match="truncated"):
        rtnl.split(reply(rtnl.RTM_NEWLINK, 1, bytes(16))[:-4])


def test_error_names_the_request_and_errno():
    exc = rtnl.NetlinkError(17, "add bridge gbr0")
    assert exc.code == 17 and str(exc) == "add bridge gbr0: File exists"
