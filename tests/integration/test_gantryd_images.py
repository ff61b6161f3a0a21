"""gantryd's CRI ImageService end to end: a real registry on 127.0.0.1, gRPC, gantryctl and crictl.

The registry is Debian's docker-registry (tests/fixtures/registry.py); images come from
tests/fixtures/ociimage.py and are pushed with skopeo.  crictl is not a Debian package: the
crictl tests run when crictl is found ($CRICTL, $PATH, /usr/local/bin, /work/suites/bin; built
locally from cri-tools) and skip, saying so, on a machine without it.
"""
import json
import os
import shutil
import signal
import subprocess
import threading
import time

import grpc
import pytest
from gantry.api import cri_pb2

from tests.fixtures import ociimage

from .gantryd_proc import GantrydProcess, write_hosts

CRICTL = os.environ.get("CRICTL") or shutil.which("crictl") or next(
    (p for p in ("/usr/local/bin/crictl", "/work/suites/bin/crictl") if os.path.exists(p)), "/usr/local/bin/crictl")

pytestmark = [pytest.mark.root]  # unpacking layers keeps owners and device nodes


@pytest.fixture(scope="module")
def pushed(registry, basic_auth_registry, busybox_rootfs, tmp_path_factory):
    """busybox:1.36 and :latest on the plain registry, busybox:1.36 behind basic auth; their image ids."""
    work = tmp_path_factory.mktemp("gantryd-images")
    img = ociimage.busybox_image(busybox_rootfs)
    layout = str(work / "layout")
    ociimage.write_layout(layout, {"1.36": img})
    repo = "gantryd-images/busybox"
    registry.push(layout, repo, "1.36")
    registry.push(layout, repo, "latest", src_tag="1.36")
    basic_auth_registry.push(layout, repo, "1.36")
    certs = str(work / "certs.d")
    write_hosts(certs, registry.host)
    write_hosts(certs, basic_auth_registry.host, scheme="https", ca=basic_auth_registry.ca)
    return {"id": img.config_digest, "manifest": img.manifest_digest, "certs": certs,
            "ref": "%s/%s:1.36" % (registry.host, repo), "latest": "%s/%s:latest" % (registry.host, repo),
            "auth_ref": "%s/%s:1.36" % (basic_auth_registry.host, repo), "creds": basic_auth_registry.creds,
            "repo": "%s/%s" % (registry.host, repo)}


@pytest.fixture
def gantryd(pushed, tmp_path):
    gd = GantrydProcess(str(tmp_path), registry_config_dir=pushed["certs"])
    try:
        gd.start()
        yield gd
        assert gd.stop() == 0
    finally:
        gd.cleanup()


def pull(gd, ref, auth=None, timeout=120):
    req = cri_pb2.PullImageRequest(image=cri_pb2.ImageSpec(image=ref))
    if auth is not None:
        req.auth.CopyFrom(auth)
    return gd.images.PullImage(req, timeout=timeout).image_ref


def status(gd, ref, verbose=False):
    return gd.images.ImageStatus(cri_pb2.ImageStatusRequest(image=cri_pb2.ImageSpec(image=ref), verbose=verbose),
                                 timeout=10)


def listed(gd):
    return {i.id: i for i in gd.images.ListImages(cri_pb2.ListImagesRequest(), timeout=10).images}


def remove(gd, ref):
    gd.images.RemoveImage(cri_pb2.RemoveImageRequest(image=cri_pb2.ImageSpec(image=ref)), timeout=30)


def test_pull_list_status_remove(gantryd, pushed):
    image_id = pull(gantryd, pushed["ref"])
    assert image_id == pushed["id"]  # the image id is the config digest
    images = listed(gantryd)
    assert list(images) == [image_id]
    img = images[image_id]
    assert list(img.repo_tags) == [pushed["ref"]]
    assert list(img.repo_digests) == ["%s@%s" % (pushed["repo"], pushed["manifest"])]
    assert img.size > 500_000
    for ref in (pushed["ref"], image_id, image_id[len("sha256:"):], "%s@%s" % (pushed["repo"], pushed["manifest"])):
        assert status(gantryd, ref).image.id == image_id, ref
    streamed = list(gantryd.images.StreamImages(cri_pb2.StreamImagesRequest(), timeout=10))
    assert [i.id for batch in streamed for i in batch.images] == [image_id]
    req = cri_pb2.ListImagesRequest()
    req.filter.image.image = pushed["ref"]
    assert [i.id for i in gantryd.images.ListImages(req, timeout=10).images] == [image_id]
    req.filter.image.image = pushed["repo"] + ":other"
    assert list(gantryd.images.ListImages(req, timeout=10).images) == []
    info = json.loads(status(gantryd, pushed["ref"], verbose=True).info["info"])
    assert info["imageSpec"]["rootfs"]["type"] == "layers"
    fs = gantryd.images.ImageFsInfo(cri_pb2.ImageFsInfoRequest(), timeout=10).image_filesystems[0]
    assert fs.used_bytes.value > 500_000 and fs.inodes_used.value > 10
    remove(gantryd, pushed["ref"])
    assert listed(gantryd) == {}
    assert not status(gantryd, pushed["ref"]).HasField("image")
    remove(gantryd, pushed["ref"])  # idempotent


def test_remove_by_one_tag_removes_the_image_with_all_its_tags(gantryd, pushed):
    assert pull(gantryd, pushed["ref"]) == pull(gantryd, pushed["latest"]) == pushed["id"]
    assert sorted(listed(gantryd)[pushed["id"]].repo_tags) == sorted([pushed["ref"], pushed["latest"]])
    remove(gantryd, pushed["latest"])
    assert listed(gantryd) == {}
    for ref in (pushed["ref"], pushed["latest"], pushed["id"]):
        assert not status(gantryd, ref).HasField("image")
    pull(gantryd, pushed["latest"])
    remove(gantryd, "%s@%s" % (pushed["repo"], pushed["manifest"]))  # by digest too
    assert listed(gantryd) == {}


def test_concurrent_pulls_of_one_image_agree(gantryd, pushed):
    results, errors = [], []

    def run():
        try:
            results.append(pull(gantryd, pushed["ref"]))
        except grpc.RpcError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and results == [pushed["id"]] * 4
    assert list(listed(gantryd)) == [pushed["id"]]


def test_pull_with_credentials(gantryd, pushed):
    user, password = pushed["creds"]
    with pytest.raises(grpc.RpcError) as info:
        pull(gantryd, pushed["auth_ref"])
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert any(w in info.value.details().lower() for w in ("password", "credential", "auth"))
    with pytest.raises(grpc.RpcError) as info:
        pull(gantryd, pushed["auth_ref"], cri_pb2.AuthConfig(username=user, password="wrong"))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    auth = cri_pb2.AuthConfig(username=user, password=password)
    assert pull(gantryd, pushed["auth_ref"], auth) == pushed["id"]


def test_pull_errors(gantryd, pushed):
    with pytest.raises(grpc.RpcError) as info:
        pull(gantryd, pushed["repo"] + ":no-such-tag")
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert "no-such-tag" in info.value.details()


def test_gantryctl_pull_images_inspecti_rmi(gantryd, pushed):
    r = gantryd.ctl("pull", pushed["ref"])
    assert r.returncode == 0, r.stderr
    assert pushed["id"] in r.stdout
    r = gantryd.ctl("images")
    assert r.returncode == 0
    assert [pushed["repo"], "1.36", pushed["id"][7:20]] == r.stdout.splitlines()[1].split()[:3]
    r = gantryd.ctl("images", pushed["ref"])
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 2
    r = gantryd.ctl("images", pushed["repo"] + ":other")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 1
    r = gantryd.ctl("inspecti", pushed["ref"])
    assert r.returncode == 0 and json.loads(r.stdout)["status"]["id"] == pushed["id"]
    r = gantryd.ctl("pull", pushed["auth_ref"], "--creds", "%s:%s" % pushed["creds"])
    assert r.returncode == 0, r.stderr
    r = gantryd.ctl("rmi", pushed["id"])
    assert r.returncode == 0
    assert gantryd.ctl("images").stdout.splitlines()[1:] == []


def crictl(gd, *args):
    endpoint = "unix://" + gd.address
    return subprocess.run([CRICTL, "--runtime-endpoint", endpoint, "--image-endpoint", endpoint, "--timeout", "60s",
                           *args], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not os.path.exists(CRICTL), reason="crictl is not installed at %s (build it from cri-tools "
                    "locally; it is not a Debian package)" % CRICTL)
def test_crictl_unchanged(gantryd, pushed):
    r = crictl(gantryd, "version")
    assert r.returncode == 0, r.stderr
    assert "RuntimeName:  gantry" in r.stdout and "RuntimeApiVersion:  v1" in r.stdout
    r = crictl(gantryd, "pull", pushed["ref"])
    assert r.returncode == 0, r.stderr
    assert "Image is up to date for %s" % pushed["id"] in r.stdout
    r = crictl(gantryd, "pull", "--creds", "%s:%s" % pushed["creds"], pushed["auth_ref"])
    assert r.returncode == 0, r.stderr
    r = crictl(gantryd, "images")
    assert r.returncode == 0
    rows = [line.split() for line in r.stdout.splitlines()[1:]]
    assert [pushed["repo"], "1.36", pushed["id"][7:20]] in [row[:3] for row in rows]
    r = crictl(gantryd, "images", "-q")
    assert r.stdout.split() == [pushed["id"]]
    r = crictl(gantryd, "inspecti", pushed["ref"])
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    assert doc["status"]["id"] == pushed["id"] and doc["info"]["imageSpec"]["os"] == "linux"
    r = crictl(gantryd, "imagefsinfo")
    assert r.returncode == 0 and json.loads(r.stdout)["status"]["imageFilesystems"]
    r = crictl(gantryd, "rmi", pushed["ref"])  # one image, two tags: crictl announces both go
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.split()) == sorted(["Deleted:", pushed["ref"], "Deleted:", pushed["auth_ref"]])
    assert crictl(gantryd, "images", "-q").stdout.split() == []
    r = crictl(gantryd, "rmi", pushed["ref"])
    assert r.returncode == 1 and "no such image" in r.stderr


def pull_in_background(gd, ref, proxy, outcome):
    """Start a pull in a thread (its image id or error code lands in ``outcome``); return once
    the proxy has seen a blob request."""

    def run():
        try:
            outcome.append(pull(gd, ref, timeout=180))
        except grpc.RpcError as exc:
            outcome.append(exc.code())

    t = threading.Thread(target=run)
    t.start()
    deadline = time.monotonic() + 30
    while not any("/blobs/" in r.path for r in proxy.requests) and time.monotonic() < deadline:
        time.sleep(0.05)
    return t


def wait_for_blob_bytes(proxy, nbytes, timeout=60):
    """Until a blob response has sent ``nbytes`` of its body through the proxy (no guessing with sleeps)."""
    deadline = time.monotonic() + timeout
    while not any("/blobs/" in r.path and r.sent >= nbytes for r in list(proxy.requests)):
        assert time.monotonic() < deadline, "no blob body of %d bytes went through the proxy" % nbytes
        time.sleep(0.02)


def test_sigterm_during_a_stalled_pull_exits_promptly(pushed, fault_proxy, registry, tmp_path):
    proxy = fault_proxy(registry)
    proxy.stall_after(100_000, seconds=120, times=None)  # the layer stalls (the small config passes)
    write_hosts(pushed["certs"], proxy.host)
    gd = GantrydProcess(str(tmp_path), registry_config_dir=pushed["certs"])
    outcome = []
    try:
        gd.start()
        ref = "%s/gantryd-images/busybox:1.36" % proxy.host
        t = pull_in_background(gd, ref, proxy, outcome)
        wait_for_blob_bytes(proxy, 100_000)  # the layer's body went up to the stall point
        start = time.monotonic()
        assert gd.stop() == 0
        took = time.monotonic() - start
        t.join(30)
        assert took < 15, "gantryd took %.1fs to stop" % took
        assert len(outcome) == 1 and isinstance(outcome[0], grpc.StatusCode)  # an error, not an image id
        assert not os.path.exists(gd.address)
        assert "still running" in gd.log_text(), gd.log_text()
    finally:
        gd.cleanup()


def test_gantryctl_shows_progress_of_a_slow_pull(pushed, fault_proxy, registry, tmp_path):
    proxy = fault_proxy(registry)
    proxy.throttle(400_000)  # ~1.5 MB layer: about 4 s
    write_hosts(pushed["certs"], proxy.host)
    gd = GantrydProcess(str(tmp_path), registry_config_dir=pushed["certs"])
    try:
        gd.start()
        r = gd.ctl("pull", "--progress", "%s/gantryd-images/busybox:1.36" % proxy.host)
        assert r.returncode == 0, r.stderr
        assert pushed["id"] in r.stdout
        lines = [line for line in r.stderr.splitlines() if "MB (" in line]
        assert len(lines) >= 2, r.stderr  # it moved while we watched
        assert os.listdir(os.path.join(gd.state, "pulls")) == []  # nothing left once done
        assert gd.stop() == 0
    finally:
        gd.cleanup()


def test_kill9_mid_pull_then_restart_pulls_again(pushed, fault_proxy, registry, tmp_path):
    proxy = fault_proxy(registry)
    proxy.throttle(300_000)
    write_hosts(pushed["certs"], proxy.host)
    ref = "%s/gantryd-images/busybox:1.36" % proxy.host
    gd = GantrydProcess(str(tmp_path), registry_config_dir=pushed["certs"])
    try:
        gd.start()
        outcome = []
        t = pull_in_background(gd, ref, proxy, outcome)
        wait_for_blob_bytes(proxy, 300_000)  # part of the layer is in the ingest area and being unpacked
        gd.stop(signal.SIGKILL)
        t.join(30)
        assert outcome[0] in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)  # no image id
        images = os.path.join(gd.root, "images")
        snapdir = os.path.join(images, "snapshots")
        extracting = extraction_rows(images)
        assert extracting, "the killed pull left no extraction snapshot: the test did not catch it mid-layer"
        for name in ("987654", "rm-5-0badc0de", "new-%d-1-abc" % (2 ** 22 + 7)):  # crash leftovers of
            os.makedirs(os.path.join(snapdir, name, "fs"))                      # the other kinds
        ingests = os.listdir(os.path.join(images, "content", "ingest"))
        assert ingests  # the partial download
        proxy.throttle(0)
        gd.start()  # same root, same (stale) socket path
        wait_for_log(gd, "start-up gc done")
        assert extraction_rows(images) == []  # the dead pull's half-unpacked layer is gone at once
        assert not {"987654", "rm-5-0badc0de", "new-%d-1-abc" % (2 ** 22 + 7)} & set(os.listdir(snapdir))
        assert {str(row_id) for row_id, _ in extracting}.isdisjoint(os.listdir(snapdir))
        assert os.listdir(os.path.join(images, "content", "ingest")) == ingests  # kept: the next pull resumes it
        assert listed(gd) == {}  # nothing half-pulled is visible
        assert pull(gd, ref) == pushed["id"]
        assert list(listed(gd)) == [pushed["id"]]
        assert gd.stop() == 0
    finally:
        gd.cleanup()


def extraction_rows(images_root):
    import sqlite3
    db = sqlite3.connect(os.path.join(images_root, "metadata.db"))
    try:
        return db.execute("SELECT id, key FROM snapshots WHERE key LIKE 'extract-%'").fetchall()
    finally:
        db.close()


def wait_for_log(gd, text, timeout=30):
    deadline = time.monotonic() + timeout
    while text not in gd.log_text():
        assert time.monotonic() < deadline, "%r not logged:\n%s" % (text, gd.log_text())
        time.sleep(0.05)


def test_stall_timeout_from_the_config_file_cancels_a_stalled_pull(pushed, fault_proxy, registry, tmp_path):
    proxy = fault_proxy(registry)
    proxy.stall_after(100_000, seconds=60, times=None)
    write_hosts(pushed["certs"], proxy.host)
    gd = GantrydProcess(str(tmp_path), registry_config_dir=pushed["certs"],
                        config_text="[images]\npull_progress_timeout = 2\n")
    try:
        gd.start()
        start = time.monotonic()
        with pytest.raises(grpc.RpcError) as info:
            pull(gd, "%s/gantryd-images/busybox:1.36" % proxy.host, timeout=60)
        took = time.monotonic() - start
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert "stall" in info.value.details()
        assert took < 20, "a 2 s stall timeout took %.1fs" % took
        assert listed(gd) == {}
        assert gd.stop() == 0
    finally:
        gd.cleanup()
