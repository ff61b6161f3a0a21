"""CNI results and errors (pure), in the shapes spec 0.3.1, 0.4.0 and 1.0.0 plugins print."""
import json

import pytest
from gantry.highlevel.errors import Internal
from gantry.highlevel.network import cni_result

V100 = {"cniVersion": "1.0.0",
        "interfaces": [{"name": "cni0", "mac": "aa"}, {"name": "veth1", "mac": "bb"},
                       {"name": "eth0", "mac": "cc", "sandbox": "/run/netns/x"}],
        "ips": [{"address": "fd00:9::5/64", "gateway": "fd00:9::1", "interface": 2},
                {"address": "10.9.0.5/24", "gateway": "10.9.0.1", "interface": 2},
                {"address": "10.9.0.1/24", "interface": 0}]}
V040 = {"cniVersion": "0.4.0", "ips": [{"version": "4", "address": "10.9.0.6/24", "gateway": "10.9.0.1"}]}
V031_OTHER_IF = {"cniVersion": "0.3.1", "interfaces": [{"name": "net1", "sandbox": "/x"}],
                 "ips": [{"version": "4", "address": "10.9.0.7/24", "interface": 0}]}


@pytest.mark.parametrize("result, want", [
    (V100, ["10.9.0.5", "fd00:9::5"]),              # IPv4 first; the host bridge's address is not the pod's
    (V040, ["10.9.0.6"]),                           # no interfaces: every ip
    (V031_OTHER_IF, []),                            # only the CNI_IFNAME interface counts
    ({"cniVersion": "1.0.0"}, []),
])
def test_pod_ips(result, want):
    got, ips = cni_result.parse_result("t", json.dumps(result).encode(), "eth0")
    assert got == result and ips == want


@pytest.mark.parametrize("data, error", [
    (b"not json", "t: result is not JSON"),
    (b"[1]", "t: result is not a JSON object"),
    (b'{"ips": [{"gateway": "1.2.3.4"}]}', "t: result ip entry without address"),
    (b'{"ips": [{"address": "300.1.1.1/8"}]}', "t: result ip '300.1.1.1/8'"),
])
def test_bad_results(data, error):
    with pytest.raises(Internal, match=error):
        cni_result.parse_result("t", data, "eth0")


@pytest.mark.parametrize("stdout, stderr, rc, want", [
    (b'{"cniVersion":"1.0.0","code":11,"msg":"failed to allocate","details":"range full"}', b"", 1,
     "p: failed to allocate: range full (CNI error code 11)"),
    (b'{"msg":"no bridge"}', b"", 1, "p: no bridge"),
    (b"", b"panic: boom\n", 2, "p: exit status 2: panic: boom"),
    (b"", b"", 1, "p: exit status 1"),
])
def test_error_message(stdout, stderr, rc, want):
    assert cni_result.error_message("p", stdout, stderr, rc) == want


# found by tests/fuzz (fuzz_cni): a non-object interface entry raised AttributeError, JSON true was taken
# as interface index 1, and absurd nesting raised RecursionError (corpus/cni/regress-*)
@pytest.mark.parametrize("data, error", [
    (b'{"interfaces": [["eth0"]], "ips": [{"address": "10.0.0.1/24", "interface": 0}]}',
     r"t: result interfaces\[0\] is not an object"),
    (b"[" * 100000, "t: result is not JSON"),
])
def test_hostile_results_are_internal_errors(data, error):
    with pytest.raises(Internal, match=error):
        cni_result.parse_result("t", data, "eth0")


def test_bool_interface_index_is_no_index():
    doc = {"interfaces": [{"name": "eth0", "sandbox": "/n"}, {"name": "veth0"}],
           "ips": [{"address": "10.0.0.1/24", "interface": True}]}
    assert cni_result.parse_result("t", json.dumps(doc).encode(), "eth0")[1] == ["10.0.0.1"]


def test_error_message_of_deeply_nested_stdout():
    assert cni_result.error_message("p", b"[" * 100000, b"", 1).startswith("p: exit status 1: [[[")
