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


def test_rebuild_takes_every_layer_from_the_cache(gantryd, build_base, tmp_path):
    ctx = write_context(str(tmp_path / "ctx"), {
        "Dockerfile": "FROM %s\nCOPY a.txt /a.txt\nRUN echo ran-$((10+1)) && date +%%s%%N > /stamp\n"
                      "RUN echo ran-$((20+2))\n" % build_base.ref,
        "a.txt": "one\n"})
    epoch = ("--build-arg", "SOURCE_DATE_EPOCH=1700000000")
    first = _build(gantryd, ctx, "-t", "cached:1", *epoch)
    assert first.returncode == 0, first.stderr
    assert "ran-11" in first.stderr and "ran-22" in first.stderr
    second = _build(gantryd, ctx, "-t", "cached:2", *epoch)
    assert second.returncode == 0, second.stderr
    assert "ran-11" not in second.stderr and "ran-22" not in second.stderr, second.stderr
    assert second.stderr.count("CACHED") == 3, second.stderr
    assert second.stdout.strip() == first.stdout.strip()          # same layers, same config (same epoch)
    # a changed file re-runs the steps after its COPY, and only those
    write_context(ctx, {"a.txt": "two\n"})
    third = _build(gantryd, ctx, "-t", "cached:3")
    assert third.returncode == 0, third.stderr
    assert "ran-11" in third.stderr and "ran-22" in third.stderr
    assert ctl(gantryd, "run", "--rm", "cached:3", "cat", "/a.txt").stdout == "two\n"
    # --no-cache runs everything again
    fourth = _build(gantryd, ctx, "--no-cache", "-t", "cached:4")
    assert fourth.returncode == 0 and "ran-11" in fourth.stderr and "CACHED" not in fourth.stderr


def test_failing_run_shows_output_and_exit_code_and_keeps_the_cache(gantryd, build_base, tmp_path):
    dockerfile = ("FROM %s\nRUN echo before > /before && echo first-$((1+1))\nRUN echo doomed-$((3+4)); exit 7\n"
                  % build_base.ref)
    ctx = write_context(str(tmp_path / "ctx"), {"Dockerfile": dockerfile})
    proc = _build(gantryd, ctx)
    assert proc.returncode == 1
    assert "doomed-7" in proc.stderr
    assert "Dockerfile:3" in proc.stderr and "exit code 7" in proc.stderr, proc.stderr
    write_context(ctx, {"Dockerfile": dockerfile.replace("exit 7", "true")})
    again = _build(gantryd, ctx, "-t", "fixed:1")
    assert again.returncode == 0, again.stderr
    assert "first-2" not in again.stderr and "CACHED" in again.stderr, again.stderr
    assert ctl(gantryd, "run", "--rm", "fixed:1", "cat", "/before").stdout == "before\n"


@pytest.mark.parametrize("source", ["../outside.txt", "a/../../outside.txt"])
def test_copy_from_outside_the_context_is_refused(gantryd, build_base, tmp_path, source):
    (tmp_path / "outside.txt").write_text("secret\n")
    ctx = write_context(str(tmp_path / "ctx"), {"Dockerfile": "FROM %s\nCOPY %s /x\n" % (build_base.ref, source),
                                                "a/keep": ""})
    proc = _build(gantryd, ctx)
    assert proc.returncode == 1
    assert "INVALID_ARGUMENT" in proc.stderr and "Dockerfile:2" in proc.stderr, proc.stderr
    assert "outside the build context" in proc.stderr


def test_add_tar_with_escaping_entry_is_refused(gantryd, build_base, tmp_path):
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("../../escape.txt")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"bad"))
    ctx = write_context(str(tmp_path / "ctx"), {"Dockerfile": "FROM %s\nADD evil.tar /x/\n" % build_base.ref,
                                                "evil.tar": buf.getvalue()})
    proc = _build(gantryd, ctx)
    assert proc.returncode == 1
    assert "INVALID_ARGUMENT" in proc.stderr and "Dockerfile:2" in proc.stderr, proc.stderr


def test_add_extracts_a_local_tar_and_run_has_no_network(gantryd, build_base, tmp_path):
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("pkg/file.txt")
        info.size = 6
        tf.addfile(info, io.BytesIO(b"inside"))
    ctx = write_context(str(tmp_path / "ctx"), {
        "Dockerfile": "FROM %s\nADD pkg.tgz /opt/\nRUN ls /sys/class/net > /netdevs\n" % build_base.ref,
        "pkg.tgz": buf.getvalue()})
    proc = _build(gantryd, ctx, "-t", "added:1")
    assert proc.returncode == 0, proc.stderr
    assert ctl(gantryd, "run", "--rm", "added:1", "cat", "/opt/pkg/file.txt").stdout == "inside"
    assert ctl(gantryd, "run", "--rm", "added:1", "cat", "/netdevs").stdout.split() == ["lo"]


def test_dockerfile_error_names_the_line(gantryd, build_base, tmp_path):
    ctx = write_context(str(tmp_path / "ctx"), {"Dockerfile": "FROM %s\nRUN true\nFRUM x\n" % build_base.ref})
    proc = _build(gantryd, ctx)
    assert proc.returncode == 1
    assert "INVALID_ARGUMENT" in proc.stderr and "Dockerfile:3" in proc.stderr, proc.stderr


def test_dockerignore_leaves_files_out_and_out_of_the_cache_key(gantryd, build_base, tmp_path):
    ctx = write_context(str(tmp_path / "ctx"), {
        "Dockerfile": "FROM %s\nCOPY . /ctx/\nRUN find /ctx | sort > /listing\n" % build_base.ref,
        ".dockerignore": "*.log\nsecret/\n!secret/public.txt\n",
        "keep.txt": "k", "debug.log": "noise", "secret/key": "s", "secret/public.txt": "p"})
    proc = _build(gantryd, ctx, "-t", "ignored:1")
    assert proc.returncode == 0, proc.stderr
    listing = ctl(gantryd, "run", "--rm", "ignored:1", "cat", "/listing").stdout.split()
    assert listing == ["/ctx", "/ctx/.dockerignore", "/ctx/Dockerfile", "/ctx/keep.txt", "/ctx/secret",
                       "/ctx/secret/public.txt"]
    write_context(ctx, {"debug.log": "more noise", "secret/key": "rotated"})
    again = _build(gantryd, ctx, "-t", "ignored:2")
    assert again.returncode == 0 and again.stderr.count("CACHED") == 2, again.stderr


def test_heredocs_shell_and_onbuild(gantryd, build_base, tmp_path):
    parent = write_context(str(tmp_path / "parent"), {"Dockerfile": (
        "FROM %s\n"
        "SHELL [\"/bin/sh\", \"-ec\"]\n"
        "RUN <<EOF\n"
        "echo from-heredoc > /h1\n"
        "echo second-line >> /h1\n"
        "EOF\n"
        "COPY <<CONF /etc/app.conf\n"
        "name=${NAME:-default}\n"
        "CONF\n"
        "ONBUILD RUN echo triggered > /onbuild\n"
        "ONBUILD COPY child.txt /child.txt\n") % build_base.ref})
    proc = _build(gantryd, parent, "-t", "parent:1")
    assert proc.returncode == 0, proc.stderr
    assert ctl(gantryd, "run", "--rm", "parent:1", "cat", "/h1", "/etc/app.conf").stdout == \
        "from-heredoc\nsecond-line\nname=default\n"
    child = write_context(str(tmp_path / "child"), {"Dockerfile": "FROM parent:1\nRUN cat /onbuild /child.txt\n",
                                                    "child.txt": "child-file\n"})
    proc = _build(gantryd, child, "-t", "child:1")
    assert proc.returncode == 0, proc.stderr
    assert "ONBUILD RUN echo triggered" in proc.stderr and "triggered\nchild-file\n" in proc.stderr
    assert ctl(gantryd, "inspecti", "-o", "json", "child:1").returncode == 0


def test_foreign_platform_is_refused_with_the_line(gantryd, build_base, tmp_path):
    ctx = write_context(str(tmp_path / "ctx"), {"Dockerfile": "FROM --platform=linux/s390x %s\nRUN true\n"
                                                % build_base.ref})
    proc = _build(gantryd, ctx)
    assert proc.returncode == 1 and "Dockerfile:1" in proc.stderr and "s390x" in proc.stderr, proc.stderr


def test_a_client_that_goes_away_stops_the_run_step(gantryd, build_base, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    ctx = write_context(str(tmp_path / "ctx"), {"Dockerfile": "FROM %s\nRUN echo started-$((1+1)); sleep 47\n"
                                                % build_base.ref})
    proc = subprocess.Popen([sys.executable, "-m", "gantry.highlevel.ctl", "--address", gantryd.address, "build",
                             "--progress", "plain", ctx], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True)
    try:
        for line in proc.stderr:
            if "started-2" in line:
                break
        assert _sleepers() == 1
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
        deadline = time.monotonic() + 15
        while _sleepers() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _sleepers() == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    builds = os.path.join(gantryd.state, "builds")
    deadline = time.monotonic() + 15
    while os.listdir(builds) and time.monotonic() < deadline:      # the build ended and cleaned up
        time.sleep(0.2)
    assert os.listdir(builds) == []
    write_context(ctx, {"Dockerfile": "FROM %s\nRUN echo next-$((2+2))\n" % build_base.ref})
    after = _build(gantryd, ctx)
    assert after.returncode == 0 and "next-4" in after.stderr, after.stderr


def _sleepers():
    import subprocess

    out = subprocess.run(["pgrep", "-f", "^sleep 47$"], capture_output=True, text=True).stdout
    return len(out.split())


def test_restart_after_kill_clears_what_a_build_left(gantryd, build_base, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    ctx = write_context(str(tmp_path / "ctx"), {"Dockerfile": "FROM %s\nRUN echo started-$((1+1)); sleep 47\n"
                                                % build_base.ref})
    proc = subprocess.Popen([sys.executable, "-m", "gantry.highlevel.ctl", "--address", gantryd.address, "build",
                             "--progress", "plain", ctx], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True)
    try:
        for line in proc.stderr:
            if "started-2" in line:
                break
        gantryd.stop(sig=signal.SIGKILL)
        assert _sleepers() == 1                       # the RUN container outlives gantryd (its shim holds it)
    finally:
        proc.kill()
        proc.wait()
    gantryd.start()
    assert _sleepers() == 0
    assert os.listdir(os.path.join(gantryd.state, "builds")) == []
    out = subprocess.run(["grep", "-c", gantryd.root, "/proc/mounts"], capture_output=True, text=True).stdout
    assert out.strip() == "0"
    write_context(ctx, {"Dockerfile": "FROM %s\nRUN echo again-$((3+3))\n" % build_base.ref})
    after = _build(gantryd, ctx)
    assert after.returncode == 0 and "again-6" in after.stderr, after.stderr


def test_heredoc_with_its_own_interpreter_runs_as_a_file(gantryd, build_base, tmp_path):
    """``RUN <<EOF`` whose body starts with #! runs as that program, from /dev/pipes/EOF as in BuildKit;
    the script's text is part of the cache key."""
    def dockerfile(word):
        return ("FROM %s\nRUN <<EOF\n#!/bin/sh -e\necho \"$0 %s\" > /ran-as\nEOF\n" % (build_base.ref, word))
    ctx = write_context(str(tmp_path / "ctx"), {"Dockerfile": dockerfile("one")})
    proc = _build(gantryd, ctx, "-t", "shebang:1")
    assert proc.returncode == 0, proc.stderr
    assert ctl(gantryd, "run", "--rm", "shebang:1", "cat", "/ran-as").stdout == "/dev/pipes/EOF one\n"
    write_context(str(tmp_path / "ctx"), {"Dockerfile": dockerfile("two")})
    proc = _build(gantryd, ctx, "-t", "shebang:2")
    assert proc.returncode == 0 and "CACHED" not in proc.stderr, proc.stderr
    assert ctl(gantryd, "run", "--rm", "shebang:2", "cat", "/ran-as").stdout == "/dev/pipes/EOF two\n"
