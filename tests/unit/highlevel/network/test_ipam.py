"""Built-in bridge IPAM: the pure address choice and the sqlite store (no root needed)."""
import ipaddress
import threading

import pytest
from gantry.highlevel.errors import InvalidArgument, ResourceExhausted
from gantry.highlevel.network.ipam import gateway, parse_subnet, pick_address, split_pod_cidrs
from gantry.highlevel.network.store import NetworkStore

ip = ipaddress.ip_address
NET = parse_subnet("10.87.0.0/29")          # .1 gateway, .2-.6 pods, .7 broadcast


@pytest.mark.parametrize("used, last, want", [
    (set(), None, "10.87.0.2"),
    ({"10.87.0.2"}, None, "10.87.0.3"),
    (set(), "10.87.0.2", "10.87.0.3"),            # round-robin after the last one handed out
    (set(), "10.87.0.6", "10.87.0.2"),            # wraps, never the gateway or the network address
    ({"10.87.0.2", "10.87.0.3"}, "10.87.0.6", "10.87.0.4"),
    (set(), "10.99.0.1", "10.87.0.2"),            # a cursor outside the subnet (CIDR changed) restarts
])
def test_pick_address(used, last, want):
    got = pick_address(NET, {ip(u) for u in used}, ip(last) if last else None)
    assert str(got) == want


def test_pick_address_never_gateway_broadcast_or_network():
    seen = set()
    for _ in range(5):
        seen.add(pick_address(NET, seen))
    assert {str(a) for a in seen} == {"10.87.0.%d" % i for i in range(2, 7)}
    with pytest.raises(ResourceExhausted, match="10.87.0.0/29: all 5 addresses are in use"):
        pick_address(NET, seen)


@pytest.mark.parametrize("cidr, version, error", [
    ("10.87.0.0/30", 4, "too small"), ("fd00::/64", 4, "not an IPv4 CIDR"), ("nope", 4, "not a CIDR"),
    ("10.0.0.0/8", 6, "not an IPv6 CIDR"), ("fd00::/126", 6, "too small"),
])
def test_parse_subnet_refuses(cidr, version, error):
    with pytest.raises(InvalidArgument, match=error):
        parse_subnet(cidr, version=version)


@pytest.mark.parametrize("text, want", [
    ("10.1.0.0/24", ("10.1.0.0/24", None)),
    ("fd00:1::/64", (None, "fd00:1::/64")),
    ("10.1.0.0/24, fd00:1::/64", ("10.1.0.0/24", "fd00:1::/64")),
    ("", (None, None)),
])
def test_split_pod_cidrs(text, want):
    got = split_pod_cidrs(text)
    assert tuple(str(n) if n else None for n in got) == want


def test_split_pod_cidrs_refuses_two_of_a_family():
    with pytest.raises(InvalidArgument, match="more than one IPv4 CIDR"):
        split_pod_cidrs("10.1.0.0/24,10.2.0.0/24")


def test_ipv6_addresses_and_dual_stack_reservation(tmp_path):
    v6 = parse_subnet("fd87:1::/64", version=6)
    assert str(gateway(v6)) == "fd87:1::1"
    assert str(pick_address(v6, set())) == "fd87:1::2"
    store = NetworkStore(str(tmp_path / "ipam.db"))
    assert store.reserve("a", [NET, v6], {})["ips"] == ["10.87.0.2", "fd87:1::2"]
    assert store.reserve("b", [NET, v6], {})["ips"] == ["10.87.0.3", "fd87:1::3"]
    store.release("a")
    assert store.addresses() == {"10.87.0.3": "b", "fd87:1::3": "b"}


def test_gateway_is_first_host_and_subnet_is_normalised():
    net = parse_subnet("10.87.3.9/16")
    assert str(net) == "10.87.0.0/16" and str(gateway(net)) == "10.87.0.1"


def test_store_never_hands_out_one_address_twice_and_survives_reopen(tmp_path):
    path = str(tmp_path / "ipam.db")
    store = NetworkStore(path)
    a = store.reserve("pod-a", [NET], {"veth": "gva"})
    b = store.reserve("pod-b", [NET], {"veth": "gvb"})
    assert (a["ips"], b["ips"]) == (["10.87.0.2"], ["10.87.0.3"])
    assert store.record("pod-a") == {"veth": "gva", "ips": ["10.87.0.2"]}
    store.close()                                  # a restart (kill -9 leaves the same committed rows)
    store = NetworkStore(path)
    assert store.addresses() == {"10.87.0.2": "pod-a", "10.87.0.3": "pod-b"}
    assert store.reserve("pod-c", [NET], {})["ips"] == ["10.87.0.4"]
    store.release("pod-a")
    assert store.record("pod-a") is None and "10.87.0.2" not in store.addresses()
    assert store.pod_ids() == {"pod-b", "pod-c"}


def test_store_freed_addresses_come_back(tmp_path):
    store = NetworkStore(str(tmp_path / "ipam.db"))
    for i in range(5):
        store.reserve("p%d" % i, [NET], {})
    with pytest.raises(ResourceExhausted):
        store.reserve("p5", [NET], {})
    assert store.record("p5") is None              # the failed transaction wrote nothing
    store.release("p2")
    assert store.reserve("p5", [NET], {})["ips"] == ["10.87.0.4"]


def test_store_concurrent_reservations_are_distinct(tmp_path):
    store = NetworkStore(str(tmp_path / "ipam.db"))
    net = parse_subnet("10.87.0.0/24")
    got = []

    def worker(n):
        for i in range(20):
            got.append(store.reserve("t%d-%d" % (n, i), [net], {})["ips"][0])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 80 and len(set(got)) == 80
