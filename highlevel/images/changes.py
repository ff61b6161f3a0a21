"""Dockerfile-style edits of an image config's ``config`` section (``commit --change``), pure.

    cfg = apply(image_config["config"], ['CMD ["sh", "-c", "echo hi"]', "ENV A=1 B=2", "EXPOSE 80"])

One instruction per string, as ``docker commit --change`` takes them; ``KEY=value``
(``CMD=/bin/sh``) is read as ``KEY value``.  Supported, with what each sets::

    CMD / ENTRYPOINT   Cmd / Entrypoint: a JSON array, or a shell line -> ["/bin/sh", "-c", line]
    ENV k=v [k=v..]    Env (replaces an earlier k); also the old form "ENV k v"
    LABEL k=v [k=v..]  Labels (quotes removed)
    EXPOSE p[/proto]   ExposedPorts {"80/tcp": {}}
    VOLUME path|JSON   Volumes {path: {}}
    USER, WORKDIR, STOPSIGNAL    User, WorkingDir, StopSignal
    ONBUILD instr      OnBuild (appended)

Anything else is errors.InvalidArgument naming the change.
"""
from __future__ import annotations

import copy
import json
import shlex

from .. import errors

SHELL = ["/bin/sh", "-c"]


def _split(change):
    text = change.strip()
    key, sep, rest = text.partition(" ")
    if "=" in key and key.split("=", 1)[0].isalpha() and key.split("=", 1)[0].upper() in _HANDLERS:
        key, _, first = key.partition("=")
        rest = first + (sep + rest if sep else "")
    return key.upper(), rest.strip()


def _command(value, change):
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(a, str) for a in parsed):
            return parsed
        raise errors.InvalidArgument(f"change {change!r}: not a JSON array of strings")
    if not value:
        raise errors.InvalidArgument(f"change {change!r}: empty command")
    return SHELL + [value]


def _pairs(value, change):
    try:
        words = shlex.split(value)
    except ValueError as e:
        raise errors.InvalidArgument(f"change {change!r}: {e}") from None
    if len(words) >= 2 and "=" not in words[0]:          # ENV key value (old form)
        return [(words[0], value.split(None, 1)[1])]
    out = []
    for w in words:
        k, sep, v = w.partition("=")
        if not sep or not k:
            raise errors.InvalidArgument(f"change {change!r}: expected key=value, got {w!r}")
        out.append((k, v))
    if not out:
        raise errors.InvalidArgument(f"change {change!r}: nothing to set")
    return out


def _env(cfg, value, change):
    env = list(cfg.get("Env") or [])
    for k, v in _pairs(value, change):
        env = [e for e in env if e.split("=", 1)[0] != k] + [f"{k}={v}"]
    cfg["Env"] = env


def _label(cfg, value, change):
    labels = dict(cfg.get("Labels") or {})
    labels.update(_pairs(value, change))
    cfg["Labels"] = labels


def _expose(cfg, value, change):
    ports = dict(cfg.get("ExposedPorts") or {})
    for p in value.split():
        num, _, proto = p.partition("/")
        if not num.isdigit() or not 0 < int(num) < 65536 or proto not in ("", "tcp", "udp", "sctp"):
            raise errors.InvalidArgument(f"change {change!r}: bad port {p!r}")
        ports[f"{int(num)}/{proto or 'tcp'}"] = {}
    if not ports:
        raise errors.InvalidArgument(f"change {change!r}: no port")
    cfg["ExposedPorts"] = ports


def _volume(cfg, value, change):
    paths = _command(value, change) if value.startswith("[") else value.split()
    if not paths:
        raise errors.InvalidArgument(f"change {change!r}: no path")
    vols = dict(cfg.get("Volumes") or {})
    vols.update({p: {} for p in paths})
    cfg["Volumes"] = vols


def _plain(field):
    def set_field(cfg, value, change):
        if not value:
            raise errors.InvalidArgument(f"change {change!r}: empty value")
        cfg[field] = value
    return set_field


def _onbuild(cfg, value, change):
    if not value:
        raise errors.InvalidArgument(f"change {change!r}: empty instruction")
    cfg["OnBuild"] = list(cfg.get("OnBuild") or []) + [value]


_HANDLERS = {
    "CMD": lambda cfg, v, c: cfg.__setitem__("Cmd", _command(v, c)),
    "ENTRYPOINT": lambda cfg, v, c: cfg.__setitem__("Entrypoint", _command(v, c)),
    "ENV": _env, "LABEL": _label, "EXPOSE": _expose, "VOLUME": _volume, "ONBUILD": _onbuild,
    "USER": _plain("User"), "WORKDIR": _plain("WorkingDir"), "STOPSIGNAL": _plain("StopSignal"),
}


def apply(config, changes):
    """A copy of ``config`` (an image config's ``config`` section) with ``changes`` applied in order."""
    out = copy.deepcopy(config or {})
    for change in changes:
        key, value = _split(change)
        handler = _HANDLERS.get(key)
        if handler is None:
            raise errors.InvalidArgument(
                f"change {change!r}: {key or 'empty'} is not one of {', '.join(sorted(_HANDLERS))}")
        handler(out, value, change)
    return out
