"""Runtime handlers: the name a pod asks for (RunPodSandbox runtime_handler) -> an OCI runtime.

Built in, when their binary is found: ``gantry-oci`` (the default, also under the
empty name), ``runc`` and ``crun``; each gets its own ``--root`` under gantryd's
state directory, so gantryd's containers never mix with other users of the same
binary.  The configuration adds or overrides handlers::

    default_runtime = "gantry-oci"
    [runtimes.runc]
    path = "/usr/sbin/runc"
    root = "/run/gantry/runtimes/runc"      # optional

``features`` is what Status reports per handler: recursive read-only mounts are
offered by gantry-oci (mount_setattr with AT_RECURSIVE); runc 1.1 and crun 1.8 of
this machine's Debian do not have them.
"""
import os
import shutil
import sys
from dataclasses import dataclass

from .. import errors

BUILTIN = ("gantry-oci", "runc", "crun")
RRO_CAPABLE = ("gantry-oci",)


@dataclass(frozen=True)
class Handler:
    name: str
    binary: str
    root: str
    recursive_read_only: bool = False


def _find(name):
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.path.exists(here) else shutil.which(name)


def from_config(cfg, find=_find):
    """{name: Handler}; the default handler is also under ""."""
    out = {}
    for name in BUILTIN:
        binary = find(name)
        if binary:
            out[name] = Handler(name, binary, os.path.join(cfg.state, "runtimes", name), name in RRO_CAPABLE)
    for name, path, root in cfg.runtimes:
        base = os.path.basename(path)
        out[name] = Handler(name, path, root or os.path.join(cfg.state, "runtimes", name), base in RRO_CAPABLE)
    if cfg.default_runtime not in out:
        raise errors.InvalidArgument("config default_runtime: no runtime handler %r (known: %s)"
                                     % (cfg.default_runtime, ", ".join(sorted(out)) or "none"))
    out[""] = out[cfg.default_runtime]
    return out


def pick(handlers, name, operation="RunPodSandbox"):
    try:
        return handlers[name]
    except KeyError:
        raise errors.InvalidArgument("%s runtime_handler: unknown handler %r (known: %s)"
                                     % (operation, name, ", ".join(sorted(n for n in handlers if n)))) from None
