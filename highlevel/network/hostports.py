"""Host ports and NAT of the built-in bridge as iptables-restore input (pure).

Chains, all owned by gantryd; ``T`` is a tag derived from the bridge name, so
two gantryds (or a test) with different bridges never touch each other's::

    nat  PREROUTING  -m addrtype --dst-type LOCAL -> GANTRY-T-HOSTPORTS
    nat  OUTPUT      -m addrtype --dst-type LOCAL -> GANTRY-T-HOSTPORTS
    nat  GANTRY-T-HOSTPORTS   one jump per pod with host ports -> GANTRY-T-<pod hash>
    nat  GANTRY-T-<pod hash>  per mapping: mark hairpin (from the pod subnet) and
                              loopback (127/8) sources, then DNAT to pod ip:port
    nat  GANTRY-T-MARK        sets MARK_BIT
    nat  POSTROUTING -> GANTRY-T-POSTRTG: MASQUERADE marked packets (so replies come
                              back through the host and get un-DNATed); outbound
                              MASQUERADE of the pod subnets when masquerade = true
    filter FORWARD -> GANTRY-T-FORWARD: accept traffic in and out of the bridge

Loopback sources reach a pod only with route_localnet on the bridge (set by
the link code), as CNI's portmap plugin does.  Base chains other than
HOSTPORTS hold no per-pod state and are rewritten whole; HOSTPORTS is only
created when missing, since it holds the pods' jumps.
"""
import hashlib
import ipaddress

from ..errors import InvalidArgument
from .api import PROTOCOLS

MARK_BIT = "0x2000"


def tag(bridge):
    return hashlib.sha256(bridge.encode()).hexdigest()[:6]


def base_chains(bridge):
    t = "GANTRY-%s-" % tag(bridge)
    return {"hostports": t + "HOSTPORTS", "mark": t + "MARK", "postrouting": t + "POSTRTG",
            "forward": t + "FORWARD"}


def pod_chain(bridge, pod_id):
    return "GANTRY-%s-%s" % (tag(bridge), hashlib.sha256(pod_id.encode()).hexdigest()[:12])


def _comment(text):
    return '-m comment --comment "%s"' % text.replace('"', "'")[:200]


def base_rules(saved_nat, saved_filter, bridge, subnets, masquerade):
    """iptables-restore input (nat, filter) that makes the base chains right; given iptables-save output."""
    ch = base_chains(bridge)
    note = _comment("gantry bridge %s" % bridge)
    nat = ["*nat"]
    if ":%s " % ch["hostports"] not in saved_nat:
        nat.append(":%s - [0:0]" % ch["hostports"])
    nat += [":%s - [0:0]" % ch["mark"], ":%s - [0:0]" % ch["postrouting"],
            "-A %s -j MARK --set-xmark %s/%s" % (ch["mark"], MARK_BIT, MARK_BIT),
            "-A %s -m mark --mark %s/%s -j MASQUERADE" % (ch["postrouting"], MARK_BIT, MARK_BIT)]
    if masquerade:
        for net in subnets:
            nat.append("-A %s -s %s ! -d %s -j MASQUERADE" % (ch["postrouting"], net, net))
    jumps = [("PREROUTING", "-m addrtype --dst-type LOCAL", ch["hostports"]),
             ("OUTPUT", "-m addrtype --dst-type LOCAL", ch["hostports"]),
             ("POSTROUTING", "", ch["postrouting"])]
    for builtin, match, target in jumps:
        if not _has_jump(saved_nat, builtin, target):
            nat.append(" ".join(p for p in ("-A", builtin, match, note, "-j", target) if p))
    nat.append("COMMIT")
    filt = ["*filter", ":%s - [0:0]" % ch["forward"],
            "-A %s -o %s -j ACCEPT" % (ch["forward"], bridge),
            "-A %s -i %s -j ACCEPT" % (ch["forward"], bridge)]
    if not _has_jump(saved_filter, "FORWARD", ch["forward"]):
        filt.append("-A FORWARD %s -j %s" % (note, ch["forward"]))
    filt.append("COMMIT")
    return "\n".join(nat) + "\n", "\n".join(filt) + "\n"


def _has_jump(saved, builtin, target):
    return any(line.startswith("-A %s " % builtin) and line.endswith("-j " + target)
               for line in saved.splitlines())


def pod_rules(bridge, pod_id, ip, subnet, mappings):
    """nat-table iptables-restore input adding the pod's chain and its jump; None without host ports."""
    active = [m for m in mappings if m.host_port]
    if not active:
        return None
    ch = base_chains(bridge)
    chain = pod_chain(bridge, pod_id)
    lines = ["*nat", ":%s - [0:0]" % chain]
    for m in active:
        proto = _protocol(m)
        dest = _host_ip(m)
        match = "-p %s -m %s --dport %d%s" % (proto, proto, m.host_port, " -d %s/32" % dest if dest else "")
        lines.append("-A %s %s -s %s -j %s" % (chain, match, subnet, ch["mark"]))
        lines.append("-A %s %s -s 127.0.0.0/8 -j %s" % (chain, match, ch["mark"]))
        lines.append("-A %s %s -j DNAT --to-destination %s:%d" % (chain, match, ip, m.container_port))
    lines.append("-A %s %s -j %s" % (ch["hostports"], _comment("pod %s" % pod_id), chain))
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def _protocol(m):
    proto = (m.protocol or "TCP").upper()
    if proto not in PROTOCOLS:
        raise InvalidArgument("port mapping %d/%s: protocol must be one of %s"
                              % (m.container_port, m.protocol, ", ".join(PROTOCOLS)))
    if not 0 < m.container_port < 65536 or not 0 < m.host_port < 65536:
        raise InvalidArgument("port mapping %d->%d/%s: ports must be 1..65535"
                              % (m.host_port, m.container_port, proto))
    return proto.lower()


def _host_ip(m):
    if not m.host_ip or m.host_ip == "0.0.0.0":
        return ""
    try:
        addr = ipaddress.ip_address(m.host_ip)
    except ValueError as exc:
        raise InvalidArgument("port mapping %d: host_ip %r is not an address" % (m.host_port, m.host_ip)) from exc
    if addr.version != 4:
        raise InvalidArgument("port mapping %d: host_ip %s: the built-in bridge is IPv4 only"
                              % (m.host_port, m.host_ip))
    return str(addr)


def port_keys(mappings):
    """[[protocol, host_port, host_ip]] of the mappings with a host port ("" host_ip = every address)."""
    return [[_protocol(m), m.host_port, _host_ip(m)] for m in mappings if m.host_port]


def clashing(key, taken):
    """The key of ``taken`` that ``key`` collides with (same protocol and port, overlapping address), or None."""
    proto, port, ip = key
    for other in taken:
        if other[0] == proto and other[1] == port and (not ip or not other[2] or ip == other[2]):
            return other
    return None


def describe(key):
    return "%s%d/%s" % (key[2] + ":" if key[2] else "", key[1], key[0].upper())


def pod_removal_exact(bridge, pod_id, chain, hostports_chain):
    """The removal of what pod_rules added, spelled as it was added (no iptables-save needed).

    iptables-restore applies it all or nothing: when a piece is already gone it
    fails and the caller falls back to pod_removal over the saved table.
    """
    return "\n".join(["*nat", "-D %s %s -j %s" % (hostports_chain, _comment("pod %s" % pod_id), chain),
                      "-F " + chain, "-X " + chain, "COMMIT"]) + "\n"


def pod_removal(saved_nat, chain, hostports_chain):
    """nat-table iptables-restore input removing ``chain`` and the jumps to it; None if absent."""
    lines = ["*nat"]
    for line in saved_nat.splitlines():
        if line.startswith("-A %s " % hostports_chain) and line.endswith("-j " + chain):
            lines.append("-D" + line[2:])
    if ":%s " % chain in saved_nat:
        lines += ["-F %s" % chain, "-X %s" % chain]
    if len(lines) == 1:
        return None
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def base_removal(saved_nat, saved_filter, bridge):
    """(nat, filter) iptables-restore input removing the base chains of ``bridge`` and the jumps to them."""
    out = []
    for table, saved in (("nat", saved_nat), ("filter", saved_filter)):
        mine = [n for n in base_chains(bridge).values() if ":%s " % n in saved]
        lines = ["*" + table]
        for line in saved.splitlines():
            if line.startswith("-A ") and any(line.endswith("-j " + n) for n in mine):
                lines.append("-D" + line[2:])
        lines += ["-F %s" % n for n in mine] + ["-X %s" % n for n in mine]
        out.append("\n".join(lines + ["COMMIT"]) + "\n" if len(lines) > 1 else None)
    return tuple(out)


def owned_pod_chains(saved_nat, bridge):
    """Names of the per-pod chains of ``bridge`` present in iptables-save output."""
    prefix = ":GANTRY-%s-" % tag(bridge)
    base = set(base_chains(bridge).values())
    out = []
    for line in saved_nat.splitlines():
        if line.startswith(prefix):
            name = line[1:].split(" ", 1)[0]
            if name not in base:
                out.append(name)
    return out
