"""gantryd configuration (pure): defaults, then the TOML file, then command-line flags.

Every setting has a default, so gantryd runs with no file and no flags.  The
TOML file holds the same settings under the same names, at top level::

    address = "/run/gantry/gantryd.sock"     # unix socket for CRI; mode 0600
    root = "/var/lib/gantry"                 # persistent: images, snapshots, metadata
    state = "/run/gantry"                    # runtime: shim sockets, pod state (tmpfs)
    registry_config_dir = "/etc/gantry/certs.d"   # containerd hosts.toml layout
    log_level = "info"                       # debug, info, warning, error
    cgroup_driver = "cgroupfs"               # told to the kubelet (RuntimeConfig); "systemd" is refused
    default_runtime = "gantry-oci"           # the handler of pods that name none (runtime/handlers.py)
    streaming_address = "127.0.0.1"          # where the exec/attach/port-forward URLs point (an IP)
    streaming_port = 0                       # 0: an ephemeral port chosen at start

    [runtimes.runc]                          # add or override a runtime handler
    path = "/usr/sbin/runc"                  # its binary
    root = "/run/gantry/runtimes/runc"       # its --root (default: <state>/runtimes/<name>)

    [images]
    max_concurrent_downloads = 3             # layers fetched at once per pull
    pull_progress_timeout = 60               # seconds without progress before a pull fails

    [network]                                # pod networking (highlevel/network/)
    mode = "bridge"                          # "bridge" (built in), "cni" (plugins), "none" (loopback only)
    bridge = "gantry0"                       # bridge mode: the bridge, its gateway is the CIDR's first address
    pod_cidr = "10.87.0.0/16"                # bridge mode: pod addresses (UpdateRuntimeConfig may change it)
    pod_cidr_v6 = ""                         # bridge mode: also an IPv6 address from this CIDR ("" = IPv4 only)
    mtu = 0                                  # bridge mode: MTU of the bridge and pods; 0 = the default route's link
    masquerade = false                       # bridge mode: outbound NAT of pod traffic leaving the host
    cni_conf_dir = "/etc/cni/net.d"          # cni mode: the lexically first *.conflist/*.conf/*.json
    cni_bin_dirs = ["/usr/lib/cni", "/opt/cni/bin"]   # cni mode: where plugins are looked up, in order
    cni_cache_dir = ""                       # cni mode: per-pod cache for DEL; "" = <root>/network/cni

A flag given on the command line wins over the file; the file wins over the
default.  ``--config`` names the file; without it ``/etc/gantry/gantryd.toml``
is read when it exists.  Unknown keys and wrong types are errors that name the
file and the key, so a typo never silently falls back to a default.

``cgroup_driver = "systemd"`` is a known value that gantryd refuses at start-up
(errors.Unimplemented): a systemd driver would put containers in transient scopes over
D-Bus, and gantry-oci refuses ``--systemd-cgroup``; accepting the setting would tell the
kubelet something the runtime does not do.
"""
import ipaddress
import os
import tomllib
from dataclasses import dataclass, fields, replace

from .errors import InvalidArgument, Unimplemented

DEFAULT_CONFIG_FILE = "/etc/gantry/gantryd.toml"
LOG_LEVELS = ("debug", "info", "warning", "error")
CGROUP_DRIVERS = ("cgroupfs", "systemd")    # known names; SUPPORTED_CGROUP_DRIVERS run
SUPPORTED_CGROUP_DRIVERS = ("cgroupfs",)
NETWORK_MODES = ("bridge", "cni", "none")
UNIX_SCHEME = "unix://"


@dataclass(frozen=True)
class Config:
    address: str = "/run/gantry/gantryd.sock"
    root: str = "/var/lib/gantry"
    state: str = "/run/gantry"
    registry_config_dir: str = "/etc/gantry/certs.d"
    log_level: str = "info"
    cgroup_driver: str = "cgroupfs"
    max_concurrent_downloads: int = 3
    pull_progress_timeout: float = 60.0
    default_runtime: str = "gantry-oci"
    runtimes: tuple = ()                     # ((name, path, root), ...) from [runtimes.NAME]
    network_mode: str = "bridge"
    network_bridge: str = "gantry0"
    network_pod_cidr: str = "10.87.0.0/16"
    network_pod_cidr_v6: str = ""
    network_mtu: int = 0
    network_masquerade: bool = False
    cni_conf_dir: str = "/etc/cni/net.d"
    cni_bin_dirs: tuple = ("/usr/lib/cni", "/opt/cni/bin")
    cni_cache_dir: str = ""
    streaming_address: str = "127.0.0.1"
    streaming_port: int = 0


# TOML table -> the Config fields it may hold (top level is ""); a dict maps TOML key -> field.
_TABLES = {
    "": ("address", "root", "state", "registry_config_dir", "log_level", "cgroup_driver", "default_runtime",
         "streaming_address", "streaming_port"),
    "images": ("max_concurrent_downloads", "pull_progress_timeout"),
    "network": {"mode": "network_mode", "bridge": "network_bridge", "pod_cidr": "network_pod_cidr",
                "pod_cidr_v6": "network_pod_cidr_v6",
                "mtu": "network_mtu", "masquerade": "network_masquerade", "cni_conf_dir": "cni_conf_dir",
                "cni_bin_dirs": "cni_bin_dirs", "cni_cache_dir": "cni_cache_dir"},
}
_TYPES = {f.name: f.type if isinstance(f.type, str) else f.type.__name__ for f in fields(Config)}
_PATHS = ("address", "root", "state", "registry_config_dir")


def parse_toml(text, source="<config>"):
    """TOML text -> {field: value}, checked for unknown keys and types."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidArgument("config %s: %s" % (source, exc)) from exc
    out = {}
    for key, value in doc.items():
        if key == "runtimes":
            out["runtimes"] = _runtimes(value, source)
        elif isinstance(value, dict) and key in _TABLES and key:
            for sub, subvalue in value.items():
                if sub not in _TABLES[key]:
                    raise InvalidArgument("config %s: unknown key %s.%s" % (source, key, sub))
                name = _TABLES[key][sub] if isinstance(_TABLES[key], dict) else sub
                out[name] = _typed(name, subvalue, "%s %s.%s" % (source, key, sub))
        elif key in _TABLES[""]:
            out[key] = _typed(key, value, "%s %s" % (source, key))
        else:
            raise InvalidArgument("config %s: unknown key %s" % (source, key))
    return out


def _runtimes(table, source):
    """[runtimes.NAME] path = "...", root = "..." -> ((name, path, root), ...)."""
    if not isinstance(table, dict):
        raise InvalidArgument("config %s: runtimes must be a table of [runtimes.NAME] tables" % source)
    out = []
    for name, entry in sorted(table.items()):
        where = "%s runtimes.%s" % (source, name)
        if not isinstance(entry, dict):
            raise InvalidArgument("config %s: expected a table with path (and root)" % where)
        unknown = set(entry) - {"path", "root"}
        if unknown:
            raise InvalidArgument("config %s: unknown key %s" % (where, sorted(unknown)[0]))
        path, root = entry.get("path"), entry.get("root", "")
        if not isinstance(path, str) or not os.path.isabs(path):
            raise InvalidArgument("config %s.path: must be an absolute path, got %r" % (where, path))
        if not isinstance(root, str) or (root and not os.path.isabs(root)):
            raise InvalidArgument("config %s.root: must be an absolute path, got %r" % (where, root))
        out.append((name, path, root))
    return tuple(out)


def _typed(name, value, where):
    want = _TYPES[name]
    if want == "float" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if want == "tuple":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidArgument("config %s: expected a list of strings, got %r" % (where, value))
        return tuple(value)
    ok = {"str": str, "int": int, "float": float, "bool": bool}[want]
    if not isinstance(value, ok) or (isinstance(value, bool) and want != "bool"):
        raise InvalidArgument("config %s: expected %s, got %r" % (where, want, value))
    return value


def resolve(file_values=None, flag_values=None):
    """Defaults, then file values, then flags (None means "not given") -> a validated Config."""
    merged = {}
    for source in (file_values or {}, flag_values or {}):
        merged.update({k: v for k, v in source.items() if v is not None})
    cfg = replace(Config(), **merged)
    return validate(cfg)


def validate(cfg):
    address = cfg.address[len(UNIX_SCHEME):] if cfg.address.startswith(UNIX_SCHEME) else cfg.address
    cfg = replace(cfg, address=address, log_level=cfg.log_level.lower())
    for name in _PATHS:
        value = getattr(cfg, name)
        if not value or not os.path.isabs(value):
            raise InvalidArgument("config %s: must be an absolute path, got %r" % (name, value))
    if cfg.address.startswith("@") or "\0" in cfg.address:
        raise InvalidArgument("config address: abstract sockets are not allowed: %r" % cfg.address)
    if len(os.fsencode(cfg.address)) > 107:
        raise InvalidArgument("config address: unix socket path longer than 107 bytes: %r" % cfg.address)
    if cfg.log_level not in LOG_LEVELS:
        raise InvalidArgument("config log_level: %r is not one of %s" % (cfg.log_level, ", ".join(LOG_LEVELS)))
    if cfg.cgroup_driver not in CGROUP_DRIVERS:
        raise InvalidArgument("config cgroup_driver: %r is not one of %s"
                              % (cfg.cgroup_driver, ", ".join(CGROUP_DRIVERS)))
    if cfg.cgroup_driver not in SUPPORTED_CGROUP_DRIVERS:
        raise Unimplemented("config cgroup_driver: %r is not supported: gantry-oci has no systemd cgroup driver "
                            "(it refuses --systemd-cgroup); use \"cgroupfs\"" % cfg.cgroup_driver)
    if cfg.max_concurrent_downloads < 1:
        raise InvalidArgument("config images.max_concurrent_downloads: must be >= 1")
    if cfg.pull_progress_timeout <= 0:
        raise InvalidArgument("config images.pull_progress_timeout: must be > 0 seconds")
    _validate_network(cfg)
    try:
        ipaddress.ip_address(cfg.streaming_address)
    except ValueError:
        raise InvalidArgument("config streaming_address: %r is not an IP address" % cfg.streaming_address) from None
    if not 0 <= cfg.streaming_port <= 65535:
        raise InvalidArgument("config streaming_port: %d is not a port (0-65535)" % cfg.streaming_port)
    return cfg


def _validate_network(cfg):
    if cfg.network_mode not in NETWORK_MODES:
        raise InvalidArgument("config network.mode: %r is not one of %s" % (cfg.network_mode, ", ".join(NETWORK_MODES)))
    name = cfg.network_bridge
    if not name or len(name.encode()) > 15 or any(c in name for c in "/: \t\n") or name in (".", ".."):
        raise InvalidArgument("config network.bridge: %r is not a link name (1-15 bytes, no / : or space)" % name)
    try:
        net = ipaddress.ip_network(cfg.network_pod_cidr, strict=False)
    except ValueError as exc:
        raise InvalidArgument("config network.pod_cidr: %s" % exc) from exc
    if net.version != 4 or net.prefixlen > 29:
        raise InvalidArgument("config network.pod_cidr: %r must be an IPv4 CIDR of /29 or larger" % cfg.network_pod_cidr)
    if cfg.network_pod_cidr_v6:
        try:
            net6 = ipaddress.ip_network(cfg.network_pod_cidr_v6, strict=False)
        except ValueError as exc:
            raise InvalidArgument("config network.pod_cidr_v6: %s" % exc) from exc
        if net6.version != 6 or net6.prefixlen > 125:
            raise InvalidArgument("config network.pod_cidr_v6: %r must be an IPv6 CIDR of /125 or larger"
                                  % cfg.network_pod_cidr_v6)
    if cfg.network_mtu != 0 and not 68 <= cfg.network_mtu <= 65535:
        raise InvalidArgument("config network.mtu: %d is not 0 (automatic) or in 68..65535" % cfg.network_mtu)
    for key, value in (("cni_conf_dir", cfg.cni_conf_dir),) + tuple(("cni_bin_dirs", d) for d in cfg.cni_bin_dirs):
        if not os.path.isabs(value):
            raise InvalidArgument("config network.%s: must be an absolute path, got %r" % (key, value))
    if cfg.cni_cache_dir and not os.path.isabs(cfg.cni_cache_dir):
        raise InvalidArgument("config network.cni_cache_dir: must be an absolute path or empty, got %r"
                              % cfg.cni_cache_dir)


def load(config_file=None, flag_values=None, read=None):
    """Read the file (explicit, or the default one if present) and apply flags.

    ``read`` (path -> text or None when absent) is injectable for tests.
    """
    read = read or _read_file
    path = config_file or DEFAULT_CONFIG_FILE
    text = read(path)
    if text is None and config_file:
        raise InvalidArgument("config %s: no such file" % config_file)
    file_values = parse_toml(text, path) if text is not None else {}
    return resolve(file_values, flag_values)


def _read_file(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InvalidArgument("config %s: %s" % (path, exc.strerror)) from exc
