"""A pod's /etc/resolv.conf and /etc/hosts (pure), as containerd writes them for a sandbox.

    resolv.conf   the CRI DNSConfig when it has servers, searches or options
                  ("search", "nameserver" lines, one "options" line); without a
                  DNSConfig the host's resolv.conf text unchanged
    hosts         localhost entries, then the pod's IPs with its hostname

Host-network pods get the host's files, not these (the caller decides).
"""
import ipaddress

from ..errors import InvalidArgument

MAX_SEARCHES = 32
MAX_SEARCH_CHARS = 2048

HOSTS_HEADER = ("127.0.0.1\tlocalhost\n"
                "::1\tlocalhost ip6-localhost ip6-loopback\n"
                "fe00::0\tip6-localnet\n"
                "ff00::0\tip6-mcastprefix\n"
                "ff02::1\tip6-allnodes\n"
                "ff02::2\tip6-allrouters\n")


def resolv_conf(dns, host_resolv_conf):
    """The text of the pod's resolv.conf; ``dns`` is a cri DNSConfig (servers, searches, options) or None."""
    servers = list(getattr(dns, "servers", []) or [])
    searches = list(getattr(dns, "searches", []) or [])
    options = list(getattr(dns, "options", []) or [])
    if not (servers or searches or options):
        return host_resolv_conf
    for server in servers:
        try:
            ipaddress.ip_address(server)
        except ValueError as exc:
            raise InvalidArgument("dns_config.servers: %r is not an IP address" % server) from exc
    if len(searches) > MAX_SEARCHES or len(" ".join(searches)) > MAX_SEARCH_CHARS:
        raise InvalidArgument("dns_config.searches: more than %d domains or %d characters"
                              % (MAX_SEARCHES, MAX_SEARCH_CHARS))
    for item in searches + options:
        if not item or any(c.isspace() for c in item):
            raise InvalidArgument("dns_config: %r is empty or holds white space" % item)
    lines = []
    if searches:
        lines.append("search " + " ".join(searches))
    lines += ["nameserver " + s for s in servers]
    if options:
        lines.append("options " + " ".join(options))
    return "\n".join(lines) + "\n"


def hosts_file(hostname, ips):
    """The text of the pod's /etc/hosts: the localhost lines and one line per pod IP."""
    if hostname and any(c.isspace() for c in hostname):
        raise InvalidArgument("hostname %r holds white space" % hostname)
    text = HOSTS_HEADER
    if hostname:
        text += "".join("%s\t%s\n" % (ip, hostname) for ip in ips)
    return text
