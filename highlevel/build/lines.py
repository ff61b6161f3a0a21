"""A Dockerfile's text as logical lines: directives, comments, continuations, heredoc bodies.

    # escape=`            parser directives: only at the very top, before any other line
    # syntax=...          (accepted and ignored: this is the only frontend)
    RUN a \\               the escape character at the end of a line continues it; comment
      # comment            lines and empty lines inside a continuation are skipped
      b
    RUN cat <<EOF          RUN, COPY and ADD may open heredocs: their bodies follow the
    body                   line, raw, each up to its delimiter
    EOF

``logical_lines(text)`` returns the directives and a list of ``LogicalLine``: the joined
text, the line numbers where it starts and ends, and its heredocs.
"""
import re
from dataclasses import dataclass

from . import heredoc
from .model import DockerfileError, Heredoc

_DIRECTIVE = re.compile(r"^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.*)$")
KNOWN_DIRECTIVES = ("escape", "syntax", "check")
HEREDOC_KINDS = ("RUN", "COPY", "ADD")
_WS = " \t\v\f\r"


@dataclass(frozen=True)
class LogicalLine:
    text: str
    line: int
    end_line: int
    heredocs: tuple = ()


@dataclass(frozen=True)
class Directives:
    escape: str = "\\"
    syntax: str | None = None


def _raw_lines(text):
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _directives(lines):
    """The directives at the top and the index of the first line that is not one."""
    found = {}
    i = 0
    for i, line in enumerate(lines):  # noqa: B007 - i is the first non-directive line
        m = _DIRECTIVE.match(line)
        value = m.group(2).rstrip(" \t") if m else ""
        if not value or m.group(1).lower() not in KNOWN_DIRECTIVES:
            break
        key = m.group(1).lower()
        if key in found:
            raise DockerfileError(i + 1, "only one %s parser directive can be used" % key)
        found[key] = value
    else:
        i = len(lines)
    escape = found.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise DockerfileError(1, "invalid escape token '%s' does not match ` or \\" % escape)
    return Directives(escape, found.get("syntax")), i


def _is_comment(line):
    return line.lstrip(_WS + "\n").startswith("#")


def logical_lines(text):
    lines = _raw_lines(text)
    directives, _ = _directives(lines)
    continuation = re.compile(re.escape(directives.escape) + r"[ \t]*$")
    out = []
    i = 0
    while i < len(lines):
        start = i + 1
        first = lines[i].lstrip(_WS)
        i += 1
        if first.startswith("#"):
            continue
        text_, continued = _trim(continuation, first)
        if not continued and not text_.strip():
            continue
        while continued and i < len(lines):
            raw = lines[i]
            i += 1
            if _is_comment(raw) or not raw.strip():
                continue
            part, continued = _trim(continuation, raw)
            text_ += part
        if not text_.strip():
            continue
        docs, i = _heredoc_bodies(lines, i, start, text_, directives.escape)
        out.append(LogicalLine(text_, start, i, tuple(docs)))
    return directives, out


def _trim(continuation, line):
    m = continuation.search(line)
    if m is None:
        return line, False
    return line[:m.start()], True


def _heredoc_bodies(lines, i, start, text, escape):
    words = text.split(None, 1)
    if not words or words[0].upper() not in HEREDOC_KINDS or "<<" not in text:
        return [], i
    docs = []
    for name, expand, chomp, fd in heredoc.heredoc_words(text, escape):
        body = []
        while True:
            if i >= len(lines):
                raise DockerfileError(start, "unterminated heredoc %s (no line %r before the end of the file)"
                                      % (name, name))
            raw = lines[i]
            i += 1
            if (raw.lstrip("\t") if chomp else raw) == name:
                break
            body.append(raw + "\n")
        content = "".join(body)
        docs.append(Heredoc(name, heredoc.chomp(content) if chomp else content, expand, chomp, fd))
    return docs, i
