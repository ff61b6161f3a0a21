"""GANTRY_NO_TRICKS=1: gantry-oci and the shims work on the plain path, without the start-up tricks
that lean on CPython internals (lowlevel/tricks.py: _json, _signal; shim/tricks.py: bytecode warm-up,
heap fill).  A Python upgrade that breaks a trick must cost speed, never correctness."""
import os
import subprocess
import sys

import pytest

from .conftest import GANTRY_OCI, ShimEnv, wait_for

pytestmark = pytest.mark.root


@pytest.fixture
def no_tricks(monkeypatch):
    monkeypatch.setenv("GANTRY_NO_TRICKS", "1")   # inherited by the template, its shims and gantry-oci


@pytest.mark.parametrize("start_path", ["start", "template"])
def test_shim_and_gantry_oci_without_tricks(no_tricks, busybox_rootfs, start_path):
    env = ShimEnv("gantry-oci", busybox_rootfs, start_path)
    try:
        client, state = env.run(["sh", "-c", "echo plain-path; exit 3"], cid="plain")
        assert client.wait("").exit_status == 3
        with open(env.log_path("plain"), "rb") as f:
            assert b"plain-path" in f.read()
        client2, _ = env.run(["sleep", "100"], cid="plain2")
        client2.exec("e1", {"args": ["sh", "-c", "echo exec-ok; exit 5"], "cwd": "/", "env": ["PATH=/bin"],
                            "user": {"uid": 0, "gid": 0}})
        with client2.attach("e1") as stream:
            client2.start("e1")
            assert list(stream) == [("stdout", b"exec-ok\n")]
        assert client2.wait("e1", timeout=20).exit_status == 5
        client2.kill(9)
        assert client2.wait("").exit_status == 137
        if env.template is not None:
            wait_for(lambda: env.template.poll() is None, what="template alive")
    finally:
        env.cleanup()


def test_plain_path_is_taken(no_tricks):
    """With the switch set, the public modules are what the code runs on (and not without it)."""
    probe = ("import sys; from gantry.lowlevel import jsonio, foreground; from gantry.shim import tricks;"
             "print('json' in sys.modules, foreground._signal.__name__, tricks.run('t', lambda: 'ran'))")
    plain = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert plain == ["True", "signal", "None"]           # the json module is what parses
    env = dict(os.environ)
    env.pop("GANTRY_NO_TRICKS")
    fast = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env)
    assert fast.stdout.split() == ["False", "_signal", "ran"]


def test_gantry_oci_spec_and_state_without_tricks(no_tricks, tmp_path, busybox_rootfs):
    subprocess.run([GANTRY_OCI, "spec"], cwd=tmp_path, check=True)
    import json
    with open(tmp_path / "config.json") as f:
        cfg = json.load(f)
    cfg["root"]["path"] = busybox_rootfs
    cfg["process"].update(terminal=False, args=["sh", "-c", "echo hello-plain"])
    with open(tmp_path / "config.json", "w") as f:
        json.dump(cfg, f)
    root = str(tmp_path / "root")
    run = subprocess.run([GANTRY_OCI, "--root", root, "run", "--bundle", str(tmp_path), "plain"],
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert run.returncode == 0 and run.stdout == "hello-plain\n", run.stderr
    subprocess.run([GANTRY_OCI, "--root", root, "delete", "--force", "plain"], capture_output=True)
