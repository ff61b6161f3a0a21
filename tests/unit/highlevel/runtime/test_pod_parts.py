"""Pure parts of pods: sysctl checks, cgroup parents, pod files, the pause program, handlers."""
import os
import subprocess
from types import SimpleNamespace

import pytest
from gantry.api import cri_pb2
from gantry.highlevel import errors
from gantry.highlevel.runtime import handlers, pause, podns, pods


def test_pin_refuses_a_malformed_sysctl_name_before_running_anything():
    calls = []
    with pytest.raises(errors.InvalidArgument, match="not a sysctl name"):
        podns.pin("/nonexistent/ns", [], sysctls={"../../etc/x": "1"}, runner=calls.append)
    assert calls == []


@pytest.mark.parametrize("parent,driver,want", [
    ("", "cgroupfs", ""),
    ("/kubepods/besteffort/podabc", "cgroupfs", "/kubepods/besteffort/podabc"),
    ("kubepods", "cgroupfs", "/kubepods"),
    ("/test.slice", "cgroupfs", "/test.slice"),
    ("kubepods-besteffort-podabc.slice", "systemd",
     "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podabc.slice"),
])
def test_cgroup_parent(parent, driver, want):
    assert pods.cgroup_parent(parent, driver) == want


@pytest.mark.parametrize("field", ["name", "namespace", "uid"])
def test_pod_metadata_required(field):
    cfg = cri_pb2.PodSandboxConfig(metadata=cri_pb2.PodSandboxMetadata(name="n", namespace="ns", uid="u"))
    setattr(cfg.metadata, field, "")
    with pytest.raises(errors.InvalidArgument, match="config.metadata.%s" % field):
        pods.check_metadata(cfg)


def test_huge_labels_refused():
    cfg = cri_pb2.PodSandboxConfig(metadata=cri_pb2.PodSandboxMetadata(name="n", namespace="ns", uid="u"))
    cfg.labels["big"] = "x" * (300 * 1024)
    with pytest.raises(errors.InvalidArgument, match="256 KiB"):
        pods.check_metadata(cfg)


def test_pause_program_runs_and_exits_on_sigterm(tmp_path):
    path = tmp_path / "pause"
    path.write_bytes(pause.elf())
    os.chmod(path, 0o755)
    proc = subprocess.Popen([str(path)])
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(0.3)           # it waits
        with open("/proc/%d/status" % proc.pid) as f:
            status = dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)
        assert int(status["SigIgn"], 16) & (1 << 16)          # SIGCHLD ignored: children auto-reaped
        assert int(status["SigCgt"], 16) & (1 << 14) and int(status["SigCgt"], 16) & (1 << 1)
        proc.terminate()
        assert proc.wait(5) == 0
    finally:
        proc.kill()


def test_pause_other_arch_is_unimplemented():
    with pytest.raises(errors.Unimplemented, match="aarch64"):
        pause.elf("aarch64")


def test_handlers_from_config():
    cfg = SimpleNamespace(state="/run/g", runtimes=(("fast", "/opt/crun", ""),), default_runtime="gantry-oci")
    found = handlers.from_config(cfg, find=lambda name: "/bin/" + name if name != "crun" else None)
    assert set(found) == {"", "gantry-oci", "runc", "fast"}
    assert found[""] is found["gantry-oci"] and found["gantry-oci"].recursive_read_only
    assert found["runc"].root == "/run/g/runtimes/runc" and not found["runc"].recursive_read_only
    assert found["fast"].binary == "/opt/crun"
    with pytest.raises(errors.InvalidArgument, match="unknown handler 'kata'"):
        handlers.pick(found, "kata")
    with pytest.raises(errors.InvalidArgument, match="default_runtime"):
        handlers.from_config(SimpleNamespace(state="/s", runtimes=(), default_runtime="x"), find=lambda n: None)
