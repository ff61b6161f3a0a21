"""hostmounts: host paths of CRI mounts (existence, symlinks, propagation) and image volumes."""
import os

import pytest
from gantry.api import cri_pb2
from gantry.highlevel.errors import FailedPrecondition, InvalidArgument, NotFound
from gantry.highlevel.runtime import hostmounts
from google.protobuf import json_format

MOUNTINFO = r"""22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/root rw
30 22 0:25 / /srv rw shared:5 - tmpfs tmpfs rw
31 30 0:26 / /srv/private rw - tmpfs tmpfs rw
32 30 0:27 / /srv/slave rw master:5 - tmpfs tmpfs rw
33 22 0:28 / /with\040space rw - tmpfs tmpfs rw
"""


def config(mounts):
    return json_format.ParseDict({"mounts": mounts}, cri_pb2.ContainerConfig())


@pytest.fixture
def mountinfo(tmp_path):
    path = tmp_path / "mountinfo"
    path.write_text(MOUNTINFO)
    return str(path)


def test_resolves_symlinks_and_keeps_order(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    cfg = config([{"containerPath": "/a", "hostPath": str(tmp_path / "link")},
                  {"containerPath": "/b", "hostPath": str(real)},
                  {"containerPath": "/c", "image": {"image": "busybox"}}])
    assert hostmounts.check_host_mounts(cfg) == [str(real), str(real), None]


@pytest.mark.parametrize("host,error,words", [
    ("", InvalidArgument, "mounts[0].host_path: empty"),
    ("relative/dir", InvalidArgument, "must be an absolute path"),
    ("/no/such/path/anywhere", NotFound, "/no/such/path/anywhere does not exist"),
])
def test_refused(host, error, words):
    with pytest.raises(error) as info:
        hostmounts.check_host_mounts(config([{"containerPath": "/a", "hostPath": host}]))
    assert words in str(info.value)


def test_dangling_symlink(tmp_path):
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    with pytest.raises(NotFound, match="dangling symlink"):
        hostmounts.check_host_mounts(config([{"containerPath": "/a", "hostPath": str(tmp_path / "dangling")}]))


def test_parse_mountinfo_and_lookup():
    table = hostmounts.parse_mountinfo(MOUNTINFO)
    assert table[4] == ("/with space", [])
    assert hostmounts.mount_of(table, "/srv/private/x")[0] == "/srv/private"
    assert hostmounts.mount_of(table, "/srv/privatex")[0] == "/srv"
    assert hostmounts.mount_of(table, "/etc") == ("/", ["shared:1"])


@pytest.mark.parametrize("propagation,path,ok", [
    ("PROPAGATION_BIDIRECTIONAL", "/srv/data", True),
    ("PROPAGATION_BIDIRECTIONAL", "/srv/slave/data", False),
    ("PROPAGATION_BIDIRECTIONAL", "/srv/private/data", False),
    ("PROPAGATION_HOST_TO_CONTAINER", "/srv/slave/data", True),
    ("PROPAGATION_HOST_TO_CONTAINER", "/srv/data", True),
    ("PROPAGATION_HOST_TO_CONTAINER", "/srv/private/data", False),
    ("PROPAGATION_PRIVATE", "/srv/private/data", True),
])
def test_propagation_needs_shared_or_slave(monkeypatch, mountinfo, propagation, path, ok):
    monkeypatch.setattr(os.path, "lexists", lambda p: True)
    monkeypatch.setattr(os.path, "exists", lambda p: True)
    monkeypatch.setattr(os.path, "realpath", lambda p: p)
    cfg = config([{"containerPath": "/a", "hostPath": path, "propagation": propagation}])
    if ok:
        assert hostmounts.check_host_mounts(cfg, mountinfo) == [path]
    else:
        with pytest.raises(FailedPrecondition, match="mounts\\[0\\].host_path"):
            hostmounts.check_host_mounts(cfg, mountinfo)


def test_prepare_image_volumes_copies_content(tmp_path):
    rootfs = tmp_path / "rootfs"
    data = rootfs / "var" / "lib" / "data"
    (data / "sub").mkdir(parents=True)
    (data / "file").write_text("hello")
    (data / "sub" / "x").write_text("x")
    (data / "link").symlink_to("/etc/passwd")
    os.chmod(data, 0o750)
    os.chown(data / "file", 123, 456) if os.geteuid() == 0 else None
    (rootfs / "etc").mkdir()
    (rootfs / "escape").symlink_to(str(tmp_path))                       # resolved inside: absent
    image = {"config": {"Volumes": {"/var/lib/data": {}, "/empty/new": {}, "/escape": {}}}}
    out = hostmounts.prepare_image_volumes(image, str(tmp_path / "c1"), str(rootfs))
    assert sorted(out) == ["/empty/new", "/escape", "/var/lib/data"]
    vol = out["/var/lib/data"]
    assert vol.startswith(str(tmp_path / "c1" / "volumes") + "/")
    assert (open(os.path.join(vol, "file")).read(), open(os.path.join(vol, "sub", "x")).read()) == ("hello", "x")
    assert os.readlink(os.path.join(vol, "link")) == "/etc/passwd"
    assert os.stat(vol).st_mode & 0o777 == 0o750
    if os.geteuid() == 0:
        st = os.stat(os.path.join(vol, "file"))
        assert (st.st_uid, st.st_gid) == (123, 456)
    assert os.listdir(out["/empty/new"]) == [] and os.listdir(out["/escape"]) == []
    # again (a retried CreateContainer): starts over without error
    assert hostmounts.prepare_image_volumes(image, str(tmp_path / "c1"), str(rootfs)) == out


def test_prepare_image_volumes_none_and_bad(tmp_path):
    assert hostmounts.prepare_image_volumes({"config": {}}, str(tmp_path), str(tmp_path)) == {}
    assert hostmounts.prepare_image_volumes(None, str(tmp_path), str(tmp_path)) == {}
    with pytest.raises(InvalidArgument, match="relative"):
        hostmounts.prepare_image_volumes({"config": {"Volumes": {"relative": {}}}}, str(tmp_path), str(tmp_path))
