"""The parsed Dockerfile: stages of instructions, each with a typed, frozen payload.

    Dockerfile(args_before_from, stages, escape)
      Stage(index, name, base, platform, instructions, line)      one FROM and what follows it
        Instruction(kind, line, original, args, flags, end_line)   kind is the upper-case keyword
          args: the payload of that kind (Run, Copy, Env, ...)    below, one class per kind

Values are as written (``$VAR`` unexpanded, quotes kept where BuildKit keeps them until
expansion); ``expand.py`` and ``scope.py`` expand them step by step.  Every error is a
``DockerfileError`` naming the line.
"""
from dataclasses import dataclass, field

from gantry.highlevel.errors import InvalidArgument


class DockerfileError(InvalidArgument):
    """A Dockerfile that cannot be built: ``Dockerfile:7: unknown instruction FRM``."""

    def __init__(self, line, message, filename="Dockerfile"):
        self.line = line
        self.message = message
        self.filename = filename
        super().__init__("%s:%d: %s" % (filename, line, message) if line else "%s: %s" % (filename, message))


@dataclass(frozen=True)
class Heredoc:
    """``<<NAME`` ... ``NAME``: content ends with a newline; leading tabs already stripped for ``<<-``.

    ``expand`` is False when the delimiter was quoted (``<<'EOF'``, ``<<"EOF"``): the content
    is then taken literally (COPY); for RUN the shell decides, as with any here-document."""

    name: str
    content: str
    expand: bool = True
    chomp: bool = False
    fd: int | None = None


@dataclass(frozen=True)
class Run:
    """RUN: exec form ``args`` is the argv; shell form is one string run by the stage's SHELL.

    ``heredocs`` are the here-documents of the line, in order; ``network`` is default|none|host."""

    args: tuple
    exec_form: bool
    network: str = "default"
    heredocs: tuple = ()

    def script(self):
        """What the shell runs for a shell-form RUN, BuildKit's way.

        ``RUN <<EOF`` alone: the heredoc's content is the script (``shebang`` True when it
        starts with ``#!``: the executor writes it to a file and executes that file instead).
        Otherwise the command line followed by each heredoc body and its terminator, which the
        shell reads as ordinary here-documents.  Returns ``(script, shebang)``."""
        if self.exec_form:
            raise ValueError("exec-form RUN has no script")
        line = self.args[0]
        if not self.heredocs:
            return line, False
        first = self.heredocs[0]
        if len(self.heredocs) == 1 and _is_bare_heredoc(line):
            return first.content, first.content.startswith("#!")
        return line + "".join("\n" + h.content + h.name for h in self.heredocs), False


def _is_bare_heredoc(line):
    from .heredoc import parse_heredoc_word

    words = line.split()
    return len(words) == 1 and parse_heredoc_word(words[0]) is not None


@dataclass(frozen=True)
class Command:
    """CMD, ENTRYPOINT: exec form ``args`` is the argv; shell form is one string."""

    args: tuple
    exec_form: bool


@dataclass(frozen=True)
class Shell:
    """SHELL ["executable", "parameters"]: the shell for later shell-form RUN, CMD, ENTRYPOINT."""

    args: tuple


@dataclass(frozen=True)
class Copy:
    """COPY and ADD.  ``sources`` are context paths or glob patterns as written (ADD: also local
    tar archives, extracted); ``heredocs`` are inline files (``COPY <<EOF /dest``), named
    by their delimiter.  ``from_`` is COPY --from (stage name, index or image); ADD has none.
    ``chmod`` is an octal string; ``link`` is accepted and changes nothing but layering."""

    sources: tuple
    dest: str
    from_: str | None = None
    chown: str | None = None
    chmod: str | None = None
    link: bool = False
    heredocs: tuple = ()
    exclude: tuple = ()
    checksum: str | None = None
    keep_git_dir: bool = False


@dataclass(frozen=True)
class Env:
    """ENV K=V ... (or legacy ``ENV K V``): ordered (name, value) pairs."""

    pairs: tuple


@dataclass(frozen=True)
class Label:
    """LABEL k=v ...; MAINTAINER does not make one (it sets the image's author, as BuildKit)."""

    pairs: tuple


@dataclass(frozen=True)
class Arg:
    """ARG NAME[=default] ...: ordered (name, default or None) pairs."""

    pairs: tuple


@dataclass(frozen=True)
class Expose:
    """EXPOSE 80 443/tcp 53/udp: the words as written (expanded later, then validated)."""

    ports: tuple


@dataclass(frozen=True)
class Volume:
    paths: tuple


@dataclass(frozen=True)
class User:
    """USER name[:group] or uid[:gid]."""

    user: str


@dataclass(frozen=True)
class Workdir:
    path: str


@dataclass(frozen=True)
class StopSignal:
    signal: str


@dataclass(frozen=True)
class Maintainer:
    """MAINTAINER (deprecated): the image config's ``author``."""

    name: str


@dataclass(frozen=True)
class Healthcheck:
    """HEALTHCHECK NONE, or CMD with its options (durations in nanoseconds, None = not given).

    ``test`` is the image config's Healthcheck.Test: ``["NONE"]``, ``["CMD", argv...]`` or
    ``["CMD-SHELL", "command"]``."""

    test: tuple
    interval: int | None = None
    timeout: int | None = None
    start_period: int | None = None
    start_interval: int | None = None
    retries: int | None = None


@dataclass(frozen=True)
class Onbuild:
    """ONBUILD <instruction>: ``expression`` goes to the image config's OnBuild list as written;
    ``trigger`` is that instruction parsed (checked now, run by a build FROM this image)."""

    expression: str
    trigger: "Instruction"


@dataclass(frozen=True)
class Instruction:
    """One logical line (with its heredoc bodies): ``line`` is where it starts, ``end_line``
    where it ends; ``original`` is the joined text as written; ``flags`` the ``--name=value``
    options that preceded the arguments (a flag without a value maps to "")."""

    kind: str
    line: int
    original: str
    args: object
    flags: dict = field(default_factory=dict)
    end_line: int = 0


@dataclass(frozen=True)
class Stage:
    """``FROM [--platform=P] base [AS name]`` and the instructions up to the next FROM.

    ``name`` is lower-cased (stage names are case-insensitive); ``base`` is as written
    (``scratch``, an image reference, an earlier stage's name, or with ``$ARG``s to expand
    from the global scope)."""

    index: int
    name: str | None
    base: str
    platform: str | None
    instructions: list
    line: int


@dataclass(frozen=True)
class Dockerfile:
    """``args_before_from``: the ARG instructions before the first FROM (the global scope);
    ``escape``: the escape character (``\\`` or a backtick, from the ``# escape=`` directive)."""

    args_before_from: list
    stages: list
    escape: str = "\\"
    syntax: str | None = None
