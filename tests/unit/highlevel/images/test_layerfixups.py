"""layerfixups.resolve_in_lowers: a path through lower layers' symlinks, never leaving the image."""
import os

import pytest
from gantry.highlevel import errors
from gantry.highlevel.images import layerfixups


@pytest.fixture
def lowers(tmp_path):
    """Two layers, top first: the top one links into what the bottom one holds."""
    top, bottom = tmp_path / "top", tmp_path / "bottom"
    for d in ("srv/data", "usr/bin", "etc"):
        os.makedirs(bottom / d)
    os.symlink("usr/bin", bottom / "bin")
    top.mkdir()
    os.symlink("/srv/data", top / "abs")
    os.symlink("../../../srv/data", top / "climb")
    os.symlink("abs", top / "chain")
    os.symlink("loop2", top / "loop1")
    os.symlink("loop1", top / "loop2")
    os.symlink("/etc/../srv", top / "dots")
    return [str(top), str(bottom)]


@pytest.mark.parametrize("path, real", [
    ("abs", ("srv", "data")),
    ("abs/x/y", ("srv", "data", "x", "y")),
    ("climb", ("srv", "data")),
    ("chain/z", ("srv", "data", "z")),
    ("bin/tool", ("usr", "bin", "tool")),
    ("dots/data", ("srv", "data")),
    ("etc/passwd", ("etc", "passwd")),
    ("missing/dir", ("missing", "dir")),
])
def test_resolve_in_lowers(lowers, path, real):
    assert layerfixups.resolve_in_lowers(lowers, tuple(path.split("/")), "t") == real


def test_resolve_in_lowers_refuses_a_loop(lowers):
    with pytest.raises(errors.InvalidArgument, match="loop1.*more than 40 symlinks|more than 40 symlinks"):
        layerfixups.resolve_in_lowers(lowers, ("loop1", "f"), "layer entries under 'loop1'")
