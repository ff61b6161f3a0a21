"""Restart: the shims own the containers.  SIGKILL the whole process group that
started them (gantryd and its template, here a stand-in; half the shims come from
the template, half from `gantry-shim start`); containers keep
running, logs keep growing, an exit meanwhile lands on disk, and a new client
gets the truth from every shim."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from gantry.api import shim_pb2
from gantry.highlevel import shimclient

from tests.integration.shim.conftest import wait_for

pytestmark = pytest.mark.root
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
N = 20


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_containers_survive_sigkill_of_the_starters_process_group(shim_env):
    starter = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.shim.starter", shim_env.launcher[0], shim_env.dir,
         shim_env.runtime, shim_env.runtime_root, str(N)],
        cwd=ROOT, stdout=subprocess.PIPE, start_new_session=True)
    try:
        line = starter.stdout.readline()
        assert line, "the starter failed"
        info = json.loads(line)
        for s in info["shims"]:
            shim_env.shims.append((s["id"], s["state_dir"], os.path.join(shim_env.dir, s["id"] + ".b")))
    finally:
        os.killpg(starter.pid, signal.SIGKILL)
        starter.wait()
    shims = info["shims"]
    assert not alive(info["template_pid"])
    sizes = {s["id"]: os.path.getsize(s["log"]) for s in shims}
    time.sleep(0.5)
    for s in shims:
        assert alive(s["shim_pid"]), "shim %s died with its starter" % s["id"]
    exited = shims[0]
    record = wait_for(lambda: shimclient.exit_record(exited["state_dir"]), timeout=15, what="the exit file")
    assert record["status"] == 7
    assert shimclient.address_in(exited["state_dir"]) == exited["address"]
    for s in shims[1:]:
        assert alive(s["pid"]), "container %s died" % s["id"]
        wait_for(lambda s=s: os.path.getsize(s["log"]) > sizes[s["id"]], what="log of %s to grow" % s["id"])
        c = shimclient.ShimClient(s["address"], timeout=10)
        assert c.connect().task_pid == s["pid"]
        assert c.state().status == shim_pb2.RUNNING
    c0 = shimclient.ShimClient(exited["address"], timeout=10)
    assert c0.wait(timeout=10).exit_status == 7
    assert c0.state().status == shim_pb2.STOPPED
    for s in shims[1:]:
        c = shimclient.ShimClient(s["address"], timeout=10)
        c.kill(signal.SIGKILL)
        assert c.wait(timeout=20).exit_status == 137
        c.delete()
    c0.delete()


def test_template_dies_with_its_starter(tmp_path):
    sock = str(tmp_path / "t.sock")
    starter = subprocess.Popen(["sh", "-c", '"$0" template --socket "$1" & echo $!; read x', shimclient.shim_executable(), sock],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    template_pid = int(starter.stdout.readline())
    wait_for(lambda: os.path.exists(sock), what="the template socket")
    assert alive(template_pid)
    starter.kill()
    starter.wait()
    wait_for(lambda: not alive(template_pid), timeout=10, what="the template to follow its starter")
