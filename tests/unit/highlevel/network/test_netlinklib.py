"""netlinklib: pyroute2's IPRoute without the package's import-all, and the plain path it falls back to.

Each case runs in a fresh interpreter: what is in sys.modules is what is tested.
"""
import json
import os
import subprocess
import sys

import pytest

PROBE = r"""
import json, socket, sys
%s
from gantry.highlevel.network import netlinklib
nl = netlinklib.load()
with nl.IPRoute() as ipr:
    index = ipr.link("get", ifname="lo")[0]["index"]
try:
    with nl.IPRoute() as ipr:
        ipr.link("get", ifname="gantry-no-such")
    raised = None
except nl.NetlinkError as exc:
    raised = exc.code
print(json.dumps({"lean": nl.lean, "lo": index, "lo_kernel": socket.if_nametoindex("lo"), "enodev": raised,
                  "nodad": nl.IFA_F_NODAD, "ndb_loaded": "pyroute2.ndb" in sys.modules,
                  "same": netlinklib.load() is nl}))
"""


def probe(prelude="", **env):
    out = subprocess.run([sys.executable, "-c", PROBE % prelude], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, **env))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def check_works(got):
    assert got["lo"] == got["lo_kernel"] and got["enodev"] == 19 and got["nodad"] == 0x02 and got["same"]


def test_lean_path_skips_the_package_init():
    got = probe(GANTRY_NO_TRICKS="")
    check_works(got)
    assert got["lean"] is True and got["ndb_loaded"] is False


def test_no_tricks_takes_the_plain_import():
    got = probe(GANTRY_NO_TRICKS="1")
    check_works(got)
    assert got["lean"] is False and got["ndb_loaded"] is True


def test_a_package_imported_before_is_used_as_is():
    got = probe("import pyroute2", GANTRY_NO_TRICKS="")
    check_works(got)
    assert got["lean"] is False


@pytest.mark.parametrize("broken", ["pyroute2.iproute.linux", "pyroute2.netlink.exceptions"])
def test_a_changed_layout_falls_back_to_the_plain_import(broken):
    prelude = ("import importlib\n_real = importlib.import_module\n"
               "def _fake(name, *a):\n"
               "    if name == %r: raise ImportError('moved in this release')\n"
               "    return _real(name, *a)\n"
               "importlib.import_module = _fake\n" % broken)
    got = probe(prelude, GANTRY_NO_TRICKS="")
    check_works(got)
    assert got["lean"] is False and got["ndb_loaded"] is True
