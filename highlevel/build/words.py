"""Splitting an instruction's arguments: leading ``--flags``, JSON (exec) form, BuildKit's words.

Each function raises ``ValueError`` with a message; the caller adds the line number.
"""
import json

_SPACE = " \t\v\f\r\n"
NOT_STRINGS = "when using JSON array syntax, arrays must be comprised of strings only"


def split_flags(rest):
    """``--name=value`` / ``--name`` words before the arguments, and what follows them.

    Flags end at the first word not starting with ``--``; a word ``--`` ends them and is
    dropped.  Quotes in a flag word group and are removed.  Returns ``([(name, value or None)],
    rest)``."""
    flags, pos = [], 0
    while True:
        while pos < len(rest) and rest[pos] in _SPACE:
            pos += 1
        if not rest.startswith("--", pos):
            return flags, rest[pos:]
        word, quote = [], None
        while pos < len(rest) and (quote or rest[pos] not in _SPACE):
            c = rest[pos]
            if quote:
                if c == quote:
                    quote = None
                else:
                    word.append(c)
            elif c in "'\"":
                quote = c
            else:
                word.append(c)
            pos += 1
        word = "".join(word)
        if word == "--":
            while pos < len(rest) and rest[pos] in _SPACE:
                pos += 1
            return flags, rest[pos:]
        name, eq, value = word[2:].partition("=")
        flags.append((name, value if eq else None))


def _no_constants(name):
    raise ValueError("not JSON: %s" % name)


def json_form(rest):
    """The list of strings when ``rest`` is a JSON array of strings, None when it is no JSON array
    (then it is shell form).  An array holding anything but strings is an error."""
    text = rest.lstrip(_SPACE)
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(v, str) for v in value):
        raise ValueError(NOT_STRINGS)
    return value


def whitespace_words(rest):
    return rest.split()


def kv_words(rest, escape):
    """BuildKit's word splitting for ENV, LABEL and ARG: whitespace separates words except
    inside quotes; quotes and escapes stay in the word (expansion removes them later); an
    escape character at the very end is dropped."""
    words, word, quote, blank_ok, i, n = [], [], None, False, 0, len(rest)
    in_word = False
    while i < n:
        c = rest[i]
        if not in_word and quote is None:
            if c in _SPACE:
                i += 1
                continue
            in_word = True
        if quote is None:
            if c in _SPACE:
                if blank_ok or word:
                    words.append("".join(word))
                word, blank_ok, in_word = [], False, False
                i += 1
                continue
            if c in "'\"":
                quote, blank_ok = c, True
            if c == escape:
                if i + 1 == n:
                    i += 1
                    continue
                word.append(c)
                i += 1
                c = rest[i]
            word.append(c)
            i += 1
            continue
        if c == quote:
            quote = None
        if c == escape and quote != "'":
            if i + 1 == n:
                i += 1
                continue
            word.append(c)
            i += 1
            c = rest[i]
        word.append(c)
        i += 1
    if in_word and (blank_ok or word):
        words.append("".join(word))
    return words


def name_values(rest, escape, keyword):
    """ENV and LABEL arguments: ``k=v k2="v 2"`` or the legacy ``k value with spaces``."""
    words = kv_words(rest, escape)
    if not words:
        return []
    if "=" not in words[0]:
        parts = rest.strip(_SPACE).split(None, 1)
        if len(parts) < 2:
            raise ValueError("%s must have two arguments" % keyword)
        return [(parts[0], parts[1])]
    pairs = []
    for word in words:
        if "=" not in word:
            raise ValueError("Syntax error - can't find = in %r. Must be of the form: name=value" % word)
        name, _, value = word.partition("=")
        if not name:
            raise ValueError("%s names can not be blank" % keyword)
        pairs.append((name, value))
    return pairs
