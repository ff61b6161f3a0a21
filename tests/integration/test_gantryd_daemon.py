"""gantryd as a process: start-up, Version, image RPCs without a registry, socket mode, SIGTERM, config."""
import json
import os
import signal
import stat
import subprocess
import sys

import grpc
import pytest
from gantry.api import cri_pb2

from .gantryd_proc import GantrydProcess


@pytest.fixture
def gantryd(tmp_path):
    gd = GantrydProcess(str(tmp_path))
    try:
        gd.start()
        yield gd
        gd.stop()
    finally:
        gd.cleanup()


def spec(ref):
    return cri_pb2.ImageSpec(image=ref)


def test_version(gantryd):
    v = gantryd.runtime.Version(cri_pb2.VersionRequest(version="v1"), timeout=5)
    assert v.runtime_name == "gantry"
    assert v.runtime_api_version == "v1"
    assert v.version and v.runtime_version


def test_socket_mode_and_directories(gantryd):
    st = os.lstat(gantryd.address)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert os.path.isdir(gantryd.root) and os.path.isdir(gantryd.state)


def test_empty_store_image_calls(gantryd):
    assert list(gantryd.images.ListImages(cri_pb2.ListImagesRequest(), timeout=5).images) == []
    resp = gantryd.images.ImageStatus(cri_pb2.ImageStatusRequest(image=spec("busybox:1.36"), verbose=True), timeout=5)
    assert not resp.HasField("image")  # absent is an empty answer, not an error
    gantryd.images.RemoveImage(cri_pb2.RemoveImageRequest(image=spec("busybox:1.36")), timeout=5)  # idempotent
    fs = gantryd.images.ImageFsInfo(cri_pb2.ImageFsInfoRequest(), timeout=5)
    [usage] = fs.image_filesystems
    assert usage.fs_id.mountpoint.startswith(gantryd.root)
    assert usage.timestamp > 0 and usage.HasField("used_bytes")


@pytest.mark.parametrize("call, request_msg, code", [
    ("PullImage", cri_pb2.PullImageRequest(), grpc.StatusCode.INVALID_ARGUMENT),
    ("ImageStatus", cri_pb2.ImageStatusRequest(), grpc.StatusCode.INVALID_ARGUMENT),
    ("RemoveImage", cri_pb2.RemoveImageRequest(), grpc.StatusCode.INVALID_ARGUMENT),
    ("PullImage", cri_pb2.PullImageRequest(image=spec("UPPER/Case:x")), grpc.StatusCode.INVALID_ARGUMENT),
])
def test_bad_image_requests(gantryd, call, request_msg, code):
    with pytest.raises(grpc.RpcError) as info:
        getattr(gantryd.images, call)(request_msg, timeout=10)
    assert info.value.code() == code
    assert info.value.details()


def test_runtime_calls_not_offered_are_unimplemented(gantryd):
    with pytest.raises(grpc.RpcError) as info:
        gantryd.runtime.CheckpointContainer(cri_pb2.CheckpointContainerRequest(container_id="x"), timeout=5)
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "CheckpointContainer" in info.value.details()
    assert gantryd.runtime.ListPodSandbox(cri_pb2.ListPodSandboxRequest(), timeout=5).items == []


def test_status_reports_conditions(gantryd):
    resp = gantryd.runtime.Status(cri_pb2.StatusRequest(verbose=True), timeout=5)
    types = {c.type: c for c in resp.status.conditions}
    assert set(types) == {"RuntimeReady", "NetworkReady"}
    for c in types.values():
        assert c.status or (c.reason and c.message)
    assert gantryd.root in resp.info["config"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly_and_removes_the_socket(tmp_path, sig):
    gd = GantrydProcess(str(tmp_path))
    try:
        gd.start()
        assert os.path.exists(gd.address)
        assert gd.stop(sig) == 0
        assert not os.path.exists(gd.address)
        log = gd.log_text()
        assert "msg=\"gantryd stopped\"" in log
        assert "level=info logger=gantry.server msg=serving" in log
    finally:
        gd.cleanup()


def test_restart_after_kill9_replaces_the_stale_socket(tmp_path):
    gd = GantrydProcess(str(tmp_path))
    try:
        gd.start()
        gd.stop(signal.SIGKILL)
        assert os.path.exists(gd.address)  # left behind by kill -9
        gd.start()
        assert gd.runtime.Version(cri_pb2.VersionRequest(), timeout=5).runtime_name == "gantry"
        assert gd.stop() == 0
    finally:
        gd.cleanup()


def test_second_daemon_on_the_same_socket_is_refused(gantryd, tmp_path):
    r = subprocess.run([sys.executable, "-m", "gantry.highlevel.daemon", "--address", gantryd.address,
                        "--root", str(tmp_path / "r2"), "--state", str(tmp_path / "s2")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "another server is listening" in r.stderr
    gantryd.runtime.Version(cri_pb2.VersionRequest(), timeout=5)  # the first one still serves


def test_settings_from_toml(tmp_path):
    gd = GantrydProcess(str(tmp_path), config_text='log_level = "warning"\n[images]\nmax_concurrent_downloads = 2\n')
    try:
        gd.start()
        resp = gd.runtime.Status(cri_pb2.StatusRequest(verbose=True), timeout=5)
        assert '"max_concurrent_downloads": 2' in resp.info["config"]
        assert '"log_level": "debug"' in resp.info["config"]  # the flag wins over the file
        assert gd.stop() == 0
    finally:
        gd.cleanup()


@pytest.mark.parametrize("args, message", [
    (["--config", "/nonexistent/gantryd.toml"], "no such file"),
    (["--root", "relative"], "root: must be an absolute path"),
    (["--log-level", "loud"], "invalid choice"),
])
def test_bad_settings_exit_1_with_a_message(args, message):
    r = subprocess.run([sys.executable, "-m", "gantry.highlevel.daemon", *args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert message in r.stderr


@pytest.mark.parametrize("program", ["gantry.highlevel.daemon", "gantry.highlevel.ctl"])
def test_help(program):
    r = subprocess.run([sys.executable, "-m", program, "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "usage" in r.stdout


def test_gantryctl_against_gantryd(gantryd):
    r = gantryd.ctl("version")
    assert r.returncode == 0, r.stderr
    assert "RuntimeName:  gantry" in r.stdout and "RuntimeApiVersion:  v1" in r.stdout
    r = gantryd.ctl("images")
    assert r.returncode == 0 and r.stdout.split() == ["IMAGE", "TAG", "IMAGE", "ID", "SIZE"]
    r = gantryd.ctl("inspecti", "busybox")
    assert r.returncode == 1 and "no such image" in r.stderr
    r = gantryd.ctl("rmi", "busybox")
    assert r.returncode == 0
    r = gantryd.ctl("pull", "")
    assert r.returncode == 1 and "INVALID_ARGUMENT" in r.stderr
    r = gantryd.ctl("pull", "busybox", "--creds", "nocolon")
    assert r.returncode == 1 and "USER:PASS" in r.stderr
    r = gantryd.ctl("info")
    assert r.returncode == 0 and "RuntimeReady   true" in r.stdout
    r = gantryd.ctl("info", "-o", "json")
    conditions = {c["type"]: c["status"] for c in json.loads(r.stdout)["status"]["conditions"]}
    assert r.returncode == 0 and conditions["RuntimeReady"] is True and "NetworkReady" in conditions


def test_gantryctl_without_a_daemon(tmp_path):
    r = subprocess.run([sys.executable, "-m", "gantry.highlevel.ctl", "--address", str(tmp_path / "none.sock"),
                        "version"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "no such socket" in r.stderr


def test_version_flag():
    r = subprocess.run([sys.executable, "-m", "gantry.highlevel.daemon", "--version"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("gantryd ") and len(r.stdout.split()) == 2


def test_runtime_config_names_the_cgroup_driver(tmp_path):
    gd = GantrydProcess(str(tmp_path), config_text='cgroup_driver = "cgroupfs"\n')
    try:
        gd.start()
        resp = gd.runtime.RuntimeConfig(cri_pb2.RuntimeConfigRequest(), timeout=5)
        assert resp.linux.cgroup_driver == cri_pb2.CGROUPFS
        assert gd.stop() == 0
    finally:
        gd.cleanup()


def test_systemd_cgroup_driver_is_refused_at_start_up(tmp_path):
    """gantry-oci has no systemd cgroup driver: gantryd must not tell the kubelet it has one."""
    conf = tmp_path / "gantryd.toml"
    conf.write_text('cgroup_driver = "systemd"\n')
    r = subprocess.run([sys.executable, "-m", "gantry.highlevel.daemon", "--config", str(conf),
                        "--address", str(tmp_path / "g.sock"), "--root", str(tmp_path / "r"),
                        "--state", str(tmp_path / "s")], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "cgroup_driver: 'systemd' is not supported" in r.stderr
    assert not os.path.exists(tmp_path / "g.sock")


def test_a_second_daemon_on_the_same_root_is_refused(gantryd):
    r = subprocess.run([sys.executable, "-m", "gantry.highlevel.daemon", "--address", gantryd.address + ".2",
                        "--root", gantryd.root, "--state", gantryd.state + "2"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "root is in use by another gantryd (pid %d)" % gantryd.proc.pid in r.stderr
    assert not os.path.exists(gantryd.address + ".2")
    gantryd.runtime.Version(cri_pb2.VersionRequest(), timeout=5)
