"""gantryctl against real CRI endpoints: a gantryd (tests/integration/gantryd_proc.py) and a private
containerd 1.6 (containerd_cri.py), both pulling busybox and pause images from the test registry."""
import os
import shutil
import subprocess
import sys

import pytest
from gantry.highlevel.runtime import pause

from tests.fixtures import ociimage

from ..gantryd_proc import GantrydProcess, write_hosts
from .containerd_cri import Containerd

pytestmark = pytest.mark.root


class Images:
    def __init__(self, registry, busybox, pause_ref, layout, certs):
        self.registry, self.busybox, self.pause, self.layout, self.certs = registry, busybox, pause_ref, layout, certs


@pytest.fixture(scope="session")
def ctl_images(registry, busybox_rootfs, tmp_path_factory):
    """busybox (stop signal SIGTERM) and a pause image (gantryd's pause program) in the test registry;
    ``layout`` is busybox's OCI layout whose index names it only by the tag ``1``."""
    work = tmp_path_factory.mktemp("ctl-images")
    busybox = ociimage.busybox_image(busybox_rootfs, env=["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], working_dir="/",
                                     stop_signal="SIGTERM")
    pause_img = ociimage.Image([ociimage.Layer([ociimage.File("pause", pause.elf(), mode=0o755)])],
                               entrypoint=["/pause"])
    refs = {}
    for repo, img in (("ctl/busybox", busybox), ("ctl/pause", pause_img)):
        layout = str(work / repo.replace("/", "-"))
        ociimage.write_layout(layout, {"1": img})
        registry.push(layout, repo, "1")
        refs[repo] = "%s/%s:1" % (registry.host, repo)
    certs = str(work / "certs.d")
    write_hosts(certs, registry.host)
    return Images(registry, refs["ctl/busybox"], refs["ctl/pause"], str(work / "ctl-busybox"), certs)


def _run(address, *args, timeout=120, **kw):
    return subprocess.run([sys.executable, "-m", "gantry.highlevel.ctl", "--endpoint", address, *args],
                          capture_output=True, text=True, timeout=timeout, **kw)


class Endpoint:
    """A CRI endpoint and gantryctl against it: ``ep.ctl("ps", "-a")`` -> CompletedProcess."""

    def __init__(self, name, address, log_dir):
        self.name, self.address, self.log_dir = name, address, log_dir

    def ctl(self, *args, **kw):
        return _run(self.address, *args, **kw)

    def ok(self, *args, **kw):
        r = self.ctl(*args, **kw)
        assert r.returncode == 0, "gantryctl %s: rc %d\n%s" % (" ".join(args), r.returncode, r.stderr)
        return r

    def popen(self, *args, **kw):
        return subprocess.Popen([sys.executable, "-m", "gantry.highlevel.ctl", "--endpoint", self.address, *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)

    def clean(self):
        self.ctl("rmp", "-af")


@pytest.fixture(scope="module")
def gantryd(ctl_images, tmp_path_factory):
    work = tmp_path_factory.mktemp("ctl-gantryd")
    gd = GantrydProcess(str(work), registry_config_dir=ctl_images.certs)
    with gd:
        ep = Endpoint("gantryd", gd.address, str(work / "logs"))
        ep.process = gd
        try:
            yield ep
        finally:
            ep.clean()


@pytest.fixture(scope="module")
def containerd(ctl_images, tmp_path_factory):
    if shutil.which("containerd") is None or not os.path.isdir("/usr/lib/cni"):
        pytest.skip("containerd or the CNI plugins (/usr/lib/cni) are not installed on this machine")
    work = tmp_path_factory.mktemp("ctl-containerd")
    ctd = Containerd(str(work), ctl_images.registry.host, ctl_images.pause)
    try:
        ctd.start()
        yield Endpoint("containerd", ctd.address, str(work / "logs"))
    finally:
        ctd.stop()


@pytest.fixture(params=["gantryd", "containerd"])
def endpoint(request):
    """Both endpoints in turn (for what any CRI runtime must do the same)."""
    return request.getfixturevalue(request.param)
