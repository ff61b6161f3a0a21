"""The CRI ImageService adapter against a fake images facade with the agreed interface."""
import logging
import os
import threading
from dataclasses import dataclass, field

import pytest
from gantry.api import cri_pb2
from gantry.highlevel.cri.image_service import ImageService
from gantry.highlevel.errors import InvalidArgument, NotFound, Unavailable

BUSY = "sha256:" + "11" * 32
ALP = "sha256:" + "22" * 32


@dataclass
class Img:
    id: str
    repo_tags: list
    repo_digests: list = field(default_factory=list)
    size: int = 1000
    uid: int | None = 0
    username: str = ""
    annotations: dict = field(default_factory=dict)
    pinned: bool = False


class FakeImages:
    """Exactly the facade interface: list_images, image_status, pull, remove, fs_info (+ config)."""

    def __init__(self):
        self.images = {BUSY: Img(BUSY, ["docker.io/library/busybox:1.36"]),
                       ALP: Img(ALP, ["docker.io/library/alpine:3"], uid=None, username="nobody")}
        self.calls = []

    def _find(self, ref):
        for img in self.images.values():
            if ref in (img.id, *img.repo_tags) or ref in ("busybox" if img.id == BUSY else "alpine",):
                return img
        return None

    def list_images(self, filter_ref=None):
        self.calls.append(("list", filter_ref))
        if filter_ref:
            img = self._find(filter_ref)
            return [img] if img else []
        return list(self.images.values())

    def image_status(self, ref):
        return self._find(ref)

    def pull(self, ref, auth=None, progress=None):
        self.calls.append(("pull", ref, auth))
        if ref == "unreachable":
            raise Unavailable("pull unreachable: connection refused")
        progress("layer", 10, 100)
        self.images.setdefault(BUSY, Img(BUSY, ["docker.io/library/busybox:1.36"]))
        return BUSY

    def remove(self, ref):
        self.calls.append(("remove", ref))
        img = self._find(ref)
        if img is None:
            raise NotFound("remove %s: no such image" % ref)
        del self.images[img.id]

    def fs_info(self):
        return [("/var/lib/gantry/images/snapshots", 8192, 4)]

    def config(self, image_id):
        return {"architecture": "amd64", "config": {"User": "0"}}


@pytest.fixture
def svc():
    return ImageService(FakeImages(), clock=lambda: 42)


def spec(ref):
    return cri_pb2.ImageSpec(image=ref)


def test_list_all_and_filtered(svc):
    resp = svc.ListImages(cri_pb2.ListImagesRequest(), None)
    assert sorted(i.id for i in resp.images) == [BUSY, ALP]
    req = cri_pb2.ListImagesRequest()
    req.filter.image.image = "alpine"
    resp = svc.ListImages(req, None)
    assert [i.id for i in resp.images] == [ALP]
    assert resp.images[0].username == "nobody" and not resp.images[0].HasField("uid")


def test_stream_images_batches_everything(svc):
    batches = list(svc.StreamImages(cri_pb2.StreamImagesRequest(), None))
    assert sorted(i.id for b in batches for i in b.images) == [BUSY, ALP]


def test_status_present_and_verbose(svc):
    resp = svc.ImageStatus(cri_pb2.ImageStatusRequest(image=spec("busybox")), None)
    assert resp.image.id == BUSY and resp.image.uid.value == 0
    assert dict(resp.info) == {}
    resp = svc.ImageStatus(cri_pb2.ImageStatusRequest(image=spec("busybox"), verbose=True), None)
    assert '"imageSpec"' in resp.info["info"] and '"architecture": "amd64"' in resp.info["info"]


def test_status_absent_is_empty_not_an_error(svc):
    resp = svc.ImageStatus(cri_pb2.ImageStatusRequest(image=spec("nginx")), None)
    assert not resp.HasField("image")
    assert resp == cri_pb2.ImageStatusResponse()


def test_pull_returns_the_image_id_with_credentials(svc):
    req = cri_pb2.PullImageRequest(image=spec("busybox:1.36"), auth=cri_pb2.AuthConfig(username="u", password="p"))
    assert svc.PullImage(req, None).image_ref == BUSY
    _, ref, auth = svc.images.calls[-1]
    assert ref == "busybox:1.36" and (auth.username, auth.password) == ("u", "p")
    svc.PullImage(cri_pb2.PullImageRequest(image=spec("busybox")), None)
    assert svc.images.calls[-1][2] is None
    listed = svc.ListImages(cri_pb2.ListImagesRequest(), None)
    assert BUSY in [i.id for i in listed.images]


def test_pull_errors_propagate_as_domain_errors(svc):
    with pytest.raises(Unavailable):
        svc.PullImage(cri_pb2.PullImageRequest(image=spec("unreachable")), None)
    with pytest.raises(InvalidArgument):
        svc.PullImage(cri_pb2.PullImageRequest(), None)


def test_remove_by_tag_removes_the_whole_image(svc):
    svc.images.images[BUSY].repo_tags.append("docker.io/library/busybox:latest")
    svc.RemoveImage(cri_pb2.RemoveImageRequest(image=spec("docker.io/library/busybox:latest")), None)
    assert BUSY not in svc.images.images
    assert ("remove", BUSY) in svc.images.calls  # by id: every tag goes
    assert ALP in svc.images.images


def test_remove_is_idempotent(svc):
    svc.RemoveImage(cri_pb2.RemoveImageRequest(image=spec(BUSY)), None)
    assert BUSY not in svc.images.images
    svc.RemoveImage(cri_pb2.RemoveImageRequest(image=spec(BUSY)), None)  # again: fine
    with pytest.raises(InvalidArgument):
        svc.RemoveImage(cri_pb2.RemoveImageRequest(), None)


def test_image_fs_info(svc):
    resp = svc.ImageFsInfo(cri_pb2.ImageFsInfoRequest(), None)
    [fs] = resp.image_filesystems
    assert (fs.timestamp, fs.fs_id.mountpoint, fs.used_bytes.value, fs.inodes_used.value) == \
        (42, "/var/lib/gantry/images/snapshots", 8192, 4)
    assert list(resp.container_filesystems) == []


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_progress_is_logged_every_few_seconds():
    from gantry.highlevel.cri import image_service

    now = [100.0]
    progress = image_service._progress_reporter("busybox", None, every_seconds=5, clock=lambda: now[0])
    logger = logging.getLogger("gantry.cri.images")
    capture = _Records()
    saved = logger.level, logger.propagate
    logger.addHandler(capture)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        progress("sha256:aa", 10, 100)  # t=0: too early
        now[0] = 106.0
        progress("sha256:aa", 50, 100)
        now[0] = 107.0
        progress("sha256:aa", 60, 100)  # 1 s later: skipped
        now[0] = 112.0
        progress("sha256:bb", 5)
    finally:
        logger.removeHandler(capture)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
    # only this thread's records: a pull of an earlier test may still log from its own threads
    fields = [r.fields for r in capture.records
              if r.getMessage() == "pull progress" and r.thread == threading.get_ident()]
    assert fields == [{"ref": "busybox", "blob": "sha256:aa", "done": 50, "total": 100},
                      {"ref": "busybox", "blob": "sha256:bb", "done": 5, "total": "?"}]


def test_pull_publishes_progress_while_it_runs(tmp_path):
    from gantry.highlevel.cri import pull_progress

    seen = []

    class Pulling(FakeImages):
        def pull(self, ref, auth=None, progress=None):
            progress("sha256:aa", 10, 100)
            seen.append(pull_progress.parse(open(pull_progress.progress_path(str(tmp_path), ref), "rb").read()))
            if ref == "broken":
                raise Unavailable("pull broken: registry went away")
            return BUSY

    svc = ImageService(Pulling(), pulls_dir=str(tmp_path))
    assert svc.PullImage(cri_pb2.PullImageRequest(image=spec("busybox")), None).image_ref == BUSY
    assert seen[0]["ref"] == "busybox" and seen[0]["done"] == 10 and seen[0]["total"] == 100
    with pytest.raises(Unavailable):
        svc.PullImage(cri_pb2.PullImageRequest(image=spec("broken")), None)
    assert os.listdir(str(tmp_path)) == []  # removed after success and after failure


def test_concurrent_pulls_of_one_reference_share_one_progress_file(tmp_path):
    from gantry.highlevel.cri import pull_progress

    path = pull_progress.progress_path(str(tmp_path), "busybox")
    started = [threading.Event(), threading.Event()]
    may_end = [threading.Event(), threading.Event()]
    calls = []

    class Pulling(FakeImages):
        def pull(self, ref, auth=None, progress=None):
            n = len(calls)
            calls.append(ref)
            progress("sha256:aa", 10 * (n + 1), 100)
            started[n].set()
            assert may_end[n].wait(10)
            return BUSY

    svc = ImageService(Pulling(), pulls_dir=str(tmp_path))
    request = cri_pb2.PullImageRequest(image=spec("busybox"))
    answers = []
    pulls = [threading.Thread(target=lambda: answers.append(svc.PullImage(request, None).image_ref))
             for _ in range(2)]
    pulls[0].start()
    assert started[0].wait(10) and os.path.exists(path)
    pulls[1].start()
    assert started[1].wait(10)
    may_end[0].set()
    pulls[0].join(10)
    assert answers == [BUSY]
    assert os.path.exists(path)          # the second pull still runs: its clients still see progress
    may_end[1].set()
    pulls[1].join(10)
    assert answers == [BUSY, BUSY]
    assert os.listdir(str(tmp_path)) == []
