"""Real consumers drive gantry-oci as their runc: containerd (ctr run --runc-binary) and podman (--runtime).

Each gets its own private state under a temp dir (containerd: its own root/state/socket with the
CRI plugin off; podman: its own --root/--runroot with the vfs driver) and an image built here from
the busybox rootfs; nothing touches the machine's own containerd or podman storage.
"""
import os
import shutil
import subprocess
import tarfile
import tempfile
import time

import pytest

from tests.fixtures import ociimage
from tests.integration.lowlevel.oci_harness import OCI

pytestmark = [pytest.mark.root, pytest.mark.slow]

IMAGE = "docker.io/library/busybox:gantry"


def _umount_below(path):
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f]
    for mp in sorted((m for m in mounts if m.startswith(path + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], check=False)


@pytest.fixture(scope="module")
def workdir():
    d = tempfile.mkdtemp(prefix="gantry-interop-", dir="/tmp")
    yield d
    _umount_below(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def containerd(workdir, tmp_path_factory):
    if not shutil.which("containerd"):
        pytest.skip("containerd is not installed (make install)")
    from tests.fixtures import busybox
    rootfs = busybox.cached_rootfs(str(tmp_path_factory.mktemp("ctd-busybox")))
    d = os.path.join(workdir, "containerd")
    os.makedirs(d)
    sock = os.path.join(d, "containerd.sock")
    with open(os.path.join(d, "config.toml"), "w") as f:
        f.write('version = 2\nroot = "%s/root"\nstate = "%s/state"\n'
                'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
                '[grpc]\n  address = "%s"\n[ttrpc]\n  address = "%s.ttrpc"\n' % (d, d, sock, sock))
    log = open(os.path.join(d, "containerd.log"), "w")
    daemon = subprocess.Popen(["containerd", "--config", os.path.join(d, "config.toml")], stdout=log, stderr=log)
    deadline = time.monotonic() + 20
    while not os.path.exists(sock):
        assert daemon.poll() is None and time.monotonic() < deadline, open(log.name).read()
        time.sleep(0.05)
    archive = os.path.join(d, "busybox.tar")
    ociimage.write_docker_archive(archive, {IMAGE: ociimage.busybox_image(rootfs)})

    def ctr(*args, check=True, timeout=60):
        run = subprocess.run(["ctr", "-a", sock, "-n", "gantry"] + list(args), capture_output=True, text=True,
                             timeout=timeout, stdin=subprocess.DEVNULL)
        if check:
            assert run.returncode == 0, (args, run.stdout, run.stderr)
        return run
    ctr("images", "import", archive)
    yield ctr
    for line in ctr("task", "ls", "-q", check=False).stdout.split():
        ctr("task", "kill", "-s", "KILL", line, check=False)
        time.sleep(0.2)
        ctr("task", "rm", "-f", line, check=False)
    for line in ctr("containers", "ls", "-q", check=False).stdout.split():
        ctr("containers", "rm", line, check=False)
    daemon.terminate()
    daemon.wait(timeout=20)
    log.close()


def test_containerd_runs_with_gantry_oci(containerd):
    run = containerd("run", "--rm", "--runc-binary", OCI, IMAGE, "i1", "sh", "-c",
                     "echo hello; cat /proc/self/cgroup | grep -c /gantry/i1; exit 3", check=False)
    assert run.returncode == 3, run.stderr
    assert run.stdout.split() == ["hello", str(len(open("/proc/self/cgroup").read().splitlines()))]


def test_containerd_exec_pause_kill(containerd):
    containerd("run", "-d", "--runc-binary", OCI, IMAGE, "i2", "sleep", "120")
    try:
        out = containerd("task", "exec", "--exec-id", "e1", "i2", "sh", "-c", "echo exec-ok; ps -o comm").stdout
        assert out.split() == ["exec-ok", "COMMAND", "sleep", "ps"]
        containerd("task", "pause", "i2")
        assert "PAUSED" in containerd("task", "ls").stdout
        containerd("task", "resume", "i2")
        assert "RUNNING" in containerd("task", "ls").stdout
        containerd("task", "kill", "-s", "KILL", "i2")
        deadline = time.monotonic() + 10
        while "STOPPED" not in containerd("task", "ls").stdout:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        containerd("task", "rm", "-f", "i2", check=False)
        containerd("containers", "rm", "i2", check=False)


@pytest.fixture(scope="module")
def podman(workdir, tmp_path_factory):
    if not shutil.which("podman"):
        pytest.skip("podman is not installed (make install)")
    from tests.fixtures import busybox
    rootfs = busybox.cached_rootfs(str(tmp_path_factory.mktemp("pod-busybox")))
    d = os.path.join(workdir, "podman")
    layout = os.path.join(d, "layout")
    ociimage.write_layout(layout, {"gantry": ociimage.busybox_image(rootfs)})
    archive = os.path.join(d, "busybox-oci.tar")
    with tarfile.open(archive, "w") as t:
        for name in os.listdir(layout):
            t.add(os.path.join(layout, name), arcname=name)
    base = ["podman", "--root", os.path.join(d, "storage"), "--runroot", os.path.join(d, "run"),
            "--tmpdir", os.path.join(d, "tmp"), "--storage-driver", "vfs", "--runtime", OCI,
            "--cgroup-manager=cgroupfs", "--events-backend=file"]

    def podman(*args, check=True, timeout=120):
        run = subprocess.run(base + list(args), capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
        if check:
            assert run.returncode == 0, (args, run.stdout, run.stderr)
        return run
    podman.archive = archive
    yield podman
    podman("rm", "-a", "-f", check=False)
    podman("rmi", "-a", "-f", check=False)


RUN = ["run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


def test_podman_runs_with_gantry_oci(podman):
    run = podman(*RUN, "oci-archive:" + podman.archive, "sh", "-c", "echo hello-podman; echo $$; exit 4",
                 check=False)
    assert run.returncode == 4, run.stderr
    assert run.stdout.split() == ["hello-podman", "1"]


def test_podman_detached_exec_stop(podman):
    podman("pull", "oci-archive:" + podman.archive)
    image = podman("images", "-q").stdout.split()[0]
    podman("run", "-d", "--name", "pd1", "--network", "none", "--ulimit", "nofile=1024:1024",
           "--ulimit", "nproc=1024:1024", image, "sleep", "120")
    try:
        assert podman("exec", "pd1", "sh", "-c", "echo exec-podman").stdout.strip() == "exec-podman"
        podman("stop", "-t", "1", "pd1")
        assert "Exited" in podman("ps", "-a").stdout
    finally:
        podman("rm", "-f", "pd1", check=False)


def test_podman_removes_a_created_container(podman):
    """`podman init` leaves the container "created" in gantry-oci (never started); `podman rm` must still
    remove it: a plain `delete` of a created container is refused (runtime spec), so the consumer's path
    (delete --force, or kill then delete) has to work, and nothing may be left behind."""
    podman("pull", "oci-archive:" + podman.archive)
    image = podman("images", "-q").stdout.split()[0]
    podman("create", "--name", "pc1", "--network", "none", "--ulimit", "nofile=1024:1024",
           "--ulimit", "nproc=1024:1024", image, "sleep", "120")
    try:
        podman("init", "pc1")
        assert podman("inspect", "--format", "{{.State.Status}}", "pc1").stdout.strip() == "initialized"   # podman's word for created
        pid = int(podman("inspect", "--format", "{{.State.Pid}}", "pc1").stdout.strip())
        assert pid > 0 and os.path.exists("/proc/%d" % pid)       # the init waits on the exec fifo
        podman("rm", "pc1")
        assert "pc1" not in podman("ps", "-a").stdout
        deadline = time.monotonic() + 5
        while os.path.exists("/proc/%d" % pid):                    # the waiting init is gone too
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        podman("rm", "-f", "pc1", check=False)
