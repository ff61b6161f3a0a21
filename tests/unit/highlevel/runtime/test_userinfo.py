"""userinfo: reading inside a rootfs (symlink escapes refused), passwd/group parsing, user resolution."""
import os

import pytest
from gantry.api import cri_pb2
from gantry.highlevel.errors import InvalidArgument
from gantry.highlevel.runtime import userinfo
from gantry.highlevel.runtime.userinfo import User
from google.protobuf import json_format

PASSWD = """root:x:0:0:root:/root:/bin/sh
# a comment
daemon:x:1:1:daemon:/usr/sbin:/bin/false
default-user:x:1000:1000::/home/default-user:/bin/sh
broken line
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
badnum:x:abc:1::/:/bin/sh
"""
GROUP = """root:x:0:
default-user:x:1000:default-user
group-defined-in-image:x:50000:default-user,other
wheel:x:10:root, default-user
nogroup:x:65534:
"""


@pytest.fixture
def rootfs(tmp_path):
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    return root


# ---------------------------------------------------------------- read_in_root

def test_read_in_root_plain(rootfs):
    assert userinfo.read_in_root(str(rootfs), "/etc/passwd") == PASSWD.encode()
    assert userinfo.read_in_root(str(rootfs), "etc/./passwd") == PASSWD.encode()
    assert userinfo.read_in_root(str(rootfs), "/etc/missing") is None
    assert userinfo.read_in_root(str(rootfs), "/nodir/passwd") is None
    assert userinfo.read_in_root(str(rootfs), "/etc/passwd/x") is None      # through a file
    assert userinfo.read_in_root(str(rootfs), "/etc") is None               # a directory


def test_absolute_symlink_stays_inside(rootfs, tmp_path):
    (tmp_path / "host-secret").write_text("host")
    os.symlink(str(tmp_path / "host-secret"), rootfs / "etc" / "abs")      # host path of the secret...
    assert userinfo.read_in_root(str(rootfs), "/etc/abs") is None           # ...resolved inside: absent
    os.symlink("/etc/passwd", rootfs / "etc" / "abs-inside")
    assert userinfo.read_in_root(str(rootfs), "/etc/abs-inside") == PASSWD.encode()


def test_relative_dotdot_symlink_stays_inside(rootfs, tmp_path):
    (tmp_path / "secret").write_text("host")
    os.symlink("../../../../../../secret", rootfs / "etc" / "up")
    assert userinfo.read_in_root(str(rootfs), "/etc/up") is None
    (rootfs / "secret").write_text("inside")
    assert userinfo.read_in_root(str(rootfs), "/etc/up") == b"inside"       # clamped at the root
    assert userinfo.read_in_root(str(rootfs), "/../../secret") == b"inside"


def test_symlinked_directory_and_loops(rootfs, tmp_path):
    os.symlink("/etc", rootfs / "etclink")
    assert userinfo.read_in_root(str(rootfs), "/etclink/group") == GROUP.encode()
    os.symlink(str(tmp_path), rootfs / "hostdir")                          # absolute host dir -> inside
    assert userinfo.read_in_root(str(rootfs), "/hostdir/rootfs/etc/passwd") is None
    os.symlink("loop2", rootfs / "loop1")
    os.symlink("loop1", rootfs / "loop2")
    with pytest.raises(InvalidArgument, match="too many levels"):
        userinfo.read_in_root(str(rootfs), "/loop1")


def test_size_limit_and_special_files(rootfs):
    (rootfs / "big").write_bytes(b"x" * 100)
    assert userinfo.read_in_root(str(rootfs), "/big", limit=100) == b"x" * 100
    with pytest.raises(InvalidArgument, match="larger than 99 bytes"):
        userinfo.read_in_root(str(rootfs), "/big", limit=99)
    os.mkfifo(rootfs / "fifo")
    with pytest.raises(InvalidArgument, match="not a regular file"):
        userinfo.read_in_root(str(rootfs), "/fifo")                        # never blocks on a fifo


def test_resolve_in_root(rootfs, tmp_path):
    os.symlink("/etc", rootfs / "etclink")
    os.symlink(str(tmp_path), rootfs / "escape")
    assert userinfo.resolve_in_root(str(rootfs), "/etclink/passwd") == os.path.join(str(rootfs), "etc", "passwd")
    assert userinfo.resolve_in_root(str(rootfs), "/escape") is None
    assert userinfo.resolve_in_root(str(rootfs), "/etc/..") == str(rootfs)
    assert userinfo.resolve_in_root(str(rootfs), "/etclink") == os.path.join(str(rootfs), "etc")


# ---------------------------------------------------------------- parsing

def test_parse_passwd_and_group():
    users = userinfo.parse_passwd(PASSWD)
    assert [(u.name, u.uid, u.gid) for u in users] == [("root", 0, 0), ("daemon", 1, 1), ("default-user", 1000, 1000),
                                                      ("nobody", 65534, 65534)]
    groups = userinfo.parse_group(GROUP)
    assert [(g.name, g.gid, g.members) for g in groups] == [
        ("root", 0, []), ("default-user", 1000, ["default-user"]),
        ("group-defined-in-image", 50000, ["default-user", "other"]), ("wheel", 10, ["root", "default-user"]),
        ("nogroup", 65534, [])]


# ---------------------------------------------------------------- resolution

def sc(d=None):
    d = {k: ({"value": v} if k in ("runAsUser", "runAsGroup") else v) for k, v in (d or {}).items()}
    return json_format.ParseDict(d, cri_pb2.LinuxContainerSecurityContext())


@pytest.mark.parametrize("context,image_user,expected", [
    ({}, "", User(0, 0, [0, 10], "root")),           # root is listed in wheel
    ({}, "default-user", User(1000, 1000, [10, 1000, 50000], "default-user")),
    ({}, "1000", User(1000, 1000, [10, 1000, 50000], "default-user")),
    ({}, "1000:5", User(1000, 5, [5, 10, 50000], "default-user")),
    ({}, "default-user:wheel", User(1000, 10, [10, 50000], "default-user")),
    ({}, "4242", User(4242, 0, [0], "")),                        # unknown uid: fine, gid 0
    ({}, "4242:4243", User(4242, 4243, [4243], "")),
    ({"runAsUser": "1001"}, "default-user", User(1001, 0, [0], "")),
    ({"runAsUser": "1001", "runAsGroup": "1002"}, "", User(1001, 1002, [1002], "")),
    ({"runAsUsername": "nobody"}, "", User(65534, 65534, [65534], "nobody")),
    ({"runAsUsername": "nobody", "runAsUser": "5"}, "", User(65534, 65534, [65534], "nobody")),
    ({"runAsUser": "0"}, "default-user", User(0, 0, [0, 10], "root")),
    ({"supplementalGroups": ["1234", "5678"]}, "", User(0, 0, [0, 10, 1234, 5678], "root")),
    # critest SupplementalGroupsPolicy: Merge adds the image's groups, Strict does not
    ({"runAsUser": "1000", "supplementalGroups": ["1234"]}, "", User(1000, 1000, [10, 1000, 1234, 50000], "default-user")),
    ({"runAsUser": "1000", "supplementalGroups": ["1234"], "supplementalGroupsPolicy": "Strict"}, "",
     User(1000, 1000, [1000, 1234], "default-user")),
])
def test_resolve(rootfs, context, image_user, expected):
    assert userinfo.resolve(str(rootfs), sc(context), image_user) == expected


@pytest.mark.parametrize("context,image_user,words", [
    ({"runAsGroup": "1002"}, "", "run_as_group: set without run_as_user"),
    ({"runAsUsername": "ghost"}, "", "run_as_username: user 'ghost' not found"),
    ({}, "ghost", "User 'ghost'"),
    ({}, "root:ghosts", "group 'ghosts' not found"),
    ({"runAsUser": "-1"}, "", "out of range"),
    ({"runAsUser": "4294967296"}, "", "out of range"),
    ({"supplementalGroups": ["-5"]}, "", "supplemental group"),
])
def test_resolve_refused(rootfs, context, image_user, words):
    with pytest.raises(InvalidArgument) as info:
        userinfo.resolve(str(rootfs), sc(context), image_user)
    assert words in str(info.value) and str(info.value).startswith("CreateContainer")


def test_resolve_without_etc_files(tmp_path):
    assert userinfo.resolve(str(tmp_path), None, "") == User(0, 0, [0], "")
    assert userinfo.resolve(str(tmp_path), sc({"runAsUser": "7"}), "") == User(7, 0, [0], "")
    with pytest.raises(InvalidArgument):
        userinfo.resolve(str(tmp_path), None, "someone")


def test_resolve_reads_passwd_through_rootfs_symlink_only(rootfs, tmp_path):
    """/etc/passwd as an absolute symlink to a host file is looked up inside the rootfs, never on the host."""
    host = tmp_path / "hostpasswd"
    host.write_text("evil:x:0:0::/:/bin/sh\n")
    os.remove(rootfs / "etc" / "passwd")
    os.symlink(str(host), rootfs / "etc" / "passwd")
    with pytest.raises(InvalidArgument, match="'evil' not found"):
        userinfo.resolve(str(rootfs), sc({"runAsUsername": "evil"}), "")
