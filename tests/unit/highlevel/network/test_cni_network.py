"""CNINetwork against fake plugins that log what they are given (no root, no real networking)."""
import json
import os
import sys

import pytest
from gantry.highlevel.errors import FailedPrecondition
from gantry.highlevel.network.api import PodNetwork, PortMapping
from gantry.highlevel.network.cni import CNIError, CNINetwork

# A fake plugin: logs its command, CNI_* env and stdin; ADD appends one ip to prevResult;
# fails with a CNI error object when the conf says "fail": COMMAND.
FAKE = """#!%s
import json, os, sys
conf = json.load(sys.stdin)
cmd = os.environ["CNI_COMMAND"]
with open(os.environ["FAKE_LOG"], "a") as f:
    f.write(json.dumps({"type": conf["type"], "cmd": cmd, "conf": conf,
                        "env": {k: v for k, v in os.environ.items() if k.startswith("CNI_")}}) + "\\n")
if conf.get("fail") == cmd:
    print(json.dumps({"cniVersion": conf["cniVersion"], "code": 7, "msg": "fake %%s failed" %% conf["type"],
                      "details": "because the test said so"}))
    sys.exit(1)
if cmd == "ADD":
    prev = conf.get("prevResult") or {"cniVersion": conf["cniVersion"], "interfaces": [], "ips": []}
    if "ip" in conf:
        prev["interfaces"].append({"name": os.environ["CNI_IFNAME"], "sandbox": os.environ["CNI_NETNS"]})
        prev["ips"].append({"address": conf["ip"], "interface": len(prev["interfaces"]) - 1})
    print(json.dumps(prev))
""" % sys.executable


@pytest.fixture
def env(tmp_path, monkeypatch):
    bins, conf, cache = tmp_path / "bin", tmp_path / "net.d", tmp_path / "cache"
    bins.mkdir()
    conf.mkdir()
    for name in ("fakebr", "fakepm"):
        (bins / name).write_text(FAKE)
        (bins / name).chmod(0o755)
    log = tmp_path / "log"
    monkeypatch.setenv("FAKE_LOG", str(log))

    def write_conf(plugins, version="1.0.0", name="10-net.conflist"):
        (conf / name).write_text(json.dumps({"cniVersion": version, "name": "testnet", "plugins": plugins}))

    def calls():
        if not log.exists():
            return []
        lines = [json.loads(x) for x in log.read_text().splitlines()]
        log.unlink()
        return lines

    net = CNINetwork(str(conf), [str(tmp_path / "nobin"), str(bins)], str(cache))
    return net, write_conf, calls, conf, bins


PLUGINS = [{"type": "fakebr", "ip": "10.9.0.5/24"}, {"type": "fakepm", "capabilities": {"portMappings": True}}]


def pod(pid="sb1"):
    return PodNetwork(id=pid, name="web", namespace="ns1", uid="u1", netns_path="/proc/self/ns/net",
                      port_mappings=[PortMapping("TCP", 80, 8080), PortMapping("TCP", 81, 0)])


def test_add_chains_results_and_passes_args(env):
    net, write_conf, calls, _, _ = env
    write_conf(PLUGINS)
    assert net.setup(pod()).ips == ["10.9.0.5"]
    br, pm = calls()
    assert (br["cmd"], pm["cmd"]) == ("ADD", "ADD")
    assert br["env"]["CNI_ARGS"] == ("IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web;"
                                     "K8S_POD_INFRA_CONTAINER_ID=sb1;K8S_POD_UID=u1")
    assert br["env"]["CNI_CONTAINERID"] == "sb1" and br["env"]["CNI_IFNAME"] == "eth0"
    assert br["env"]["CNI_NETNS"] == "/proc/self/ns/net"
    assert "prevResult" not in br["conf"] and "runtimeConfig" not in br["conf"]
    assert pm["conf"]["prevResult"]["ips"] == [{"address": "10.9.0.5/24", "interface": 0}]
    assert pm["conf"]["runtimeConfig"] == {"portMappings": [
        {"hostPort": 8080, "containerPort": 80, "protocol": "tcp", "hostIP": ""}]}


def test_del_uses_the_cache_after_the_conf_changed_and_a_restart(env):
    net, write_conf, calls, conf, _ = env
    write_conf(PLUGINS)
    net.setup(pod())
    calls()
    for name in os.listdir(conf):
        os.unlink(conf / name)                       # conf gone: DEL still knows what ADD used
    again = CNINetwork(net.conf_dir, net.bin_dirs, net.cache.directory)      # a gantryd restart
    again.teardown("sb1")
    pm, br = calls()
    assert (pm["type"], pm["cmd"], br["type"], br["cmd"]) == ("fakepm", "DEL", "fakebr", "DEL")
    assert br["conf"]["prevResult"]["ips"][0]["address"] == "10.9.0.5/24"
    again.teardown("sb1")                            # idempotent
    assert calls() == [] and again.cache.pod_ids() == set()


def test_del_without_prev_result_for_old_spec_and_without_netns_when_gone(env):
    net, write_conf, calls, _, _ = env
    write_conf(PLUGINS, version="0.3.1")
    net.setup(pod())
    calls()
    entry = net.cache.read("sb1")
    net.cache.write("sb1", dict(entry, netns="/nonexistent/ns"))
    net.teardown("sb1")
    for call in calls():
        assert "prevResult" not in call["conf"] and call["env"]["CNI_NETNS"] == ""


def test_plugin_error_carries_its_message_and_is_undone(env):
    net, write_conf, calls, _, _ = env
    write_conf([PLUGINS[0], dict(PLUGINS[1], fail="ADD")])
    with pytest.raises(CNIError, match="fake fakepm failed: because the test said so"):
        net.setup(pod())
    assert [(c["type"], c["cmd"]) for c in calls()] == [
        ("fakebr", "ADD"), ("fakepm", "ADD"), ("fakepm", "DEL"), ("fakebr", "DEL")]
    assert net.cache.pod_ids() == set()


def test_failed_del_keeps_the_cache_for_a_retry(env):
    net, write_conf, calls, _, _ = env
    write_conf([dict(PLUGINS[0], fail="DEL")])
    net.setup(pod())
    with pytest.raises(CNIError, match="fakebr DEL"):
        net.teardown("sb1")
    assert net.cache.pod_ids() == {"sb1"}


def test_check_sends_the_cached_result(env):
    net, write_conf, calls, _, _ = env
    write_conf(PLUGINS)
    net.setup(pod())
    calls()
    net.check("sb1")
    assert [(c["cmd"], c["conf"]["prevResult"]["ips"][0]["address"]) for c in calls()] == [
        ("CHECK", "10.9.0.5/24"), ("CHECK", "10.9.0.5/24")]
    with pytest.raises(FailedPrecondition, match="no cached result"):
        net.check("other")


def test_status_says_why_not_ready(env):
    net, write_conf, _, _, bins = env
    ready, reason, message = net.status()
    assert (ready, reason) == (False, "NetworkPluginNotReady") and "no network config in" in message
    write_conf(PLUGINS + [{"type": "absent"}])
    ready, _, message = net.status()
    assert not ready and message.startswith("cni plugin absent not found in ")
    write_conf(PLUGINS)
    assert net.status() == (True, "", "")
    with pytest.raises(FailedPrecondition, match="no network config"):
        CNINetwork(str(bins / "empty"), [], str(bins / "c")).setup(pod())


def test_recover_releases_pods_that_are_gone(env):
    net, write_conf, calls, _, _ = env
    write_conf(PLUGINS)
    net.setup(pod("a"))
    net.setup(pod("b"))
    calls()
    stale = os.path.join(net.cache.directory, "c.json.tmp.4242")   # a writer killed mid-write
    with open(stale, "w") as f:
        f.write('{"kind": "gantry-cni-ca')
    net.recover({"a"})
    assert {c["env"]["CNI_CONTAINERID"] for c in calls()} == {"b"}
    assert net.cache.pod_ids() == {"a"} and sorted(os.listdir(net.cache.directory)) == ["a.json"]


# found by tests/fuzz (fuzz_cni): a cache file of absurd nesting raised RecursionError out of read()
# (corpus/cni/regress-cache-deep-nesting)
def test_cache_read_of_deeply_nested_file_is_internal(tmp_path):
    from gantry.highlevel.errors import Internal
    from gantry.highlevel.network.cni_cache import CNICache

    (tmp_path / "pod.json").write_bytes(b"[" * 100000)
    with pytest.raises(Internal, match="read cni cache .*pod.json"):
        CNICache(str(tmp_path)).read("pod")
