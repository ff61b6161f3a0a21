"""highlevel/build: a Dockerfile through parse(), ARG/ENV scoping of every stage, --target.

Only DockerfileError escapes.  A parsed file has stages numbered in order, instructions
with known keywords and lines inside the file (in order, ``line <= end_line``); each stage
steps through its StageScope (every expanded instruction keeps its kind and line; run_env
is ``K=V`` strings); the target and what it needs come dependencies first, each once."""
from gantry.highlevel.build import instructions, scope, stages
from gantry.highlevel.build.dockerfile import DockerfileError, parse

from .harness import Target

BUILD_ARGS = {"V": "1", "BASE": "alpine", "HTTP_PROXY": "http://proxy"}
BUILTIN = scope.builtin_args("linux/amd64")


def check(data):
    df = parse(data)
    nlines = data.count(b"\n") + 1
    assert df.stages and df.escape in ("\\", "`")
    previous = 0
    for i, stage in enumerate(df.stages):
        assert stage.index == i and stage.base and stage.line > previous
        assert stage.name is None or stage.name == stage.name.lower()
        for instr in stage.instructions:
            assert instr.kind in instructions.PARSERS and instr.kind != "FROM"
            assert previous < instr.line <= instr.end_line <= nlines
            previous = instr.end_line
    g = scope.GlobalScope(df, BUILD_ARGS, BUILTIN)
    for stage in df.stages:
        g.from_line(stage)
        s = scope.StageScope(g, ["PATH=/bin"])
        for instr in stage.instructions:
            out = s.step(instr)
            assert (out.kind, out.line) == (instr.kind, instr.line)
            assert type(out.args) is type(instr.args)
        assert all("=" in kv for kv in s.run_env())
    order = [r.index for r in stages.select(df, None, g)]
    assert order[-1] == len(df.stages) - 1 and len(set(order)) == len(order)


TARGET = Target("dockerfile", check, ("gantry.highlevel.build.dockerfile", "gantry.highlevel.build.lines",
                                      "gantry.highlevel.build.heredoc", "gantry.highlevel.build.words",
                                      "gantry.highlevel.build.instructions", "gantry.highlevel.build.durations",
                                      "gantry.highlevel.build.expand", "gantry.highlevel.build.scope",
                                      "gantry.highlevel.build.stages"),
                allowed=(DockerfileError,), max_len=16384)
