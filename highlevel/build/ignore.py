"""``.dockerignore``: which context paths a build leaves out (Docker's rules).

    # comment          a line starting with # (only there) is a comment; blank lines are skipped
    *.log              patterns are cleaned (``./a`` -> ``a``, ``/a`` -> ``a``, ``a//b/../c`` -> ``a/c``)
    **/tmp             ``*`` and ``?`` match within one path element, ``**`` any number of elements,
    !keep.log          ``[a-z]`` a class, ``\\x`` the character x; ``!`` makes an exception
                       the last pattern that matches a path (or one of its parent dirs) decides

``Matcher(text).ignored(path)``; ``walk(root, matcher)`` yields the context's relative paths
(directories, files, symlinks; never following a link) depth first in sorted order.
"""
import os
import posixpath
import re
from dataclasses import dataclass

from gantry.highlevel.errors import InvalidArgument


@dataclass(frozen=True)
class Pattern:
    text: str
    exclusion: bool
    regex: re.Pattern


def clean_pattern(line):
    """``(pattern, exclusion)`` of one line, or None for a comment or a blank line."""
    if line.startswith("#"):
        return None
    line = line.strip()
    if not line:
        return None
    exclusion = line.startswith("!")
    if exclusion:
        line = line[1:].strip()
    if line:
        line = posixpath.normpath(line)
        if line.startswith("//"):
            line = "/" + line.lstrip("/")
        if len(line) > 1 and line.startswith("/"):
            line = line[1:]
    return line, exclusion


def _class(pattern, i):
    """The regex text of a ``[...]`` class starting at pattern[i]; returns (text, next index)."""
    j = i + 1
    if j < len(pattern) and pattern[j] == "^":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1
    end = pattern.find("]", j)
    if end < 0:
        raise ValueError("syntax error in pattern: unterminated [")
    body = pattern[i + 1:end]
    out = []
    k = 0
    while k < len(body):
        c = body[k]
        if c == "\\" and k + 1 < len(body):
            out.append(re.escape(body[k + 1]))
            k += 2
            continue
        if c in "[&~|":
            out.append("\\" + c)
        else:
            out.append(c)
        k += 1
    return "[" + "".join(out) + "]", end + 1


def compile_pattern(pattern):
    out, i = ["^"], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                i += 2
                if i < len(pattern) and pattern[i] == "/":
                    i += 1
                out.append(".*" if i >= len(pattern) else "(.*/)?")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\":
            if i + 1 < len(pattern):
                i += 1
                out.append(re.escape(pattern[i]))
            else:
                out.append("\\\\")
        elif c == "[":
            text, i = _class(pattern, i)
            out.append(text)
            continue
        else:
            out.append(re.escape(c))
        i += 1
    out.append("$")
    try:
        return re.compile("".join(out), re.S)
    except re.error as e:
        raise ValueError("syntax error in pattern: %s" % e) from None


class Matcher:
    """The patterns of one .dockerignore; ``ignored(path)`` for context-relative paths."""

    def __init__(self, text="", filename=".dockerignore"):
        self.patterns = []
        for number, line in enumerate(text.splitlines(), 1):
            cleaned = clean_pattern(line)
            if cleaned is None or not cleaned[0]:
                continue
            try:
                regex = compile_pattern(cleaned[0])
            except ValueError as e:
                raise InvalidArgument("%s:%d: %s: %s" % (filename, number, line.strip(), e)) from None
            self.patterns.append(Pattern(cleaned[0], cleaned[1], regex))
        self.has_exceptions = any(p.exclusion for p in self.patterns)

    def ignored(self, path):
        path = posixpath.normpath(path.lstrip("/")) if path else "."
        parent = posixpath.dirname(path)
        parents = []
        if parent:
            elements = parent.split("/")
            parents = ["/".join(elements[:i + 1]) for i in range(len(elements))]
        matched = False
        for p in self.patterns:
            if p.exclusion != matched:
                continue
            hit = p.regex.match(path) is not None or any(p.regex.match(d) for d in parents)
            if hit:
                matched = not p.exclusion
        return matched


def walk(root, matcher):
    """The context's paths that ``matcher`` keeps, relative, depth first in sorted order.

    An ignored directory is entered only when some ``!`` exception could bring a path in it
    back; a directory is yielded only when it is itself kept."""

    def visit(rel):
        try:
            entries = sorted(os.scandir(os.path.join(root, rel) if rel else root), key=lambda e: e.name)
        except OSError as e:
            raise InvalidArgument("read build context %s: %s" % (os.path.join(root, rel), e.strerror)) from None
        for entry in entries:
            path = rel + "/" + entry.name if rel else entry.name
            kept = not matcher.ignored(path)
            if kept:
                yield path
            if entry.is_dir(follow_symlinks=False) and (kept or matcher.has_exceptions):
                yield from visit(path)

    yield from visit("")


def load(root, name=".dockerignore"):
    """The Matcher of ``root/.dockerignore`` (none: nothing is ignored)."""
    try:
        with open(os.path.join(root, name), encoding="utf-8") as f:
            return Matcher(f.read())
    except FileNotFoundError:
        return Matcher("")
