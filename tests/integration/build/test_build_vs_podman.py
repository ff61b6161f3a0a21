"""The same Dockerfile built by gantryd and by `podman build`: the same file tree (umoci unpack of both),
equivalent configs."""
import json
import os

import pytest

from tests.fixtures import treecmp

from .conftest import ctl, write_context
from .podman_peer import Podman

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(not Podman.available(), reason="podman, skopeo, runc and umoci are needed")]

DOCKERFILE = """\
FROM localhost/busybox:1 AS builder
WORKDIR /src
COPY src/ ./
RUN mkdir -p /out && cat a.txt b.txt > /out/ab.txt && chmod 0640 /out/ab.txt
FROM localhost/busybox:1
ENV APP_HOME=/app LANG=C.UTF-8
COPY --from=builder /out/ab.txt /app/
COPY --chown=1:1 --chmod=0755 bin/tool.sh /usr/local/bin/tool
ADD vendor.tar /opt/vendor/
RUN echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd && \\
    mkdir -p /var/lib/app /srv && chown 1000:1000 /var/lib/app && rm -rf /home && ln -s /app /srv/app
USER app
WORKDIR /app
EXPOSE 8080/tcp
VOLUME /var/lib/app
LABEL org.opencontainers.image.title=demo
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/tool"]
CMD ["serve"]
"""
CONFIG_KEYS = ("Env", "Entrypoint", "Cmd", "User", "WorkingDir", "ExposedPorts", "Volumes", "Labels", "StopSignal")


def _vendor_tar():
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in (("lib/v.txt", b"vendored\n"), ("README", b"r\n")):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1700000000
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _ref_name(layout):
    with open(os.path.join(layout, "index.json")) as f:
        return json.load(f)["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]


def _config(layout):
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    digest = index["manifests"][0]["digest"]

    def blob(d):
        with open(os.path.join(layout, "blobs", *d.split(":"))) as f:
            return json.load(f)

    return blob(blob(digest)["config"]["digest"])


def test_same_tree_and_config_as_podman_build(gantryd, build_base, tmp_path):
    ctx = write_context(str(tmp_path / "ctx"), {
        "Dockerfile": DOCKERFILE, "src/a.txt": "A\n", "src/b.txt": "B\n",
        "bin/tool.sh": "#!/bin/sh\necho tool \"$@\"\n", "vendor.tar": _vendor_tar()})
    os.utime(os.path.join(ctx, "bin/tool.sh"), (1700000000, 1700000000))
    # gantryd: the base under the same name, imported from the same layout
    imp = ctl(gantryd, "import", "--base-name", "localhost/busybox", build_base.layout)
    assert imp.returncode == 0, imp.stderr
    built = ctl(gantryd, "build", "-q", "-t", "localhost/demo:1", ctx)
    assert built.returncode == 0, built.stderr
    ours = str(tmp_path / "ours")
    exp = ctl(gantryd, "export", "--oci", ours, "localhost/demo:1")
    assert exp.returncode == 0, exp.stderr
    # podman
    podman = Podman()
    try:
        podman.load(build_base.layout, "1", "localhost/busybox:1")
        podman.build(ctx, "localhost/demo:1")
        theirs = str(tmp_path / "theirs")
        podman.export("localhost/demo:1", theirs, "demo")
        # and ours runs under podman as theirs does
        podman.load(ours, _ref_name(ours), "localhost/ours:1")
        assert podman.run("localhost/ours:1") == podman.run("localhost/demo:1") == "tool serve\n"
    finally:
        podman.remove_all()
    # ... and podman's runs under gantryd as ours does
    imp = ctl(gantryd, "import", "--base-name", "localhost/theirs", theirs)
    assert imp.returncode == 0, imp.stderr
    for image in ("localhost/theirs:demo", "localhost/demo:1"):
        run = ctl(gantryd, "run", "--rm", image)
        assert (run.returncode, run.stdout) == (0, "tool serve\n"), run.stderr
    a = treecmp.umoci_unpack(ours, _ref_name(ours), str(tmp_path / "a"))
    b = treecmp.umoci_unpack(theirs, "demo", str(tmp_path / "b"))
    differences = treecmp.diff(a, b)
    assert differences == [], "\n".join(differences)
    ca, cb = _config(ours)["config"], _config(theirs)["config"]
    cb.get("Labels", {}).pop("io.buildah.version", None)     # buildah signs its work; that is all
    for key in CONFIG_KEYS:
        assert ca.get(key) == cb.get(key), key
    doc = _config(ours)
    layered = [h for h in doc["history"] if not h.get("empty_layer")]
    assert len(layered) == len(doc["rootfs"]["diff_ids"]) == len(_config(theirs)["rootfs"]["diff_ids"])
