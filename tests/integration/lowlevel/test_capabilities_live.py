"""Capabilities applied in a child process, read back from /proc/self/status
of a program it executes (so the kernel's exec rules are part of the test)."""
import json
import subprocess
import sys

import pytest
from gantry.lowlevel import capabilities as caps

pytestmark = pytest.mark.root

CHILD = r"""
import json, os, sys
from gantry.lowlevel import capabilities
from gantry.lowlevel.syscalls import get
config, uid = json.loads(sys.argv[1]), int(sys.argv[2])
def switch_user():
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
capabilities.apply(get(), config, switch_user if uid else None)
os.execv("/bin/grep", ["grep", "^Cap", "/proc/self/status"])
"""


def run_child(config, uid=0):
    run = subprocess.run([sys.executable, "-c", CHILD, json.dumps(config), str(uid)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return {k: int(v, 16) for k, v in (line.split(":\t") for line in run.stdout.splitlines())}


BOUNDING = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_NET_RAW", "CAP_SETUID", "CAP_SETGID", "CAP_KILL"]


def test_root_process_gets_its_bounding_set():
    status = run_child({s: BOUNDING for s in ("bounding", "effective", "permitted", "inheritable")})
    assert status["CapBnd"] == caps.mask(BOUNDING)
    assert status["CapEff"] == caps.mask(BOUNDING)
    assert status["CapPrm"] == caps.mask(BOUNDING)
    assert status["CapAmb"] == 0


def test_non_root_keeps_ambient_caps_across_setuid_and_exec():
    config = {"bounding": BOUNDING, "effective": ["CAP_NET_RAW"], "permitted": ["CAP_NET_RAW", "CAP_KILL"],
              "inheritable": ["CAP_NET_RAW"], "ambient": ["CAP_NET_RAW"]}
    status = run_child(config, uid=1000)
    assert status["CapAmb"] == caps.mask(["CAP_NET_RAW"])
    assert status["CapEff"] == caps.mask(["CAP_NET_RAW"])
    assert status["CapPrm"] == caps.mask(["CAP_NET_RAW"])
    assert status["CapInh"] == caps.mask(["CAP_NET_RAW"])
    assert status["CapBnd"] == caps.mask(BOUNDING)


def test_non_root_without_ambient_has_nothing_after_exec():
    status = run_child({"bounding": BOUNDING, "effective": BOUNDING, "permitted": BOUNDING}, uid=1000)
    assert status["CapEff"] == status["CapPrm"] == 0
    assert status["CapBnd"] == caps.mask(BOUNDING)


def test_empty_sets_drop_everything():
    status = run_child({})
    assert status == {"CapInh": 0, "CapPrm": 0, "CapEff": 0, "CapBnd": 0, "CapAmb": 0}
