"""CNI configuration (pure): which file, parsing, checks, each plugin's stdin."""
import json

import pytest
from gantry.highlevel.errors import FailedPrecondition
from gantry.highlevel.network import cni_conf


@pytest.mark.parametrize("names, want", [
    (["99-b.conflist", "10-a.conf", "README"], "10-a.conf"),
    (["b.json", "a.conflist"], "a.conflist"),
    ([".hidden.conflist", "z.conflist"], "z.conflist"),
    (["README", "x.yaml"], None),
    ([], None),
])
def test_pick_conf_file(names, want):
    assert cni_conf.pick_conf_file(names) == want


def test_conflist_parsed():
    conf = cni_conf.parse_conf("/d/a.conflist", json.dumps(
        {"cniVersion": "1.0.0", "name": "net", "plugins": [{"type": "bridge"}, {"type": "portmap"}]}).encode())
    assert conf == {"cniVersion": "1.0.0", "name": "net", "disableCheck": False,
                    "plugins": [{"type": "bridge"}, {"type": "portmap"}]}


def test_single_plugin_conf_becomes_a_list():
    raw = {"cniVersion": "0.4.0", "name": "net", "type": "bridge", "bridge": "x"}
    conf = cni_conf.parse_conf("/d/a.conf", json.dumps(raw).encode())
    assert conf["plugins"] == [raw] and conf["cniVersion"] == "0.4.0"


@pytest.mark.parametrize("doc, error", [
    (b"{nope", "not JSON"),
    (b"[]", "not a JSON object"),
    (b'{"cniVersion": "1.0.0", "plugins": [{"type": "bridge"}]}', "no network name"),
    (b'{"cniVersion": "2.0.0", "name": "n", "plugins": [{"type": "bridge"}]}', "cniVersion '2.0.0' is not one of"),
    (b'{"cniVersion": "1.0.0", "name": "n", "plugins": []}', "no plugins"),
    (b'{"cniVersion": "1.0.0", "name": "n", "plugins": [{"type": "../bin/sh"}]}', r"plugins\[0\]: no valid type"),
    (b'{"cniVersion": "1.0.0", "name": "n", "plugins": [{}]}', r"plugins\[0\]: no valid type"),
])
def test_bad_conf_names_file_and_field(doc, error):
    with pytest.raises(FailedPrecondition, match="cni config /d/x.conflist: " + error):
        cni_conf.parse_conf("/d/x.conflist", doc)


def test_plugin_stdin_injects_name_version_prev_result_and_declared_capabilities_only():
    conf = {"cniVersion": "1.0.0", "name": "net", "plugins": []}
    plugin = {"type": "portmap", "capabilities": {"portMappings": True, "bandwidth": False}, "snat": True}
    caps = {"portMappings": [{"hostPort": 8080}], "bandwidth": {"ingressRate": 1}, "dns": {"servers": []}}
    doc = json.loads(cni_conf.plugin_stdin(conf, plugin, {"ips": []}, caps))
    assert doc == {"type": "portmap", "capabilities": {"portMappings": True, "bandwidth": False}, "snat": True,
                   "name": "net", "cniVersion": "1.0.0", "prevResult": {"ips": []},
                   "runtimeConfig": {"portMappings": [{"hostPort": 8080}]}}
    first = json.loads(cni_conf.plugin_stdin(conf, {"type": "bridge"}, None, caps))
    assert "prevResult" not in first and "runtimeConfig" not in first


@pytest.mark.parametrize("version, wanted, want", [
    ("1.0.0", "0.4.0", True), ("0.4.0", "0.4.0", True), ("0.3.1", "0.4.0", False)])
def test_version_at_least(version, wanted, want):
    assert cni_conf.version_at_least(version, wanted) is want


# found by tests/fuzz (fuzz_cni): capabilities as a list passed the checks and plugin_stdin raised
# AttributeError; absurd nesting raised RecursionError (corpus/cni/regress-*)
@pytest.mark.parametrize("data, error", [
    (b'{"cniVersion": "1.0.0", "name": "n", "type": "portmap", "capabilities": ["portMappings"]}',
     r"plugins\[0\].capabilities: not an object of booleans"),
    (b'{"cniVersion": "1.0.0", "name": "n", "type": "portmap", "capabilities": {"portMappings": "yes"}}',
     r"plugins\[0\].capabilities: not an object of booleans"),
    (b"{\"a\":" * 100000, "not JSON"),
])
def test_hostile_confs_are_refused(data, error):
    with pytest.raises(FailedPrecondition, match=error):
        cni_conf.parse_conf("/d/x.conf", data)
