"""secure_join: container paths resolved inside the root, symlinks followed as if the root were /."""
import os

import pytest
from gantry.lowlevel.paths import secure_join, within


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "rootfs"
    (r / "etc").mkdir(parents=True)
    (r / "real").mkdir()
    os.symlink("/etc", str(r / "abs"))                 # absolute: must mean <root>/etc
    os.symlink("../../../../../../tmp", str(r / "up"))  # climbing out: clamped at the root
    os.symlink("real", str(r / "rel"))
    os.symlink("loop2", str(r / "loop1"))
    os.symlink("loop1", str(r / "loop2"))
    return str(r)


@pytest.mark.parametrize("unsafe,expected", [
    ("/etc/passwd", "etc/passwd"),
    ("etc/../etc/./passwd", "etc/passwd"),
    ("/../../../etc", "etc"),
    ("/abs/passwd", "etc/passwd"),
    ("/up/x", "tmp/x"),
    ("/rel/x", "real/x"),
    ("/", ""),
    ("/new/dir/file", "new/dir/file"),
])
def test_secure_join_stays_inside(root, unsafe, expected):
    got = secure_join(root, unsafe)
    assert got == os.path.join(root, expected).rstrip("/")
    assert within(root, got)


def test_symlink_loop_is_an_error(root):
    with pytest.raises(OSError, match="too many levels"):
        secure_join(root, "/loop1/x")


def test_within():
    assert within("/a/b", "/a/b/c")
    assert within("/a/b", "/a/b")
    assert not within("/a/b", "/a/bc")
    assert not within("/a/b", "/a")
