"""``parse(text) -> Dockerfile``: the pure front end of ``gantryctl build``.

    text --lines.logical_lines--> directives + logical lines (continuations joined,
                                  comments dropped, heredoc bodies attached)
         --instructions.parse_line--> one Instruction per line (typed payload, flags)
         --here--> ARGs before the first FROM, then one Stage per FROM

Nothing is expanded here (``scope.py`` does that step by step, with the build args);
every error is a ``DockerfileError`` naming the line.  Stage references (``FROM stage``,
``COPY --from``) are resolved in ``stages.py``.
"""
from . import instructions, lines
from .model import (  # noqa: F401 - the public names of the front end
    Arg,
    Command,
    Copy,
    Dockerfile,
    DockerfileError,
    Env,
    Expose,
    Healthcheck,
    Heredoc,
    Instruction,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stage,
    StopSignal,
    User,
    Volume,
    Workdir,
)

MAX_SIZE = 4 << 20


def parse(text, filename="Dockerfile"):
    """A Dockerfile's text to its stages.  Raises DockerfileError (naming the line)."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as e:
            raise DockerfileError(text.count(b"\n", 0, e.start) + 1, "not UTF-8 text", filename) from None
    if len(text) > MAX_SIZE:
        raise DockerfileError(0, "larger than %d bytes" % MAX_SIZE, filename)
    try:
        return _parse(text)
    except DockerfileError as e:
        if filename != "Dockerfile":
            raise DockerfileError(e.line, e.message, filename) from None
        raise


def _parse(text):
    directives, logical = lines.logical_lines(text)
    escape = directives.escape
    global_args, stages, names = [], [], {}
    current = None
    for ll in logical:
        instr = instructions.parse_line(ll.text, ll.line, escape, ll.heredocs, ll.end_line)
        if instr.kind == "FROM":
            payload = instr.args
            if payload.name is not None:
                if payload.name in names:
                    raise DockerfileError(ll.line, "duplicate stage name %r (also on line %d)"
                                          % (payload.name, names[payload.name]))
                names[payload.name] = ll.line
            current = Stage(len(stages), payload.name, payload.base, payload.platform, [], ll.line)
            stages.append(current)
        elif current is None:
            if instr.kind != "ARG":
                raise DockerfileError(ll.line, "%s before the first FROM (only ARG may come before FROM)"
                                      % instr.kind)
            global_args.append(instr)
        else:
            current.instructions.append(instr)
    if not stages:
        raise DockerfileError(0, "no FROM: the Dockerfile has no build stage")
    return Dockerfile(global_args, stages, escape, directives.syntax)


def parse_trigger(expression, escape="\\"):
    """An image's ONBUILD trigger (config OnBuild entry) as an Instruction, for a build FROM it."""
    return instructions.parse_line(expression, 0, escape)
