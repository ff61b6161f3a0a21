"""gantryctl commit, tag and push against a real gantryd, a real registry, skopeo and containerd.

A busybox container changes its root (a new file, a deleted one, an opaque directory), gantryd commits
it as an image (CRI lists it, it runs), tags it, pushes it (the base layers mounted from the repository
they were pulled from, then skipped on a second push), skopeo reads it back, and a fresh gantryd and a
private containerd pull and run it."""
import json
import os
import shutil
import subprocess
import time

import pytest

from ..gantryd_proc import GantrydProcess
from .conftest import Endpoint

pytestmark = pytest.mark.root

SCRIPT = ("echo committed > /hello && rm /bin/true && rm -rf /tmp && mkdir /tmp && echo new > /tmp/only "
          "&& touch /ready && exec sleep 300")


def push_hosts(certs, host):
    d = os.path.join(certs, host)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "hosts.toml"), "w") as f:
        f.write('server = "http://%s"\ncapabilities = ["pull", "resolve", "push"]\n' % host)
    return certs


@pytest.fixture(scope="module")
def tools_gantryd(ctl_images, tmp_path_factory):
    work = tmp_path_factory.mktemp("tools-gantryd")
    certs = push_hosts(str(work / "certs.d"), ctl_images.registry.host)
    with GantrydProcess(str(work), registry_config_dir=certs) as gd:
        ep = Endpoint("gantryd", gd.address, str(work / "logs"))
        ep.process, ep.certs = gd, certs
        try:
            yield ep
        finally:
            ep.clean()


def wait_for(ep, cid, path, timeout=30):
    deadline = time.monotonic() + timeout
    while ep.ctl("exec", cid, "test", "-e", path).returncode != 0:
        assert time.monotonic() < deadline, "container %s never made %s" % (cid, path)
        time.sleep(0.2)


def test_commit_tag_push_and_pull_elsewhere(tools_gantryd, ctl_images, containerd, tmp_path):
    gd, reg = tools_gantryd, ctl_images.registry
    name, tag2 = "%s/tools/app:v1" % reg.host, "%s/tools/app:v2" % reg.host
    cid = gd.ok("run", "--log-dir", gd.log_dir, "-d", ctl_images.busybox, "sh", "-c", SCRIPT).stdout.strip()
    wait_for(gd, cid, "/ready")

    r = gd.ok("commit", "-o", "json", "--change", 'CMD ["sh", "-c", "cat /hello /tmp/only; ls /tmp; '
              'test -e /bin/true || echo no-true"]', "-m", "from a test", cid, name)
    doc = json.loads(r.stdout)
    assert doc["layer"]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    images = gd.ok("images", "-o", "json").stdout
    assert name in images                                        # CRI ListImages sees the new image
    out = gd.ok("run", "--log-dir", gd.log_dir, "--rm", "--pull", "never", name).stdout
    assert out == "committed\nnew\nonly\nno-true\n"
    status = json.loads(gd.ok("inspecti", name).stdout)
    assert status["status"]["id"] == doc["imageId"]
    assert '"from a test"' in json.dumps(status)                 # the history entry's comment

    gd.ok("tag", name, tag2)
    tags = [t for img in json.loads(gd.ok("images", "-o", "json").stdout)["images"] for t in img.get("repoTags", [])]
    assert name in tags and tag2 in tags
    r = gd.ok("push", "-o", "json", "--chunk-size", "65536", tag2)
    pushed = json.loads(r.stdout)
    assert len(pushed["mounted"]) >= 1 and len(pushed["uploaded"]) == 2    # new layer + config; base mounted
    again = json.loads(gd.ok("push", "-o", "json", tag2).stdout)
    assert again["uploaded"] == [] and again["mounted"] == [] and len(again["skipped"]) == len(pushed["mounted"]) + 2
    assert again["digest"] == pushed["digest"]

    if shutil.which("skopeo"):
        seen = json.loads(subprocess.run(["skopeo", "inspect", "--tls-verify=false", "docker://" + tag2],
                                         capture_output=True, text=True, check=True, timeout=60).stdout)
        assert seen["Digest"] == pushed["digest"] and seen["Layers"][-1] == doc["layer"]["digest"]

    # a fresh gantryd root pulls and runs it
    fresh = GantrydProcess(str(tmp_path / "fresh"), registry_config_dir=gd.certs)
    with fresh:
        ep = Endpoint("fresh", fresh.address, str(tmp_path / "fresh-logs"))
        try:
            ep.ok("pull", tag2)
            assert ep.ok("run", "--log-dir", ep.log_dir, "--rm", tag2).stdout == out
            assert json.loads(ep.ok("inspecti", tag2).stdout)["status"]["id"] == doc["imageId"]
        finally:
            ep.clean()
    # and so does containerd
    containerd.ok("pull", tag2)
    assert containerd.ok("run", "--log-dir", containerd.log_dir, "--rm", tag2).stdout == out
    gd.ok("rm", "-f", cid)


def test_tool_errors(tools_gantryd, containerd):
    r = tools_gantryd.ctl("tag", "no-such-image:1", "x:2")
    assert r.returncode == 1 and "NOT_FOUND" in r.stderr
    r = tools_gantryd.ctl("push", "no-such-image:1")
    assert r.returncode == 1 and "NOT_FOUND" in r.stderr and r.stderr.count("\n") == 1
    r = tools_gantryd.ctl("commit", "-c", "RUN make", "nope")
    assert r.returncode == 1 and "no such container" in r.stderr
    r = containerd.ctl("tag", "a:1", "b:2")
    assert r.returncode == 1 and "no image tools service" in r.stderr


def test_built_image_runs_under_containerd(tools_gantryd, ctl_images, containerd, tmp_path):
    """An image gantryd builds from a Dockerfile (a RUN step and a COPY) is pushed and runs under
    containerd with the same output as under gantryd."""
    gd, reg = tools_gantryd, ctl_images.registry
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "note.txt").write_text("copied from the context\n")
    (ctx / "Dockerfile").write_text(
        "FROM %s\nRUN echo built-by-run > /built && rm /bin/true\nCOPY note.txt /note.txt\n"
        'CMD ["sh", "-c", "cat /built /note.txt; test -e /bin/true || echo no-true"]\n' % ctl_images.busybox)
    name = "%s/tools/built:v1" % reg.host
    gd.ok("build", "-q", "-t", name, str(ctx))
    out = gd.ok("run", "--log-dir", gd.log_dir, "--rm", "--pull", "never", name).stdout
    assert out == "built-by-run\ncopied from the context\nno-true\n"
    gd.ok("push", name)
    containerd.ok("pull", name)
    assert containerd.ok("run", "--log-dir", containerd.log_dir, "--rm", name).stdout == out
