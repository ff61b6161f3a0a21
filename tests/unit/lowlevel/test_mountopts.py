"""mountopts.parse: the option table turned into mount(2) flags, propagation, recursive attributes, data."""
import pytest
from gantry.lowlevel import mountopts
from gantry.lowlevel.syscalls import (
    MOUNT_ATTR__ATIME,
    MOUNT_ATTR_NOATIME,
    MOUNT_ATTR_NOEXEC,
    MOUNT_ATTR_RDONLY,
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_RELATIME,
    MS_SHARED,
    MS_SLAVE,
    MS_STRICTATIME,
    MS_UNBINDABLE,
)

P = mountopts.Parsed

CASES = [
    ([], P()),
    (["nosuid", "noexec", "nodev"], P(flags=MS_NOSUID | MS_NOEXEC | MS_NODEV)),
    (["ro", "rw"], P()),
    (["rw", "ro"], P(flags=MS_RDONLY)),
    (["bind"], P(flags=MS_BIND)),
    (["rbind", "ro"], P(flags=MS_BIND | MS_REC | MS_RDONLY)),
    (["strictatime", "mode=755", "size=65536k"], P(flags=MS_STRICTATIME, data="mode=755,size=65536k")),
    (["relatime", "norelatime"], P()),
    (["nosuid", "suid"], P()),
    (["rprivate"], P(propagation=[MS_PRIVATE | MS_REC])),
    (["shared", "rslave"], P(propagation=[MS_SHARED, MS_SLAVE | MS_REC])),
    (["runbindable"], P(propagation=[MS_UNBINDABLE | MS_REC])),
    (["rro"], P(rec_set=MOUNT_ATTR_RDONLY)),
    (["rro", "rrw"], P(rec_clr=MOUNT_ATTR_RDONLY)),
    (["rnoexec", "rnoatime"], P(rec_set=MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOATIME, rec_clr=MOUNT_ATTR__ATIME)),
    (["tmpcopyup", "newinstance", "ptmxmode=0666"], P(data="newinstance,ptmxmode=0666", extra={"tmpcopyup"})),
    (["relatime", "gid=5"], P(flags=MS_RELATIME, data="gid=5")),
]


@pytest.mark.parametrize("options,expected", CASES, ids=[",".join(c[0]) or "none" for c in CASES])
def test_parse(options, expected):
    assert mountopts.parse(options) == expected


def test_every_table_entry_is_an_int_flag():
    for table in (mountopts.FLAGS, mountopts.RECURSIVE):
        for name, (clear, flag) in table.items():
            assert isinstance(clear, bool) and isinstance(flag, int), name
    assert set(mountopts.FLAGS).isdisjoint(mountopts.PROPAGATION)
    assert set(mountopts.FLAGS).isdisjoint(mountopts.RECURSIVE)
