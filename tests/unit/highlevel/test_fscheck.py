"""fscheck: which filesystem a path is on, and the one line gantryd prints when overlay cannot work there."""
import pytest
from gantry.highlevel import fscheck

MOUNTINFO = """\
22 1 0:21 / / rw,relatime shared:1 - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
23 22 0:22 / /run rw,nosuid - tmpfs tmpfs rw
24 22 8:1 / /var/lib/gantry rw - ext4 /dev/sda1 rw
25 22 0:23 / /mnt/my\\040disk rw - xfs /dev/sdb1 rw
26 22 0:24 / /var/lib/gantryx rw - overlay overlay rw
27 24 0:25 / /var/lib/gantry/tmp rw - tmpfs tmpfs rw
28 22 0:26 / /run rw - overlay overlay rw
"""


@pytest.mark.parametrize("path, fstype", [
    ("/", "overlay"),
    ("/tmp/x", "overlay"),
    ("/var/lib/gantry", "ext4"),
    ("/var/lib/gantry/images/snapshots", "ext4"),
    ("/var/lib/gantryx/a", "overlay"),          # a prefix of the name is not a parent directory
    ("/var/lib/gantry/tmp/a", "tmpfs"),         # the deepest mount point wins
    ("/mnt/my disk/root", "xfs"),               # \040 in mountinfo is a space
    ("/run/gantry", "overlay"),                 # the later of two mounts on one point is on top
])
def test_fstype_of(path, fstype):
    assert fscheck.fstype_of(path, MOUNTINFO) == fstype


def test_mounts_skips_malformed_lines():
    assert fscheck.mounts("garbage\n1 2 3\n" + MOUNTINFO.splitlines()[1]) == [("/run", "tmpfs")]


@pytest.mark.parametrize("fstype, bad", [("overlay", True), ("aufs", True), ("fuse.fuse-overlayfs", True),
                                         ("ext4", False), ("xfs", False), ("tmpfs", False), ("btrfs", False)])
def test_overlay_problem_names_the_path_and_the_fix(fstype, bad):
    text = "1 0 0:1 / / rw - %s src rw\n" % fstype
    msg = fscheck.overlay_problem("/var/lib/gantry", mountinfo_text=text)
    if not bad:
        assert msg is None
        return
    assert "\n" not in msg
    assert msg.startswith("root /var/lib/gantry is on ")
    assert "mount -t tmpfs -o size=4g tmpfs /var/lib/gantry" in msg and "--root DIR" in msg


def test_a_missing_directory_is_judged_by_its_nearest_existing_parent(tmp_path):
    target = tmp_path / "not" / "yet"
    assert fscheck.existing_ancestor(str(target)) == str(tmp_path.resolve())
