"""GlobalScope and StageScope: ARG/ENV scoping and which instructions expand (tables)."""
import pytest
from gantry.highlevel.build import dockerfile as d
from gantry.highlevel.build.dockerfile import DockerfileError, parse
from gantry.highlevel.build.scope import GlobalScope, StageScope, builtin_args

BUILTIN = builtin_args("linux/arm64/v8", "linux/amd64")


def run_stage(text, build_args=None, env=(), stage=0):
    """Every instruction of a stage stepped through; returns (expanded payloads, scope)."""
    df = parse(text)
    g = GlobalScope(df, build_args or {}, BUILTIN)
    s = StageScope(g, env)
    return [s.step(i).args for i in df.stages[stage].instructions], s


def last(text, build_args=None, env=()):
    return run_stage(text, build_args, env)[0][-1]


def test_builtin_args():
    assert BUILTIN == {"TARGETPLATFORM": "linux/arm64/v8", "TARGETOS": "linux", "TARGETARCH": "arm64",
                       "TARGETVARIANT": "v8", "BUILDPLATFORM": "linux/amd64", "BUILDOS": "linux",
                       "BUILDARCH": "amd64", "BUILDVARIANT": ""}


FROM_LINES = [
    # text, build args, (base, platform) of the last stage
    ("ARG V=3.19\nFROM alpine:$V", {}, ("alpine:3.19", None)),
    ("ARG V=3.19\nFROM alpine:$V", {"V": "edge"}, ("alpine:edge", None)),
    ("ARG V\nFROM alpine:${V:-latest}", {}, ("alpine:latest", None)),
    ("ARG A=x\nARG B=${A}y\nFROM $B", {}, ("xy", None)),
    ("ARG A=x\nARG B=${A}y\nFROM $B", {"A": "q"}, ("qy", None)),
    ("FROM --platform=$BUILDPLATFORM golang", {}, ("golang", "linux/amd64")),
    ("FROM --platform=$TARGETPLATFORM x", {}, ("x", "linux/arm64/v8")),
    ("FROM img-$TARGETARCH", {}, ("img-arm64", None)),
    # a build arg without an ARG line is not visible
    ("FROM alpine:${V:-latest}", {"V": "edge"}, ("alpine:latest", None)),
    # ARGs of a stage are not visible in a later FROM
    ("FROM x\nARG V=1\nFROM y$V", {}, ("y", None)),
]


@pytest.mark.parametrize("text,args,want", FROM_LINES)
def test_from_line(text, args, want):
    df = parse(text)
    assert GlobalScope(df, args, BUILTIN).from_line(df.stages[-1]) == want


def test_blank_base_is_an_error():
    df = parse("ARG B\nFROM $B")
    with pytest.raises(DockerfileError) as info:
        GlobalScope(df, {}, BUILTIN).from_line(df.stages[0])
    assert info.value.line == 2 and "base name ($B) should not be blank" in str(info.value)


STEPS = [
    # text after FROM, build args, base env, expanded payload of the last instruction
    ("ENV A=1\nWORKDIR /$A", {}, (), d.Workdir("/1")),
    ("WORKDIR $HOME/app", {}, ["HOME=/root"], d.Workdir("/root/app")),
    ("ENV A=a B=$A\nENV C=$B", {}, (), d.Env((("C", ""),))),
    ("ENV A=old\nENV A=new B=$A", {}, (), d.Env((("A", "new"), ("B", "old")))),
    ("ENV A=a\nENV B=$A", {}, (), d.Env((("B", "a"),))),
    ('ENV A="x y" B=\'$Q\' C=a\\ b', {}, (), d.Env((("A", "x y"), ("B", "$Q"), ("C", "a b")))),
    ("ENV PATH=/opt/bin:$PATH", {}, ["PATH=/bin"], d.Env((("PATH", "/opt/bin:/bin"),))),
    ("ENV A hello   $USER", {}, ["USER=me"], d.Env((("A", "hello   me"),))),
    ("ARG V=1\nUSER u$V", {}, (), d.User("u1")),
    ("ARG V=1\nUSER u$V", {"V": "2"}, (), d.User("u2")),
    ("USER u$V", {"V": "2"}, (), d.User("u")),
    ("ARG V\nUSER u${V:-none}", {}, (), d.User("unone")),
    ("ARG V=1\nENV V=env\nUSER $V", {"V": "arg"}, (), d.User("env")),
    ("ARG A=1\nARG B=${A}2\nSTOPSIGNAL SIG$B", {}, (), d.StopSignal("SIG12")),
    ("LABEL \"x.$N\"=\"$N v\"", {}, ["N=n"], d.Label((("x.n", "n v"),))),
    ("EXPOSE $P 53/udp", {}, ["P=80 443/tcp"], d.Expose(("80", "443/tcp", "53/udp"))),
    ('VOLUME ["/d/$N"]', {}, ["N=n"], d.Volume(("/d/n",))),
    ("COPY --chown=$U --chmod=$M $S /d/$S", {}, ["U=1:1", "M=0600", "S=f"],
     d.Copy(("f",), "/d/f", chown="1:1", chmod="0600")),
    ('COPY ["$S", "/a b/"]', {}, ["S=x"], d.Copy(("x",), "/a b/")),
    ("COPY <<EOF /f\nv=$V '$V' \\$V\nEOF", {}, ["V=1"], d.Copy((), "/f", heredocs=(d.Heredoc("EOF", "v=1 '1' $V\n"),))),
    ("COPY <<'EOF' /f\nv=$V\nEOF", {}, ["V=1"], d.Copy((), "/f", heredocs=(d.Heredoc("EOF", "v=$V\n", expand=False),))),
    # not expanded: the shell does it, or the build that runs the trigger
    ("RUN echo $V", {}, ["V=1"], d.Run(("echo $V",), False)),
    ('CMD ["echo", "$V"]', {}, ["V=1"], d.Command(("echo", "$V"), True)),
    ("ENTRYPOINT $V", {}, ["V=1"], d.Command(("$V",), False)),
    ("HEALTHCHECK CMD $V", {}, ["V=1"], d.Healthcheck(("CMD-SHELL", "$V"))),
    ("ONBUILD WORKDIR $V", {}, ["V=1"], "WORKDIR $V"),
    # a global ARG re-declared without a value takes the global value
    ("ARG G\nWORKDIR /$G", {}, (), d.Workdir("/g")),
    ("ARG G\nWORKDIR /$G", {"G": "b"}, (), d.Workdir("/b")),
    ("WORKDIR /x$G", {}, (), d.Workdir("/x")),
    ("ARG TARGETARCH\nWORKDIR /$TARGETARCH", {}, (), d.Workdir("/arm64")),
    ("WORKDIR /x$TARGETARCH", {}, (), d.Workdir("/x")),
]


@pytest.mark.parametrize("text,args,env,want", STEPS, ids=[s[0].split("\n")[-1][:40] for s in STEPS])
def test_step(text, args, env, want):
    got = last("ARG G=g\nFROM x\n" + text + "\n", args, env)
    if isinstance(want, str):
        assert got.expression == want
    else:
        assert got == want


def test_arg_and_env_in_run_env_and_config():
    _, s = run_stage("FROM x\nARG A=1 B\nENV C=3\nARG C=argc\nARG D", {"B": "2", "HTTP_PROXY": "http://p"},
                     ["PATH=/bin"])
    assert s.config_env() == ["PATH=/bin", "C=3"]
    assert s.run_env() == ["PATH=/bin", "C=3", "A=1", "B=2", "HTTP_PROXY=http://p"]


def test_stage_scopes_are_separate():
    df = parse("FROM x\nARG A=1\nENV E=1\nFROM y\nWORKDIR /$A$E")
    g = GlobalScope(df, {}, BUILTIN)
    first = StageScope(g)
    for i in df.stages[0].instructions:
        first.step(i)
    second = StageScope(g)
    assert second.step(df.stages[1].instructions[0]).args == d.Workdir("/")
    # a stage FROM another stage starts with that stage's env
    inherited = StageScope(g, first.config_env())
    assert inherited.step(df.stages[1].instructions[0]).args == d.Workdir("/1")


STEP_ERRORS = [
    ("WORKDIR $NOPE", "WORKDIR: empty after expansion ($NOPE)"),
    ("USER '$x", "USER: unexpected end of statement while looking for matching single-quote"),
    ("ENV ${NOPE}=1", "ENV names can not be blank"),
    ("LABEL $NOPE=1", "LABEL names can not be blank"),
    ("EXPOSE 80/foo", "EXPOSE: invalid port '80/foo'"),
    ("EXPOSE $P", "EXPOSE: invalid port 'x'"),
    ("COPY --chmod=$M a b", "--chmod=u+x: only octal modes"),
    ("ADD $U /x", "ADD from a URL is not supported: http://h/a"),
    ("COPY a $NOPE", "COPY: the destination is empty"),
    ("COPY <<EOF /f\n${A\nEOF", "COPY <<EOF: unsupported modifier ('\\n')"),
    ("VOLUME $NOPE", "VOLUME specified can not be an empty string"),
    ("ARG X=${Y:?needed}", "Y: needed"),
]


@pytest.mark.parametrize("text,message", STEP_ERRORS)
def test_step_errors(text, message):
    with pytest.raises(DockerfileError) as info:
        last("FROM x\nRUN a\n" + text + "\n", {}, ["M=u+x", "P=x", "U=http://h/a"])
    assert info.value.line == 3
    assert message in str(info.value)


def test_global_arg_default_error_names_its_line():
    df = parse('ARG C\nARG B="${C:?C is required}"\nFROM x')
    with pytest.raises(DockerfileError) as info:
        GlobalScope(df, {}, BUILTIN)
    assert info.value.line == 2 and "C: C is required" in str(info.value)
    assert GlobalScope(df, {"C": "1"}, BUILTIN).values["B"] == "1"


def test_unused_build_args():
    from gantry.highlevel.build.scope import unused_build_args

    df = parse("ARG A\nFROM x\nARG B=1 C\nFROM y\nONBUILD ARG D")
    assert unused_build_args(df, {"A": "", "B": "", "C": "", "D": "", "E": "", "HTTP_PROXY": "p"}) == ["D", "E"]
    assert unused_build_args(df, {}) == []
