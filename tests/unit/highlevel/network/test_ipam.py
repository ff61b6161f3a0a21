"""Built-in bridge IPAM: the pure address choice and the sqlite store (no root needed)."""
import ipaddress
import threading

import pytest
from gantry.highlevel.errors import InvalidArgument, ResourceExhausted
from gantry.highlevel.network.ipam import gateway, parse_subnet, pick_address
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


@pytest.mark.parametrize("cidr, error", [
    ("10.87.0.0/30", "too small"), ("fd00::/64", "only IPv4"), ("nope", "not a CIDR"),
])
def test_parse_subnet_refuses(cidr, error):
    with pytest.raises(InvalidArgument, match=error):
        parse_subnet(cidr)


def test_gateway_is_first_host_and_subnet_is_normalised():
    net = parse_subnet("10.87.3.9/16")
    assert str(net) == "10.87.0.0/16" and str(gateway(net)) == "10.87.0.1"


def test_store_never_hands_out_one_address_twice_and_survives_reopen(tmp_path):
    path = str(tmp_path / "ipam.db")
    store = NetworkStore(path)
    a = store.reserve("pod-a", NET, {"veth": "gva"})
    b = store.reserve("pod-b", NET, {"veth": "gvb"})
    assert (a["ip"], b["ip"]) == ("10.87.0.2", "10.87.0.3")
    assert store.record("pod-a") == {"veth": "gva", "ip": "10.87.0.2"}
    store.close()                                  # a restart (kill -9 leaves the same committed rows)
    store = NetworkStore(path)
    assert store.addresses() == {"10.87.0.2": "pod-a", "10.87.0.3": "pod-b"}
    assert store.reserve("pod-c", NET, {})["ip"] == "10.87.0.4"
    store.release("pod-a")
    assert store.record("pod-a") is None and "10.87.0.2" not in store.addresses()
    assert store.pod_ids() == {"pod-b", "pod-c"}


def test_store_freed_addresses_come_back(tmp_path):
    store = NetworkStore(str(tmp_path / "ipam.db"))
    for i in range(5):
        store.reserve("p%d" % i, NET, {})
    with pytest.raises(ResourceExhausted):
        store.reserve("p5", NET, {})
    assert store.record("p5") is None              # the failed transaction wrote nothing
    store.release("p2")
    assert store.reserve("p5", NET, {})["ip"] == "10.87.0.4"


def test_store_concurrent_reservations_are_distinct(tmp_path):
    store = NetworkStore(str(tmp_path / "ipam.db"))
    net = parse_subnet("10.87.0.0/24")
    got = []

    def worker(n):
        for i in range(20):
            got.append(store.reserve("t%d-%d" % (n, i), net, {})["ip"])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 80 and len(set(got)) == 80
