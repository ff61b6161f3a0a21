"""Images from a Dockerfile: ``gantryctl build``, served by gantryd (proto/build.proto).

The pure front end:

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

The executor (gantryd side):
    service.py       the Builder gRPC service on gantryd's socket; clears what a killed build left
    executor.py      a Dockerfile -> stages -> layers -> a tagged image (the order of a build)
    executor_stage.py, executor_instr.py   one stage, one instruction
    executor_run.py, executor_spec.py      RUN in a container through gantry-shim + the OCI runtime
    executor_copy.py, context.py           COPY/ADD from the context (escapes refused) or a stage
    executor_layer.py, executor_config.py  layers from upper dirs (images/layerwrite.py), the config
    cache.py         the layer cache, keyed like BuildKit's
"""
