"""A registry holding a busybox image, and a gantryd pointed at it, for the RuntimeService tests."""
import os
import subprocess

import pytest

from tests.fixtures import ociimage

from ..gantryd_proc import GantrydProcess, write_hosts
from .criclient import Cri
from .netmodes import CNI_BRIDGE, TEST_NETWORK, Mode


@pytest.fixture(scope="session")
def busybox_ref(registry, busybox_rootfs, tmp_path_factory):
    """(reference, image id, certs dir) of a busybox image with an unprivileged user and a stop signal."""
    work = tmp_path_factory.mktemp("runtime-image")
    img = ociimage.busybox_image(busybox_rootfs, env=["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "FROM_IMAGE=yes"],
                                 working_dir="/", stop_signal="SIGTERM")
    layout = str(work / "layout")
    ociimage.write_layout(layout, {"1": img})
    registry.push(layout, "runtime/busybox", "1")
    certs = str(work / "certs.d")
    write_hosts(certs, registry.host)
    return "%s/runtime/busybox:1" % registry.host, img.config_digest, certs




@pytest.fixture
def gantryd(busybox_ref, tmp_path):
    gd = GantrydProcess(str(tmp_path), registry_config_dir=busybox_ref[2], config_text=TEST_NETWORK)
    try:
        gd.start()
        yield gd
    finally:
        try:
            _remove_all(gd)
        finally:
            gd.stop()
            gd.cleanup()


def _remove_all(gd):
    """A failed test still leaves no container behind: remove what the gantryd under test holds."""

    if gd.proc is None or gd.proc.poll() is not None:
        return
    client = Cri(gd)
    for pod in client.pods():
        client.remove_pod(pod.id)


@pytest.fixture
def cri(gantryd, busybox_ref):
    client = Cri(gantryd)
    client.pull(busybox_ref[0])
    return client


@pytest.fixture(params=["bridge", "cni"])
def net_gantryd(request, busybox_ref, tmp_path):
    if request.param == "cni":
        missing = [p for p in ("bridge", "host-local", "portmap", "loopback") if not os.access("/usr/lib/cni/" + p, os.X_OK)]
        if missing:
            pytest.skip("CNI plugins %s not installed in /usr/lib/cni (Debian containernetworking-plugins)" % missing)
    mode = Mode(request.param, str(tmp_path))
    gd = GantrydProcess(str(tmp_path / "gd"), registry_config_dir=busybox_ref[2], config_text=mode.config())
    try:
        gd.start()
        yield gd, mode
    finally:
        try:
            _remove_all(gd)
        finally:
            gd.stop()
            gd.cleanup()
            if mode.name == "cni":
                subprocess.run(["ip", "link", "del", CNI_BRIDGE], capture_output=True)
