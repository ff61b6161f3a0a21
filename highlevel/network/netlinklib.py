"""pyroute2's IPRoute for links.py, loaded on first use and without the package's import-all.

``import pyroute2`` runs a package ``__init__`` that imports every socket family the library
has (conntrack, IPDB, NDB, nftables, wireless, plan9, ...): about 12 MiB of a daemon's
memory, kept for good once the first pod is connected.  links.py needs three names from
three submodules.  Python imports a submodule without running its package's ``__init__`` when
the package is already in ``sys.modules``; ``load`` puts a bare package module there (same
name, same ``__path__``) and imports the submodules, which takes about half of that memory.

The trick leans on how pyroute2's submodules import each other, which a release may change;
so it is checked (IPRoute, NetlinkError and IFA_F_NODAD must come out as expected) and any
failure, or ``GANTRY_NO_TRICKS=1`` in the environment, takes the plain ``from pyroute2 import
IPRoute`` path: an upgrade may cost memory, never correctness.  gantryd is the only user of
pyroute2 in its process; the bare package module is replaced by the real one on fallback.
"""
import importlib
import importlib.util
import os
import sys
import threading
import types

ENV = "GANTRY_NO_TRICKS"
_lock = threading.Lock()
_loaded = None


class Netlink:
    def __init__(self, IPRoute, NetlinkError, IFA_F_NODAD, lean):
        self.IPRoute, self.NetlinkError, self.IFA_F_NODAD, self.lean = IPRoute, NetlinkError, IFA_F_NODAD, lean


def __getattr__(name):
    """``netlinklib.IPRoute`` (or NetlinkError, IFA_F_NODAD) loads pyroute2 on first use; the names
    then become this module's own, so later uses cost a plain attribute lookup."""
    if name not in ("IPRoute", "NetlinkError", "IFA_F_NODAD"):
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    nl = load()
    globals().update(IPRoute=nl.IPRoute, NetlinkError=nl.NetlinkError, IFA_F_NODAD=nl.IFA_F_NODAD)
    return globals()[name]


def load():
    """The Netlink names (imported once per process; thread-safe)."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = _lean() if not os.environ.get(ENV) else None
            if _loaded is None:
                _loaded = _plain()
        return _loaded


def _plain():
    _forget_partial()
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.netlink.rtnl.ifaddrmsg import IFA_F_NODAD
    return Netlink(IPRoute, NetlinkError, IFA_F_NODAD, lean=False)


def _lean():
    if "pyroute2" in sys.modules:          # someone imported the real package already
        return None
    try:
        spec = importlib.util.find_spec("pyroute2")
        if spec is None or not spec.submodule_search_locations:
            return None
        package = types.ModuleType("pyroute2")
        package.__path__ = list(spec.submodule_search_locations)
        package.__spec__, package.__file__, package.__package__ = spec, spec.origin, "pyroute2"
        sys.modules["pyroute2"] = package
        IPRoute = importlib.import_module("pyroute2.iproute.linux").IPRoute
        NetlinkError = importlib.import_module("pyroute2.netlink.exceptions").NetlinkError
        IFA_F_NODAD = importlib.import_module("pyroute2.netlink.rtnl.ifaddrmsg").IFA_F_NODAD
        if not (isinstance(IPRoute, type) and issubclass(NetlinkError, Exception)
                and isinstance(IFA_F_NODAD, int) and hasattr(IPRoute, "__enter__")):
            return None
        return Netlink(IPRoute, NetlinkError, IFA_F_NODAD, lean=True)
    except Exception:                      # any change of pyroute2's layout: take the plain path
        return None


def _forget_partial():
    """Drop a bare package and its submodules left by a failed lean load."""
    if isinstance(sys.modules.get("pyroute2"), types.ModuleType) and not hasattr(sys.modules["pyroute2"],
                                                                                 "IPRoute"):
        for name in [n for n in sys.modules if n == "pyroute2" or n.startswith("pyroute2.")]:
            del sys.modules[name]
