"""highlevel/network/cni_result.py, cni_conf.py, cni_cache.py and CNINetwork's conf loading.

The first byte picks what the rest is:

- 0: a plugin's stdout after ADD (``parse_result``, CNI_IFNAME from the second byte):
  only Internal escapes; the pod IPs are valid addresses named by the result's
  ``ips``, IPv4 first;
- 1: the stdout of a failed plugin (``error_message``): never raises, names the plugin;
- 2, 3: a .conf / .conflist file in a scratch conf dir, loaded by ``CNINetwork.load_conf``
  and ``status()`` (no plugin binary there, so never ready): only FailedPrecondition
  escapes; a loaded conf has a name, a supported version and typed plugins, and every
  plugin's stdin is a JSON object carrying the list's name and version, ``prevResult``
  and only the capability arguments the plugin declares;
- 4: a cache entry left on disk (``CNICache.read``): only Internal escapes.

No plugin is run; nothing outside the scratch root changes."""
import ipaddress
import json
import os

from gantry.highlevel.errors import FailedPrecondition, Internal
from gantry.highlevel.network import cni_conf, cni_result
from gantry.highlevel.network.cni import CNINetwork

from .harness import Target
from .scratch import Scratch

IFNAMES = ("eth0", "net1", "")
CAPABILITY_ARGS = {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp", "hostIP": ""}],
                   "dns": {"servers": ["10.0.0.10"], "searches": [], "options": []},
                   "ipRanges": [[{"subnet": "10.88.0.0/16"}]], "bandwidth": {"ingressRate": 1000},
                   "cgroupPath": "/gantry/pod"}
_scratch = None
_net = None


def setup():
    global _scratch, _net
    _scratch = Scratch()
    for d in ("net.d", "bin", "cache"):
        os.mkdir(_scratch.path(d))
    _net = CNINetwork(_scratch.path("net.d"), [_scratch.path("bin")], _scratch.path("cache"))


def _result(ifname, body):
    result, ips = cni_result.parse_result("fuzz", body, ifname)
    assert isinstance(result, dict)
    addresses = set()
    for entry in result.get("ips") or []:     # entries of other interfaces are not checked by pod_ips
        try:
            addresses.add(str(ipaddress.ip_interface(entry["address"]).ip))
        except ValueError:
            pass
    versions = [ipaddress.ip_address(ip).version for ip in ips]
    assert versions == sorted(versions), ips
    assert set(ips) <= addresses, (ips, addresses)


def _conf(name, body):
    path = os.path.join(_net.conf_dir, name)
    with open(path, "wb") as f:
        f.write(body)
    try:
        ready, reason, message = _net.status()
        assert not ready and reason == "NetworkPluginNotReady" and message.startswith("cni ")
        found, conf = _net.load_conf()
        assert found == path
        assert conf["name"] and isinstance(conf["name"], str) and conf["cniVersion"] in cni_conf.SUPPORTED_VERSIONS
        assert cni_conf.version_at_least(conf["cniVersion"], "0.3.0")
        prev = {"cniVersion": conf["cniVersion"], "ips": []}
        for plugin in conf["plugins"]:
            doc = json.loads(cni_conf.plugin_stdin(conf, plugin, prev, CAPABILITY_ARGS))
            assert doc["name"] == conf["name"] and doc["cniVersion"] == conf["cniVersion"]
            assert doc["type"] == plugin["type"] and doc["prevResult"] == prev
            declared = {k for k, on in (plugin.get("capabilities") or {}).items() if on}
            assert set(doc.get("runtimeConfig", {})) == declared & set(CAPABILITY_ARGS)
    finally:
        os.unlink(path)


def _cache(body):
    with open(os.path.join(_net.cache.directory, "pod.json"), "wb") as f:
        f.write(body)
    entry = _net.cache.read("pod")
    assert isinstance(entry, dict) and entry["kind"] == "gantry-cni-cache-v1"


def check(data):
    if len(data) < 2:
        return
    mode, body = data[0] % 5, data[2:]
    try:
        if mode == 0:
            _result(IFNAMES[data[1] % len(IFNAMES)], body)
        elif mode == 1:
            text = cni_result.error_message("cni plugin x ADD", body, bytes(data[1:2]), data[1] or 1)
            assert isinstance(text, str) and text.startswith("cni plugin x ADD: ")
        elif mode in (2, 3):
            _conf("10-fuzz" + (".conf", ".conflist")[mode - 2], body)
        else:
            _cache(body)
    finally:
        _scratch.assert_outside_unchanged()


TARGET = Target("cni", check, ("gantry.highlevel.network.cni_result", "gantry.highlevel.network.cni_conf",
                               "gantry.highlevel.network.cni_cache"),
                allowed=(Internal, FailedPrecondition), setup=setup)
