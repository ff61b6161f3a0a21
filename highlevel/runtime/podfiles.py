"""The files a pod's containers see at /etc/hostname, /etc/hosts and /etc/resolv.conf (pure).

Written once per pod into its directory and bound into every container (the
way containerd's sandbox files work):

- hostname: the pod's hostname (or the host's for a host-network pod without one);
- hosts: localhost entries, then the pod's IP (if any) with its hostname;
  a host-network pod gets the host's /etc/hosts;
- resolv.conf: from the pod's DNSConfig (servers, searches, options) when
  given, otherwise the host's.
"""
MAX_SEARCHES = 32          # what glibc reads; kubelet caps at 32 too


def hostname_file(hostname):
    return hostname + "\n"


def hosts_file(hostname, ips):
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
             "fe00::0\tip6-localnet", "fe00::0\tip6-mcastprefix", "fe00::1\tip6-allnodes",
             "fe00::2\tip6-allrouters"]
    for ip in ips:
        if hostname:
            lines.append("%s\t%s" % (ip, hostname))
    return "\n".join(lines) + "\n"


def resolv_conf(dns):
    """A DNSConfig (servers, searches, options) -> file text."""
    lines = []
    for server in dns.servers:
        lines.append("nameserver " + server)
    if dns.searches:
        lines.append("search " + " ".join(list(dns.searches)[:MAX_SEARCHES]))
    if dns.options:
        lines.append("options " + " ".join(dns.options))
    return "\n".join(lines) + "\n"


def has_dns(config):
    return config.HasField("dns_config") and bool(
        config.dns_config.servers or config.dns_config.searches or config.dns_config.options)
