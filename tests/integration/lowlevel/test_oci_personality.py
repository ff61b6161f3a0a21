"""linux.personality: the execution domain is set for the container process and for exec (uname -m)."""
import os

import pytest

from tests.integration.lowlevel.oci_harness import Runtime, make_bundle

pytestmark = pytest.mark.root

X86_64 = pytest.mark.skipif(os.uname().machine != "x86_64", reason="PER_LINUX32 reads i686 only on x86_64")


@pytest.fixture
def oci(tmp_path):
    rt = Runtime(str(tmp_path / "state"))
    yield rt
    rt.cleanup()


@X86_64
def test_linux32_personality_for_init_and_exec(tmp_path, busybox_rootfs, oci):
    path, _ = make_bundle(tmp_path, busybox_rootfs, ["/bin/sh", "-c", "uname -m; exec sleep 60"],
                          linux__personality={"domain": "LINUX32"})
    cid = oci.new_id()
    oci("run", "--detach", "--bundle", path, cid, detached=True)
    assert oci("exec", cid, "uname", "-m").stdout.strip() == "i686"
    with open(oci.root + ".log") as f:
        assert f.read().split()[:1] == ["i686"]
    path, _ = make_bundle(tmp_path, busybox_rootfs, ["uname", "-m"], name="native",
                          linux__personality={"domain": "LINUX"})
    assert oci("run", "--bundle", path, oci.new_id()).stdout.strip() == "x86_64"


def test_unknown_personality_is_refused(tmp_path, busybox_rootfs, oci):
    path, _ = make_bundle(tmp_path, busybox_rootfs, ["true"], linux__personality={"domain": "BSD"})
    run = oci("run", "--bundle", path, oci.new_id(), check=False)
    assert run.returncode == 1 and "linux.personality: domain 'BSD' is unknown" in run.stderr
