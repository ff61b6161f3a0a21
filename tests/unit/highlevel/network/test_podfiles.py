"""The pod's resolv.conf and hosts (pure)."""
from types import SimpleNamespace

import pytest
from gantry.highlevel.errors import InvalidArgument
from gantry.highlevel.network.podfiles import HOSTS_HEADER, hosts_file, resolv_conf

HOST = "nameserver 192.0.2.53\n"


@pytest.mark.parametrize("dns, want", [
    (None, HOST),
    (SimpleNamespace(servers=[], searches=[], options=[]), HOST),
    (SimpleNamespace(servers=["10.96.0.10", "fd00::a"], searches=["ns.svc.cluster.local", "svc.cluster.local"],
                     options=["ndots:5", "edns0"]),
     "search ns.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\nnameserver fd00::a\n"
     "options ndots:5 edns0\n"),
    (SimpleNamespace(servers=["8.8.8.8"], searches=[], options=[]), "nameserver 8.8.8.8\n"),
])
def test_resolv_conf(dns, want):
    assert resolv_conf(dns, HOST) == want


@pytest.mark.parametrize("dns, error", [
    (SimpleNamespace(servers=["dns.example"], searches=[], options=[]), "servers: 'dns.example' is not an IP"),
    (SimpleNamespace(servers=[], searches=["a b"], options=[]), "holds white space"),
    (SimpleNamespace(servers=[], searches=["d%d" % i for i in range(33)], options=[]), "more than 32"),
])
def test_resolv_conf_refuses(dns, error):
    with pytest.raises(InvalidArgument, match=error):
        resolv_conf(dns, HOST)


def test_hosts_file():
    assert hosts_file("web-0", ["10.87.0.5"]) == HOSTS_HEADER + "10.87.0.5\tweb-0\n"
    assert hosts_file("", ["10.87.0.5"]) == HOSTS_HEADER
    with pytest.raises(InvalidArgument):
        hosts_file("a b", [])
