"""gantryd configuration (pure): defaults, then the TOML file, then command-line flags.

Every setting has a default, so gantryd runs with no file and no flags.  The
TOML file holds the same settings under the same names, at top level::

    address = "/run/gantry/gantryd.sock"     # unix socket for CRI; mode 0600
    root = "/var/lib/gantry"                 # persistent: images, snapshots, metadata
    state = "/run/gantry"                    # runtime: shim sockets, pod state (tmpfs)
    registry_config_dir = "/etc/gantry/certs.d"   # containerd hosts.toml layout
    log_level = "info"                       # debug, info, warning, error
    cgroup_driver = "cgroupfs"               # told to the kubelet (RuntimeConfig); "systemd" is refused

    [images]
    max_concurrent_downloads = 3             # layers fetched at once per pull
    pull_progress_timeout = 60               # seconds without progress before a pull fails

A flag given on the command line wins over the file; the file wins over the
default.  ``--config`` names the file; without it ``/etc/gantry/gantryd.toml``
is read when it exists.  Unknown keys and wrong types are errors that name the
file and the key, so a typo never silently falls back to a default.

``cgroup_driver = "systemd"`` is a known value that gantryd refuses at start-up
(errors.Unimplemented): a systemd driver would put containers in transient scopes over
D-Bus, and gantry-oci refuses ``--systemd-cgroup``; accepting the setting would tell the
kubelet something the runtime does not do.
"""
import os
import tomllib
from dataclasses import dataclass, fields, replace

from .errors import InvalidArgument, Unimplemented

DEFAULT_CONFIG_FILE = "/etc/gantry/gantryd.toml"
LOG_LEVELS = ("debug", "info", "warning", "error")
CGROUP_DRIVERS = ("cgroupfs", "systemd")    # known names; SUPPORTED_CGROUP_DRIVERS run
SUPPORTED_CGROUP_DRIVERS = ("cgroupfs",)
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


# TOML table -> the Config fields it may hold (top level is "").
_TABLES = {
    "": ("address", "root", "state", "registry_config_dir", "log_level", "cgroup_driver"),
    "images": ("max_concurrent_downloads", "pull_progress_timeout"),
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
        if isinstance(value, dict) and key in _TABLES and key:
            for sub, subvalue in value.items():
                if sub not in _TABLES[key]:
                    raise InvalidArgument("config %s: unknown key %s.%s" % (source, key, sub))
                out[sub] = _typed(sub, subvalue, "%s %s.%s" % (source, key, sub))
        elif key in _TABLES[""]:
            out[key] = _typed(key, value, "%s %s" % (source, key))
        else:
            raise InvalidArgument("config %s: unknown key %s" % (source, key))
    return out


def _typed(name, value, where):
    want = _TYPES[name]
    if want == "float" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    ok = {"str": str, "int": int, "float": float}[want]
    if not isinstance(value, ok) or isinstance(value, bool):
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
    return cfg


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
