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
from dataclasses import dataclass

from gantry.highlevel.errors import InvalidArgument


@dataclass(frozen=True)
class Pattern:
    text: str
    exclusion: bool
    tokens: tuple


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
    """A ``[...]`` class at pattern[i]: ``(("class", negated, items), next index)``; items are
    ``(low, high)`` character ranges (``\\x`` is x; a leading ``]`` is a member)."""
    j = i + 1
    negated = j < len(pattern) and pattern[j] == "^"
    if negated:
        j += 1
    items, first = [], True
    while True:
        if j >= len(pattern):
            raise ValueError("syntax error in pattern: unterminated [")
        c = pattern[j]
        if c == "]" and not first:
            break
        first = False
        if c == "\\" and j + 1 < len(pattern):
            j += 1
            c = pattern[j]
        low = c
        j += 1
        if j + 1 < len(pattern) and pattern[j] == "-" and pattern[j + 1] != "]":
            high = pattern[j + 1]
            if high == "\\" and j + 2 < len(pattern):
                high = pattern[j + 2]
                j += 1
            j += 2
            if high < low:
                raise ValueError("syntax error in pattern: invalid range %s-%s" % (low, high))
            items.append((low, high))
        else:
            items.append((low, low))
    return ("class", negated, tuple(items)), j + 1


def compile_pattern(pattern):
    """The pattern as tokens for ``match``: ("lit", c), ("one",) for ?, ("star",) for * (within
    an element), ("any",) for a final ** (anything), ("dirs",) for **/ (nothing, or anything
    ending with /), ("class", negated, ranges)."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                i += 2
                if i < len(pattern) and pattern[i] == "/":
                    i += 1
                out.append(("any",) if i >= len(pattern) else ("dirs",))
                continue
            out.append(("star",))
        elif c == "?":
            out.append(("one",))
        elif c == "\\":
            i += 1
            out.append(("lit", pattern[i] if i < len(pattern) else "\\"))
        elif c == "[":
            token, i = _class(pattern, i)
            out.append(token)
            continue
        else:
            out.append(("lit", c))
        i += 1
    return tuple(out)


def _step(token, c):
    kind = token[0]
    if kind == "lit":
        return c == token[1]
    if kind == "one":
        return c != "/"
    inside = any(low <= c <= high for low, high in token[2])
    return inside != token[1]


def match(tokens, path):
    """Whether the path, or one of its parent directories, matches the whole pattern.

    One set-of-states simulation over the path (a parent matches when the pattern accepts
    just before one of the path's slashes): linear in the path's length, so a hostile pattern
    cannot make a build hang the way a backtracking regex can."""
    n = len(tokens)

    def closure(states):
        todo, seen = list(states), set(states)
        while todo:
            k, inside = todo.pop()
            if not inside and k < n and tokens[k][0] in ("star", "any", "dirs") and (k + 1, False) not in seen:
                seen.add((k + 1, False))
                todo.append((k + 1, False))
        return seen

    states = closure({(0, False)})
    for i, c in enumerate(path):
        if c == "/" and i > 0 and (n, False) in states:
            return True
        nxt = set()
        for k, _inside in states:
            if k >= n:
                continue
            kind = tokens[k][0]
            if kind == "star":
                if c != "/":
                    nxt.add((k, False))
            elif kind == "any":
                nxt.add((k, False))
            elif kind == "dirs":
                nxt.add((k, True))
                if c == "/":
                    nxt.add((k + 1, False))
            elif _step(tokens[k], c):
                nxt.add((k + 1, False))
        if not nxt:
            return False
        states = closure(nxt)
    return (n, False) in states


class Matcher:
    """The patterns of one .dockerignore; ``ignored(path)`` for context-relative paths."""

    def __init__(self, text="", filename=".dockerignore"):
        self.patterns = []
        for number, line in enumerate(text.splitlines(), 1):
            cleaned = clean_pattern(line)
            if cleaned is None or not cleaned[0]:
                continue
            try:
                tokens = compile_pattern(cleaned[0])
            except ValueError as e:
                raise InvalidArgument("%s:%d: %s: %s" % (filename, number, line.strip(), e)) from None
            self.patterns.append(Pattern(cleaned[0], cleaned[1], tokens))
        self.has_exceptions = any(p.exclusion for p in self.patterns)

    def ignored(self, path):
        path = posixpath.normpath(path.lstrip("/")) if path else "."
        matched = False
        for p in self.patterns:
            if p.exclusion != matched:
                continue
            if match(p.tokens, path):
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
