"""Routes that shadow a pod CIDR: /proc/net/route parsing and the overlap rule, table-driven."""
from ipaddress import IPv4Network, IPv6Network

import pytest
from gantry.highlevel.network import routes

HEADER = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"


def row(iface, dest_hex, mask_hex):
    return "%s\t%s\t00000000\t0001\t0\t0\t0\t%s\t0\t0\t0\n" % (iface, dest_hex, mask_hex)


def test_parse_reads_host_byte_order_hex():
    text = HEADER + row("eth0", "00000000", "00000000") + row("gantry0", "0000570A", "0000FFFF") + \
        row("br1", "00FA570A", "00FFFFFF") + "short line\n" + row("bad", "zz", "00FFFFFF")
    assert routes.parse(text) == [("eth0", IPv4Network("0.0.0.0/0")), ("gantry0", IPv4Network("10.87.0.0/16")),
                                  ("br1", IPv4Network("10.87.250.0/24"))]


@pytest.mark.parametrize("route, shadows", [
    (("old0", "10.1.2.0/24"), True),        # the same CIDR on another (maybe down) bridge
    (("old0", "10.1.2.128/25"), True),      # a longer prefix takes half of the pods
    (("eth0", "10.1.2.7/32"), True),
    (("eth0", "10.0.0.0/8"), False),        # shorter: the bridge's /24 wins
    (("eth0", "0.0.0.0/0"), False),         # the default route
    (("old0", "10.1.3.0/24"), False),       # beside, not over
    (("gt0", "10.1.2.0/24"), False),        # the bridge's own route
])
def test_shadowing(route, shadows):
    iface, net = route
    found = routes.shadowing([(iface, IPv4Network(net))], IPv4Network("10.1.2.0/24"), "gt0")
    assert found == ([(iface, IPv4Network(net))] if shadows else [])


def test_shadowing_routes_reads_the_file(tmp_path):
    f = tmp_path / "route"
    f.write_text(HEADER + row("old0", "0002010A", "00FFFFFF") + row("gt0", "0002010A", "00FFFFFF"))
    assert routes.shadowing_routes(IPv4Network("10.1.2.0/24"), "gt0", str(f)) == \
        [("old0", IPv4Network("10.1.2.0/24"))]
    assert routes.shadowing_routes(IPv4Network("10.1.2.0/24"), "gt0", str(tmp_path / "missing")) == []
    assert routes.shadowing_routes(IPv6Network("fd00:1::/64"), "gt0", str(f)) == []
