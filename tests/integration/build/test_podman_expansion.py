"""Our variable expansion and ARG/ENV scoping against ``podman build`` (buildah 1.28).

Each Dockerfile is FROM scratch with only config instructions (ENV, ARG, LABEL, WORKDIR,
USER, EXPOSE, STOPSIGNAL), so podman runs no container: the image config podman writes is
compared with what ``StageScope.step`` gives for the same file and build args.  Podman runs
with its own --root/--runroot (vfs) under the test's tmp dir.  Not covered here: heredocs
(buildah 1.28 has none), ``${VAR-word}`` without the colon (its lexer lacks it), and the
backtick escaping a character inside a value (buildah's expansion keeps using the backslash
there, BuildKit uses the directive's escape character, as we do).
"""
import json
import os
import shutil
import subprocess

import pytest
from gantry.highlevel.build import scope, stages
from gantry.highlevel.build.dockerfile import parse

pytestmark = [pytest.mark.root, pytest.mark.slow]

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

CASES = {
    "env-forms": ("""\
FROM scratch
ENV A=a E= Q="x  y" S='$A' ESC=\\$A
ENV A=new B=$A
ENV LEG legacy   value $A
ENV D1=${NOPE:-dflt} D2=${E:-empty} D4=${A:+alt} D7=${NOPE:+alt} D8="${A}${A}"
ENV W=a\\ b P=${PATH}:/opt
""", {}, None),
    "arg-scoping": ("""\
ARG G=global
ARG OVER=default
ARG UNUSED=x
FROM scratch
ARG G
ARG OVER
ARG L=${G}-local
ENV FROM_ARG=$L OVER=$OVER UNUSED=${UNUSED:-not-visible}
ARG OVER=shadowed
ENV AFTER=$OVER
ENV G=env
ARG G=arg
ENV GG=$G
LABEL "l.one"="$L" l.two=${OVER} l3='$G' l4="${G}s"
WORKDIR /w/$L
USER u${G}
EXPOSE 80 ${PORT:-443}/tcp 53/udp
STOPSIGNAL SIG${SIG:-TERM}
""", {"OVER": "given"}, None),
    "backtick-escape": ("""\
# escape=`
FROM scratch
ENV A=a B=$A `
    C=c `
    # a comment inside the continuation

    D=d
WORKDIR /w/$A
""", {}, None),
    "stages": ("""\
ARG V=1
FROM scratch AS base
ENV BASE=$V
ARG V
ENV LOCAL=${V:-none}
FROM base AS mid
ENV MID=$BASE-$LOCAL
FROM scratch AS other
ENV OTHER=1
FROM mid
ENV LAST=$MID
""", {"V": "2"}, "mid"),
}


@pytest.fixture(scope="module")
def podman(tmp_path_factory):
    if not shutil.which("podman"):
        pytest.skip("podman is not installed (make install)")
    d = str(tmp_path_factory.mktemp("podman-build"))
    base = ["podman", "--root", os.path.join(d, "storage"), "--runroot", os.path.join(d, "run"),
            "--tmpdir", os.path.join(d, "tmp"), "--storage-driver", "vfs", "--cgroup-manager=cgroupfs",
            "--events-backend=file"]

    def podman(*args):
        run = subprocess.run(base + list(args), capture_output=True, text=True, timeout=120,
                             stdin=subprocess.DEVNULL)
        assert run.returncode == 0, (args, run.stdout, run.stderr)
        return run.stdout
    podman.dir = d
    yield podman
    subprocess.run(base + ["rmi", "-a", "-f"], capture_output=True, timeout=120, check=False)


def podman_config(podman, name, text, build_args, target):
    context = os.path.join(podman.dir, name)
    os.makedirs(context, exist_ok=True)
    with open(os.path.join(context, "Dockerfile"), "w") as f:
        f.write(text)
    argv = ["build", "--network", "none", "-t", "localhost/xcheck:" + name]
    for k, v in build_args.items():
        argv += ["--build-arg", "%s=%s" % (k, v)]
    if target:
        argv += ["--target", target]
    podman(*argv, context)
    config = json.loads(podman("image", "inspect", "--format", "{{json .Config}}", "localhost/xcheck:" + name))
    labels = {k: v for k, v in (config.get("Labels") or {}).items() if k != "io.buildah.version"}
    return {"Env": config.get("Env") or [], "Labels": labels, "WorkingDir": config.get("WorkingDir", ""),
            "User": config.get("User", ""), "ExposedPorts": sorted(config.get("ExposedPorts") or {}),
            "StopSignal": config.get("StopSignal", "")}


def our_config(text, build_args, target):
    """The config values our front end gives (what the executor will write)."""
    df = parse(text)
    g = scope.GlobalScope(df, build_args)
    finished = {}
    for refs in stages.select(df, target, g):
        inherited = finished[refs.base_stage] if refs.base_stage is not None else {
            "Env": [DEFAULT_PATH], "Labels": {}, "WorkingDir": "", "User": "", "ExposedPorts": [], "StopSignal": ""}
        config = {k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
                  for k, v in inherited.items()}
        s = scope.StageScope(g, config["Env"])
        for instr in df.stages[refs.index].instructions:
            p = s.step(instr).args
            if instr.kind == "LABEL":
                config["Labels"].update(p.pairs)
            elif instr.kind == "WORKDIR":
                config["WorkingDir"] = p.path
            elif instr.kind == "USER":
                config["User"] = p.user
            elif instr.kind == "EXPOSE":
                ports = {x if "/" in x else x + "/tcp" for x in p.ports}
                config["ExposedPorts"] = sorted(set(config["ExposedPorts"]) | ports)
            elif instr.kind == "STOPSIGNAL":
                config["StopSignal"] = p.signal
        config["Env"] = s.config_env()
        finished[refs.index] = config
    return config


@pytest.mark.parametrize("name", sorted(CASES))
def test_expansion_matches_podman(podman, name):
    text, build_args, target = CASES[name]
    ours = our_config(text, build_args, target)
    theirs = podman_config(podman, name, text, build_args, target)
    assert ours == theirs
