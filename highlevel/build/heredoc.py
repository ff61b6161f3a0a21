"""Here-documents in RUN, COPY and ADD lines (BuildKit's rules).

A word of the line (split like the shell, quotes kept) of the form ``[fd]<<[-]NAME`` opens
a here-document; its body is the raw lines that follow, up to a line equal to ``NAME``
(with ``<<-``: once its leading tabs are removed).  A quoted delimiter (``<<'EOF'``,
``<<"EOF"``, ``<<E"O"F``) means the body is not expanded.  ``<<<`` is not a heredoc.
"""
import re

_HEREDOC = re.compile(r"^(\d*)<<(-?)(.*)$", re.S)
_NAME_END = re.compile(r"[\s<>|&;()]")


def split_words(line, escape="\\"):
    """The line's words as the shell would split them, quotes and escapes kept as written."""
    words, cur, quote, i, in_word = [], [], None, 0, False
    while i < len(line):
        c = line[i]
        if quote:
            cur.append(c)
            if c == escape and quote == '"' and i + 1 < len(line):
                cur.append(line[i + 1])
                i += 1
            elif c == quote:
                quote = None
        elif c in " \t\r\n":
            if in_word:
                words.append("".join(cur))
                cur, in_word = [], False
        else:
            in_word = True
            cur.append(c)
            if c == escape and i + 1 < len(line):
                cur.append(line[i + 1])
                i += 1
            elif c in "'\"":
                quote = c
        i += 1
    if in_word:
        words.append("".join(cur))
    return words


def parse_heredoc_word(word):
    """``(name, expand, chomp, fd)`` when the word opens a heredoc, else None."""
    m = _HEREDOC.match(word)
    if m is None:
        return None
    fd = int(m.group(1)) if m.group(1) else None
    rest = m.group(3)
    if not rest or rest.startswith("<"):
        return None
    name, quoted, quote, i = [], False, None, 0
    while i < len(rest):
        c = rest[i]
        if quote:
            if c == quote:
                quote = None
            else:
                name.append(c)
        elif c in "'\"":
            quote, quoted = c, True
        elif c == "\\" and i + 1 < len(rest):
            quoted = True
            name.append(rest[i + 1])
            i += 1
        elif _NAME_END.match(c):
            break
        else:
            name.append(c)
        i += 1
    if quote is not None or not name:
        return None
    return "".join(name), not quoted, m.group(2) == "-", fd


def heredoc_words(line, escape="\\"):
    """The heredocs a logical line opens, in order: ``[(name, expand, chomp, fd), ...]``."""
    out = []
    for word in split_words(line, escape):
        found = parse_heredoc_word(word)
        if found is not None:
            out.append(found)
    return out


def chomp(content):
    """``<<-``: leading tabs removed from every line of the body."""
    return "".join(line.lstrip("\t") for line in content.splitlines(keepends=True))
