"""imagetools.commit: which runtime-made mount points a commit leaves out (pure)."""
import pytest
from gantry.highlevel.imagetools import commit


@pytest.mark.parametrize("mounts,out", [
    ([], []),
    ([{"destination": "/proc"}, {"destination": "/etc/hosts"}, {"destination": "/proc"}], ["etc/hosts", "proc"]),
    ([{"destination": "/dev/shm/"}, {"type": "bind"}], ["dev/shm"]),
])
def test_mount_points(mounts, out):
    assert commit.mount_points({"mounts": mounts}) == out
