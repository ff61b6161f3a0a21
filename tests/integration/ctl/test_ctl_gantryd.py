"""gantryctl commands that need gantryd itself: events (containerd 1.6 has no GetContainerEvents),
import/export through its image store, pull progress from its state dir."""
import json
import time

import pytest

pytestmark = pytest.mark.root


def test_events_stream_lifecycle(gantryd, ctl_images):
    watcher = gantryd.popen("events", "-o", "json")
    try:
        time.sleep(1.0)
        cid = gantryd.ok("run", "--log-dir", gantryd.log_dir, "-d", ctl_images.busybox, "true").stdout.strip()
        deadline = time.monotonic() + 20
        while gantryd.ok("inspect", cid).stdout.count("CONTAINER_EXITED") == 0:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        gantryd.ok("rm", cid)
        seen = []
        while len(seen) < 4:
            line = watcher.stdout.readline()
            assert line, watcher.stderr.read()
            ev = json.loads(line)
            if ev["containerId"] == cid:
                seen.append(ev["containerEventType"])
        assert seen == ["CONTAINER_CREATED_EVENT", "CONTAINER_STARTED_EVENT", "CONTAINER_STOPPED_EVENT",
                        "CONTAINER_DELETED_EVENT"]
    finally:
        watcher.kill()
        watcher.wait()
        gantryd.clean()


def test_events_against_a_runtime_without_them(containerd):
    r = containerd.ctl("events", timeout=30)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "UNIMPLEMENTED" in r.stderr


def test_export_and_import(gantryd, ctl_images, tmp_path):
    gantryd.ok("pull", ctl_images.busybox)
    image_id = json.loads(gantryd.ok("inspecti", ctl_images.busybox).stdout)["status"]["id"]
    archive = str(tmp_path / "busybox.tar")
    gantryd.ok("export", "--oci-archive", archive, ctl_images.busybox)
    gantryd.ok("export", "--docker", str(tmp_path / "docker.tar"), ctl_images.busybox)
    gantryd.ok("rmi", ctl_images.busybox)
    assert gantryd.ok("images", "-q").stdout == ""
    r = gantryd.ok("import", archive)
    assert r.stdout.split()[:3] == ["Imported", image_id, ctl_images.busybox]
    gantryd.ok("rmi", ctl_images.busybox)
    r = gantryd.ok("import", "-o", "json", str(tmp_path / "docker.tar"))
    assert json.loads(r.stdout)["images"][0]["id"] == image_id
    gantryd.ok("rmi", ctl_images.busybox)
    # a layout whose index names the image only by the tag "1": PATH's file name is the repository
    r = gantryd.ok("import", ctl_images.layout)
    assert r.stdout.split()[2] == "docker.io/library/ctl-busybox:1", r.stdout
    r = gantryd.ok("import", "--base-name", "127.0.0.1:5999/mine/bb", ctl_images.layout)
    assert r.stdout.split()[2] == "127.0.0.1:5999/mine/bb:1"
    tags = gantryd.ok("images").stdout
    assert "<none>" not in tags and "ctl-busybox" in tags and "mine/bb" in tags
    r = gantryd.ok("run", "--log-dir", gantryd.log_dir, "--rm", "--pull", "never", "ctl-busybox:1", "echo", "imported")
    assert r.stdout == "imported\n"


def test_import_errors(gantryd, tmp_path):
    r = gantryd.ctl("import", str(tmp_path / "none.tar"))
    assert r.returncode == 1 and "no such file" in r.stderr
    (tmp_path / "junk.tar").write_bytes(b"not a tar")
    r = gantryd.ctl("import", str(tmp_path / "junk.tar"))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_import_refuses_a_runtime_that_is_not_gantryd(containerd, ctl_images):
    r = containerd.ctl("import", ctl_images.layout)
    assert r.returncode == 1 and "not gantryd" in r.stderr
