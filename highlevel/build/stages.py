"""Which stages a build runs: references between stages, ``--target``, dependency order.

A stage depends on the stage it is FROM (an earlier stage's name; any other base is an
image, or ``scratch``) and on every ``COPY --from`` source that names a stage (by name,
anywhere in the file, or by index; a name that is no stage is an image, as in BuildKit).
``select(df, target, global_scope)`` returns the target and what it needs, each after its
dependencies, otherwise in file order.
"""
from dataclasses import dataclass

from . import expand
from .model import DockerfileError


@dataclass(frozen=True)
class StageRefs:
    """One stage's references, resolved.  ``base_stage`` is the index of the stage it is FROM
    (None: ``base_image`` is an image reference or ``scratch``); ``copy_from`` maps the line
    of each ``COPY --from`` to ``("stage", index)`` or ``("image", reference)``."""

    index: int
    base_image: str | None
    base_stage: int | None
    platform: str | None
    copy_from: dict

    def needs(self):
        out = [] if self.base_stage is None else [self.base_stage]
        out += [v for kind, v in self.copy_from.values() if kind == "stage" and v not in out]
        return out


def resolve(df, global_scope):
    """``StageRefs`` for every stage (``global_scope``: scope.GlobalScope, for FROM's ARGs)."""
    names = {s.name: s.index for s in df.stages if s.name is not None}
    out = []
    for stage in df.stages:
        base, platform = global_scope.from_line(stage)
        earlier = names.get(base.lower())
        base_stage = earlier if earlier is not None and earlier < stage.index else None
        copy_from = {}
        for instr in stage.instructions:
            source = getattr(instr.args, "from_", None) if instr.kind == "COPY" else None
            if source is not None:
                copy_from[instr.line] = _copy_source(df, stage, instr, source, names, global_scope)
        out.append(StageRefs(stage.index, None if base_stage is not None else base, base_stage, platform,
                             copy_from))
    return out


def _copy_source(df, stage, instr, source, names, global_scope):
    try:
        value = expand.expand_word(source, global_scope.values, df.escape)
    except expand.ExpandError as e:
        raise DockerfileError(instr.line, "COPY --from=%s: %s" % (source, e)) from None
    if not value:
        raise DockerfileError(instr.line, "COPY --from=%s is empty" % source)
    if value.isdigit():
        index = int(value)
        if index >= len(df.stages):
            raise DockerfileError(instr.line, "COPY --from=%s: no stage with index %d (there are %d)"
                                  % (value, index, len(df.stages)))
    else:
        index = names.get(value.lower())
        if index is None:
            return ("image", value)
    if index == stage.index:
        raise DockerfileError(instr.line, "COPY --from=%s refers to its own stage" % value)
    return ("stage", index)


def find_target(df, target):
    """The stage ``--target`` names (case-insensitive), or the last stage when None."""
    if target is None or target == "":
        return df.stages[-1]
    for stage in df.stages:
        if stage.name == target.lower():
            return stage
    raise DockerfileError(0, "target stage %r could not be found (stages: %s)"
                          % (target, ", ".join(s.name for s in df.stages if s.name) or "none named"))


def select(df, target, global_scope):
    """The StageRefs of the target stage and of every stage it needs, dependencies first."""
    refs = resolve(df, global_scope)
    goal = find_target(df, target).index
    order, state = [], {}

    def visit(index, chain):
        if state.get(index) == "done":
            return
        if state.get(index) == "visiting":
            cycle = chain[chain.index(index):] + [index]
            names = " -> ".join(df.stages[i].name or str(i) for i in cycle)
            closing = refs[chain[-1]]
            lines = [line for line, ref in closing.copy_from.items() if ref == ("stage", index)]
            line = lines[0] if lines else df.stages[chain[-1]].line
            raise DockerfileError(line, "circular dependency between stages: %s" % names)
        state[index] = "visiting"
        for dep in refs[index].needs():
            visit(dep, chain + [index])
        state[index] = "done"
        order.append(refs[index])

    visit(goal, [])
    return order
