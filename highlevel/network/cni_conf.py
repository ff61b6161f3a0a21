"""CNI network configuration (pure): choose, parse and check a conf, and build each plugin's stdin.

As libcni: the configuration directory's files ending in .conflist, .conf or
.json are sorted by name and the first one is used; a .conf/.json holding a
single plugin becomes a one-plugin list.  Supported spec versions are those
the plugins on this machine speak (0.3.0 to 1.0.0).  A plugin's stdin is its
own object plus the list's ``name`` and ``cniVersion``, the previous plugin's
result as ``prevResult``, and as ``runtimeConfig`` the capability arguments it
declares in ``capabilities`` (portMappings, dns, ipRanges, bandwidth, ...).
"""
import json

from ..errors import FailedPrecondition

CONF_EXTENSIONS = (".conflist", ".conf", ".json")
SUPPORTED_VERSIONS = ("0.3.0", "0.3.1", "0.4.0", "1.0.0")


def pick_conf_file(names):
    """The file libcni would load first from a directory listing, or None."""
    candidates = sorted(n for n in names if n.endswith(CONF_EXTENSIONS) and not n.startswith("."))
    return candidates[0] if candidates else None


def parse_conf(source, data):
    """File bytes -> {"cniVersion", "name", "plugins": [...], "disableCheck"}; errors name ``source``."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:   # RecursionError: absurd nesting
        raise FailedPrecondition("cni config %s: not JSON: %s" % (source, exc)) from exc
    if not isinstance(doc, dict):
        raise FailedPrecondition("cni config %s: not a JSON object" % source)
    if "plugins" in doc or source.endswith(".conflist"):
        plugins = doc.get("plugins")
    else:
        plugins = [doc]
    conf = {"cniVersion": doc.get("cniVersion", ""), "name": doc.get("name", ""),
            "plugins": plugins, "disableCheck": bool(doc.get("disableCheck", False))}
    _check(source, conf)
    return conf


def _check(source, conf):
    if not isinstance(conf["name"], str) or not conf["name"]:
        raise FailedPrecondition("cni config %s: no network name" % source)
    if conf["cniVersion"] not in SUPPORTED_VERSIONS:
        raise FailedPrecondition("cni config %s: cniVersion %r is not one of %s"
                                 % (source, conf["cniVersion"], ", ".join(SUPPORTED_VERSIONS)))
    if not isinstance(conf["plugins"], list) or not conf["plugins"]:
        raise FailedPrecondition("cni config %s: no plugins" % source)
    for i, plugin in enumerate(conf["plugins"]):
        kind = plugin.get("type") if isinstance(plugin, dict) else None
        if not isinstance(kind, str) or not kind or "/" in kind or kind in (".", ".."):
            raise FailedPrecondition("cni config %s: plugins[%d]: no valid type" % (source, i))
        capabilities = plugin.get("capabilities")
        if capabilities is not None and not (isinstance(capabilities, dict)
                                             and all(isinstance(v, bool) for v in capabilities.values())):
            raise FailedPrecondition("cni config %s: plugins[%d].capabilities: not an object of booleans "
                                     "(as {\"portMappings\": true})" % (source, i))


def version_at_least(version, wanted):
    return tuple(int(p) for p in version.split(".")) >= tuple(int(p) for p in wanted.split("."))


def plugin_stdin(conf, plugin, prev_result, capability_args):
    """The JSON bytes a plugin reads for one command."""
    doc = dict(plugin, name=conf["name"], cniVersion=conf["cniVersion"])
    doc.pop("runtimeConfig", None)
    wanted = {k for k, on in (plugin.get("capabilities") or {}).items() if on}
    runtime = {k: v for k, v in capability_args.items() if k in wanted}
    if runtime:
        doc["runtimeConfig"] = runtime
    if prev_result is not None:
        doc["prevResult"] = prev_result
    else:
        doc.pop("prevResult", None)
    return json.dumps(doc, sort_keys=True).encode()
