"""A gantryd on a scratch root with a busybox base image in the test registry, for `gantryctl build`."""
import os
import subprocess
import sys

import pytest

from tests.fixtures import ociimage

from ..gantryd_proc import GantrydProcess, write_hosts

pytestmark = pytest.mark.root

TEST_NETWORK = """
[network]
mode = "bridge"
bridge = "gantrybld0"
pod_cidr = "10.87.251.0/24"
"""


class Base:
    def __init__(self, ref, layout, certs, image):
        self.ref, self.layout, self.certs, self.image = ref, layout, certs, image


@pytest.fixture(scope="session")
def build_base(registry, busybox_rootfs, tmp_path_factory):
    """busybox in the test registry as <host>/build/busybox:1 (and its OCI layout, tag "1")."""
    work = tmp_path_factory.mktemp("build-base")
    img = ociimage.busybox_image(busybox_rootfs, env=["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], working_dir="/")
    layout = str(work / "layout")
    ociimage.write_layout(layout, {"1": img})
    registry.push(layout, "build/busybox", "1")
    certs = str(work / "certs.d")
    write_hosts(certs, registry.host)
    return Base("%s/build/busybox:1" % registry.host, layout, certs, img)


@pytest.fixture
def gantryd(build_base, tmp_path):
    gd = GantrydProcess(str(tmp_path / "gd"), registry_config_dir=build_base.certs, config_text=TEST_NETWORK)
    try:
        gd.start()
        yield gd
    finally:
        try:
            if gd.proc is not None and gd.proc.poll() is None:
                gd.ctl("rmp", "-af")
        finally:
            gd.stop()
            gd.cleanup()


def ctl(gd, *args, timeout=300, input=None):
    return subprocess.run([sys.executable, "-m", "gantry.highlevel.ctl", "--address", gd.address, *args],
                          capture_output=True, text=True, timeout=timeout, input=input)


def write_context(root, files):
    """Files of a build context: {relative path: text or bytes}."""
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
    return root
