"""gantryctl build against a real gantryd: multi-stage, run the result, cache, failing RUN, escapes."""
import pytest

from .conftest import ctl, write_context

pytestmark = pytest.mark.root

MULTI = """\
ARG BASE
FROM ${BASE} AS builder
WORKDIR /src
COPY hello.txt ./
RUN echo "built from $(cat hello.txt)" > out.txt && mkdir -p /opt/b && cp out.txt /opt/b/
FROM ${BASE}
ENV GREETING=hi
COPY --from=builder /opt/b/out.txt /app/out.txt
COPY --chmod=0755 run.sh /app/
USER 1000:1000
WORKDIR /app
LABEL org.example.k=v
EXPOSE 8080
CMD ["/app/run.sh"]
"""


def _build(gd, context, *extra, timeout=300):
    return ctl(gd, "build", "--progress", "plain", *extra, str(context), timeout=timeout)


def test_multi_stage_build_runs(gantryd, build_base, tmp_path):
    ctx = write_context(str(tmp_path / "ctx"), {
        "Dockerfile": MULTI, "hello.txt": "gantry\n",
        "run.sh": "#!/bin/sh\necho \"$GREETING $(cat /app/out.txt) as $(id -u)\"\n"})
    proc = _build(gantryd, ctx, "-t", "app:1", "--build-arg", "BASE=" + build_base.ref)
    assert proc.returncode == 0, proc.stderr
    image_id = proc.stdout.strip()
    assert image_id.startswith("sha256:")
    assert "STEP" in proc.stderr
    images = ctl(gantryd, "images")
    assert "docker.io/library/app" in images.stdout or "app" in images.stdout, images.stdout
    run = ctl(gantryd, "run", "--rm", "app:1")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "hi built from gantry as 1000"
