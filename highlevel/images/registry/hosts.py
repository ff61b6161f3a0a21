"""Registry host configuration in containerd's ``hosts.toml`` directory format (pure).

Layout: ``<dir>/<host>/hosts.toml``, where ``<host>`` is the reference's
domain as written (``docker.io``, ``127.0.0.1:5000``); ``<dir>/_default/``
applies to hosts without a directory of their own.  One file::

    server = "https://registry.example.com"        # the upstream; default https://<host>
    capabilities = ["pull", "resolve"]              # server-level settings, all optional
    skip_verify = false
    ca = "ca.crt"                                   # or a list; relative to the host dir
    client = [["client.crt", "client.key"]]         # or "both.pem", or ["crt", "key"]
    [header]
      x-custom = "value"                            # or a list of values
    [host."https://mirror.example.com"]             # mirrors, tried in file order
      capabilities = ["pull"]
      skip_verify = true
      override_path = true                          # the URL path is the API root itself

The result is the ordered endpoint list: mirrors first, the server last.
Endpoints with ``resolve`` may be asked for manifests by tag; ``pull``
endpoints serve blobs and manifests by digest.  Without any configuration
the endpoint is ``https://<host>`` (``registry-1.docker.io`` for docker.io),
and loopback hosts also get a plain-HTTP fallback.
"""
import os
import tomllib
import urllib.parse
from dataclasses import dataclass

from ...errors import InvalidArgument

DEFAULT_DIR_NAME = "_default"
HOSTS_FILE = "hosts.toml"
ALL_CAPABILITIES = frozenset({"pull", "resolve"})
_KNOWN_CAPABILITIES = ALL_CAPABILITIES | {"push"}
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")


@dataclass(frozen=True)
class Endpoint:
    scheme: str          # "https" or "http"
    host: str            # host[:port] as in a URL netloc
    path: str = "/v2"    # the API root
    capabilities: frozenset = ALL_CAPABILITIES
    skip_verify: bool = False
    ca: tuple = ()       # CA certificate files
    client: tuple = ()   # ((cert, key-or-""), ...)
    headers: tuple = ()  # ((name, value), ...)
    mirror: bool = False

    @property
    def base_url(self):
        return "%s://%s%s" % (self.scheme, self.host, self.path.rstrip("/"))

    def can(self, capability):
        return capability in self.capabilities

    def __str__(self):
        return self.base_url


def default_server(domain):
    return "https://registry-1.docker.io" if domain == "docker.io" else "https://" + domain


def is_loopback(host):
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    return name in _LOOPBACK_HOSTS or name.startswith("127.")


def host_dir(config_dir, domain):
    """The hosts directory that applies to ``domain``, or None."""
    if not config_dir:
        return None
    for name in (domain, DEFAULT_DIR_NAME):
        path = os.path.join(config_dir, name)
        if os.path.isfile(os.path.join(path, HOSTS_FILE)):
            return path
    return None


def endpoints(domain, config_dir=None, read=None):
    """The ordered endpoints for ``domain`` (reads ``<config_dir>/<domain>/hosts.toml`` if present)."""
    directory = host_dir(config_dir, domain)
    if directory is None:
        return default_endpoints(domain)
    path = os.path.join(directory, HOSTS_FILE)
    reader = read or _read_file
    return parse_hosts(reader(path), domain, directory, path)


def default_endpoints(domain):
    url = urllib.parse.urlsplit(default_server(domain))
    out = [Endpoint("https", url.netloc, capabilities=ALL_CAPABILITIES | {"push"})]
    if is_loopback(domain):
        out.append(Endpoint("http", domain, capabilities=ALL_CAPABILITIES | {"push"}))
    return out


def _read_file(path):
    with open(path, "rb") as f:
        return f.read()


def parse_hosts(data, domain, directory, path=HOSTS_FILE):
    """Endpoints from the bytes of one hosts.toml (relative file names resolve against ``directory``)."""
    try:
        doc = tomllib.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidArgument("registry config %s: %s" % (path, exc)) from exc
    out = []
    hosts = doc.get("host", {})
    if not isinstance(hosts, dict):
        raise InvalidArgument("registry config %s: [host] must be a table of URLs" % path)
    for url, table in hosts.items():
        if not isinstance(table, dict):
            raise InvalidArgument("registry config %s: host %r must be a table" % (path, url))
        out.append(_endpoint(url, table, directory, path, mirror=True))
    server = doc.get("server")
    if server is None:
        server = default_server(domain)
    if not isinstance(server, str) or not server:
        raise InvalidArgument("registry config %s: server must be a URL string" % path)
    out.append(_endpoint(server, doc, directory, path, mirror=False))
    return out


def _endpoint(url, table, directory, path, mirror):
    where = "registry config %s: host %r" % (path, url)
    try:
        parts = urllib.parse.urlsplit(url if "://" in url else "https://" + url)
    except ValueError as exc:   # "Invalid IPv6 URL": a '[' without its ']'
        raise InvalidArgument("%s: not a URL: %s" % (where, exc)) from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidArgument("%s: not an http(s) URL" % where)
    if parts.query or parts.fragment:
        raise InvalidArgument("%s: URL may not have a query or fragment" % where)
    api_path = parts.path.rstrip("/")
    if not api_path:
        api_path = "/v2"
    elif not table.get("override_path", False):
        api_path = api_path + "/v2"
    # the server may be pushed to unless its capabilities say otherwise; a mirror only when they say so
    capabilities = table.get("capabilities", sorted(ALL_CAPABILITIES | ({"push"} if not mirror else set())))
    if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
        raise InvalidArgument("%s: capabilities must be a list of strings" % where)
    unknown = set(capabilities) - _KNOWN_CAPABILITIES
    if unknown:
        raise InvalidArgument("%s: unknown capabilities %s" % (where, sorted(unknown)))
    skip_verify = table.get("skip_verify", False)
    if not isinstance(skip_verify, bool):
        raise InvalidArgument("%s: skip_verify must be true or false" % where)
    return Endpoint(
        scheme=parts.scheme,
        host=parts.netloc,
        path=api_path,
        capabilities=frozenset(capabilities) & _KNOWN_CAPABILITIES,
        skip_verify=skip_verify,
        ca=tuple(_resolve(p, directory) for p in _strings(table.get("ca"), where, "ca")),
        client=_client_pairs(table.get("client"), directory, where),
        headers=_headers(table.get("header"), where),
        mirror=mirror,
    )


def _resolve(name, directory):
    return name if os.path.isabs(name) else os.path.join(directory, name)


def _strings(value, where, key):
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise InvalidArgument("%s: %s must be a string or a list of strings" % (where, key))


def _client_pairs(value, directory, where):
    """containerd accepts "both.pem", ["cert", "key"] and [["cert", "key"], ...]."""
    if value is None:
        return ()
    if isinstance(value, str):
        return ((_resolve(value, directory), ""),)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        if len(value) != 2:
            raise InvalidArgument("%s: client must be [cert, key]" % where)
        return ((_resolve(value[0], directory), _resolve(value[1], directory)),)
    if isinstance(value, list) and all(isinstance(v, list) for v in value):
        pairs = []
        for pair in value:
            if not 1 <= len(pair) <= 2 or not all(isinstance(v, str) for v in pair):
                raise InvalidArgument("%s: each client entry must be [cert] or [cert, key]" % where)
            pairs.append((_resolve(pair[0], directory), _resolve(pair[1], directory) if len(pair) == 2 else ""))
        return tuple(pairs)
    raise InvalidArgument("%s: client must be a file name, [cert, key] or a list of pairs" % where)


def _headers(value, where):
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise InvalidArgument("%s: header must be a table" % where)
    out = []
    for name, v in value.items():
        for item in _strings(v, where, "header %r" % name):
            out.append((name, item))
    return tuple(out)


def for_capability(endpoint_list, capability):
    """The endpoints that may serve ``capability`` ("resolve" for tags, "pull" for digests), in order."""
    return [e for e in endpoint_list if e.can(capability)]
