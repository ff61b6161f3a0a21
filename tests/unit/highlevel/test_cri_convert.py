"""CRI <-> domain conversion (pure)."""
import base64
import json
from dataclasses import dataclass, field

import pytest
from gantry.api import cri_pb2
from gantry.highlevel.cri import convert
from gantry.highlevel.errors import InvalidArgument

ID = "sha256:" + "ab" * 32


@dataclass
class Img:
    id: str = ID
    repo_tags: list = field(default_factory=lambda: ["docker.io/library/busybox:1.36"])
    repo_digests: list = field(default_factory=lambda: ["docker.io/library/busybox@sha256:" + "cd" * 32])
    size: int = 4_300_000
    uid: int | None = None
    username: str = ""
    annotations: dict = field(default_factory=dict)
    pinned: bool = False


def test_version_response():
    v = convert.version_response("1.2.3")
    assert (v.runtime_name, v.runtime_api_version, v.runtime_version) == ("gantry", "v1", "1.2.3")
    assert v.version
    with pytest.raises(ValueError):
        convert.version_response("")


def test_image_with_numeric_user():
    msg = convert.image_to_cri(Img(uid=0, annotations={"a": "b"}, pinned=True))
    assert msg.id == ID
    assert list(msg.repo_tags) == ["docker.io/library/busybox:1.36"]
    assert msg.repo_digests[0].endswith("cd" * 32)
    assert msg.size == 4_300_000
    assert msg.HasField("uid") and msg.uid.value == 0  # root is uid 0, not "unset"
    assert msg.username == ""
    assert msg.spec.image == ID and dict(msg.spec.annotations) == {"a": "b"}
    assert msg.pinned


def test_image_with_user_name_leaves_uid_unset():
    msg = convert.image_to_cri(Img(username="nobody"))
    assert not msg.HasField("uid")
    assert msg.username == "nobody"


def test_verbose_info_is_json():
    info = convert.verbose_info(Img(uid=1000), config={"architecture": "amd64"})
    assert list(info) == ["info"]
    doc = json.loads(info["info"])
    assert doc["id"] == ID and doc["user"] == "1000" and doc["imageSpec"] == {"architecture": "amd64"}


@pytest.mark.parametrize("spec", [None, cri_pb2.ImageSpec(), cri_pb2.ImageSpec(image="  ")])
def test_empty_image_ref_is_invalid(spec):
    with pytest.raises(InvalidArgument, match="PullImage: no image given"):
        convert.image_ref(spec, "PullImage")


def test_image_filter():
    assert convert.image_filter(cri_pb2.ListImagesRequest()) is None
    req = cri_pb2.ListImagesRequest()
    req.filter.image.image = "busybox"
    assert convert.image_filter(req) == "busybox"
    req.filter.image.image = ""
    assert convert.image_filter(req) is None


def test_auth_absent_or_empty_is_none():
    assert convert.auth_from_cri(None) is None
    assert convert.auth_from_cri(cri_pb2.AuthConfig()) is None


def test_auth_username_password_and_base64():
    creds = convert.auth_from_cri(cri_pb2.AuthConfig(username="u", password="p"))
    assert (creds.username, creds.password) == ("u", "p")
    creds = convert.auth_from_cri(cri_pb2.AuthConfig(auth=base64.b64encode(b"alice:s3:cret").decode()))
    assert (creds.username, creds.password) == ("alice", "s3:cret")
    creds = convert.auth_from_cri(cri_pb2.AuthConfig(identity_token="idt", registry_token="rt"))
    assert (creds.identity_token, creds.registry_token) == ("idt", "rt")
    with pytest.raises(InvalidArgument):
        convert.auth_from_cri(cri_pb2.AuthConfig(auth="%%%"))


@dataclass
class Usage:
    timestamp_ns: int
    mountpoint: str
    used_bytes: int
    inodes_used: int


def test_fs_info_from_object_list_and_tuples():
    [fs] = convert.fs_info_to_cri(Usage(5, "/var/lib/gantry/images/snapshots", 4096, 3), 99)
    assert (fs.timestamp, fs.fs_id.mountpoint, fs.used_bytes.value, fs.inodes_used.value) == \
        (5, "/var/lib/gantry/images/snapshots", 4096, 3)
    a, b = convert.fs_info_to_cri([("/a", 1, None), ("/b", 2, 7)], 99)
    assert a.timestamp == 99 and a.fs_id.mountpoint == "/a" and not a.HasField("inodes_used")
    assert b.inodes_used.value == 7
    [c] = convert.fs_info_to_cri(("/c", 0, 0), 1)
    assert c.HasField("used_bytes") and c.used_bytes.value == 0


def test_batches():
    assert convert.batches([], 2) == [[]]
    assert convert.batches([1, 2, 3], 2) == [[1, 2], [3]]
    with pytest.raises(ValueError):
        convert.batches([1], 0)
