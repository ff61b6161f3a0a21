"""Images from a Dockerfile: the pure front end of ``gantryctl build``.

    model.py         the parsed Dockerfile: Dockerfile, Stage, Instruction, one payload per kind
    dockerfile.py    parse(text) -> Dockerfile (the entry point); DockerfileError names the line
    lines.py         directives, comments, continuations, heredoc bodies -> logical lines
    heredoc.py       ``<<EOF`` words, ``<<-`` tab stripping, quoted delimiters
    words.py         flags, JSON (exec) form, ENV/LABEL/ARG words
    instructions.py  one logical line -> Instruction (per-keyword payload parsers, flags)
    durations.py     Go durations (HEALTHCHECK --interval ...)
    expand.py        $VAR ${VAR:-word} ...: BuildKit's shell-word expansion (pure)
    scope.py         ARG/ENV scoping per stage: GlobalScope (FROM), StageScope.step(instr)
    stages.py        FROM stage / COPY --from references, --target, dependency order
    ignore.py        .dockerignore patterns and the walk of the build context
"""
