import json
import os
import subprocess

from tests.fixtures import bundle, busybox


def test_busybox_rootfs_has_shell_and_libraries(busybox_rootfs):
    assert os.path.isfile(os.path.join(busybox_rootfs, "bin", "busybox"))
    assert os.readlink(os.path.join(busybox_rootfs, "bin", "sh")) == "/bin/busybox"
    libs = busybox.shared_libraries(busybox.BUSYBOX)
    assert libs, "Debian's busybox is dynamically linked"
    for lib in libs:
        assert os.path.exists(os.path.join(busybox_rootfs, lib.lstrip("/")))


def test_busybox_rootfs_runs_under_chroot(busybox_rootfs):
    if os.geteuid() != 0:
        return
    out = subprocess.run(["chroot", busybox_rootfs, "/bin/sh", "-c", "echo $((6*7))"], capture_output=True, text=True)
    assert out.stdout.strip() == "42", out.stderr


def test_bundle_writes_config(tmp_path, busybox_rootfs):
    cfg = bundle.default_config(["/bin/true"])
    bundle.write_bundle(str(tmp_path / "b"), busybox_rootfs, cfg)
    got = json.load(open(tmp_path / "b" / "config.json"))
    assert got["process"]["args"] == ["/bin/true"]
    assert got["root"]["path"] == busybox_rootfs
    assert {"type": "mount"} in got["linux"]["namespaces"]
