"""CNI plugin output (pure): results of spec 0.3.x/0.4.0/1.0.0 and error objects.

A result holds ``interfaces`` [{name, mac, sandbox}] and ``ips`` [{address
"10.1.2.3/24", gateway, interface (index into interfaces)}]; 0.3.x/0.4.0 ips
also carry ``version``.  The pod's IPs are those on the interface inside the
sandbox named CNI_IFNAME (all of them when the result names no interfaces),
IPv4 first, as containerd orders them.  An error is
{"code", "msg", "details"} on stdout with a non-zero exit.
"""
import ipaddress
import json

from ..errors import Internal


def parse_result(source, data, ifname):
    """Plugin stdout -> (result dict, [ip strings])."""
    try:
        result = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:   # RecursionError: absurd nesting
        raise Internal("%s: result is not JSON: %s" % (source, exc)) from exc
    if not isinstance(result, dict):
        raise Internal("%s: result is not a JSON object" % source)
    return result, pod_ips(source, result, ifname)


def pod_ips(source, result, ifname):
    interfaces = result.get("interfaces") or []
    ips = result.get("ips") or []
    if not isinstance(ips, list) or not isinstance(interfaces, list):
        raise Internal("%s: result ips/interfaces are not lists" % source)
    picked = []
    for entry in ips:
        if not isinstance(entry, dict) or not isinstance(entry.get("address"), str):
            raise Internal("%s: result ip entry without address: %r" % (source, entry))
        index = entry.get("interface")
        if type(index) is int and 0 <= index < len(interfaces):      # not a bool: true is no index
            iface = interfaces[index]
            if not isinstance(iface, dict):
                raise Internal("%s: result interfaces[%d] is not an object: %r" % (source, index, iface))
            if iface.get("name") != ifname or not iface.get("sandbox"):
                continue
        try:
            picked.append(ipaddress.ip_interface(entry["address"]).ip)
        except ValueError as exc:
            raise Internal("%s: result ip %r: %s" % (source, entry["address"], exc)) from exc
    picked.sort(key=lambda ip: ip.version)          # stable: IPv4 first, plugin order within a family
    return [str(ip) for ip in picked]


def error_message(source, stdout, stderr, returncode):
    """The message of a failed plugin: its JSON msg and details, else its stderr/exit status."""
    try:
        doc = json.loads(stdout)
    except (ValueError, UnicodeDecodeError, RecursionError):
        doc = None
    if isinstance(doc, dict) and doc.get("msg"):
        text = str(doc["msg"])
        if doc.get("details"):
            text += ": " + str(doc["details"])
        if doc.get("code") is not None:
            text += " (CNI error code %s)" % doc["code"]
        return "%s: %s" % (source, text)
    tail = (stderr or b"").decode(errors="replace").strip() or (stdout or b"").decode(errors="replace").strip()
    return "%s: exit status %d%s" % (source, returncode, (": " + tail[-2000:]) if tail else "")
