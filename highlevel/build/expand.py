"""Dockerfile variable expansion: BuildKit's shell-word lexer, pure.

    $NAME  ${NAME}              the value, "" when unset
    ${NAME:-word} ${NAME-word}  word when NAME is unset or empty (``-``: only when unset)
    ${NAME:+word} ${NAME+word}  word when NAME is set and not empty (``+``: when set)
    ${NAME:?msg}  ${NAME?msg}   an error naming msg when NAME is unset/empty (``?``: unset)
    \\$  (the escape character, then any character)   that character, literally
    '...'                        literal; "..." expands, and the escape character escapes only
                                 ``"``, ``$`` and itself there

``expand_word`` is BuildKit's ProcessWord: quotes are removed, whitespace kept (one word).
``expand_words`` splits the result on unquoted whitespace (words of a variable's value
included).  ``expand_raw`` is for COPY heredoc bodies: quotes stay as they are.
Errors raise ``ExpandError`` (a ValueError); the caller names the line.
"""


class ExpandError(ValueError):
    pass


_SPECIAL = "*#@$?!-"
MAX_NESTING = 64
_SPACE = " \t\r\n\v\f"


class _Lexer:
    def __init__(self, text, env, escape, raw_quotes, depth=0):
        if depth > MAX_NESTING:
            raise ExpandError("substitutions nested deeper than %d" % MAX_NESTING)
        self.s, self.i, self.env, self.esc, self.raw, self.depth = text, 0, env, escape, raw_quotes, depth
        self.words, self.cur, self.in_word = [], [], False

    def peek(self):
        return self.s[self.i] if self.i < len(self.s) else ""

    def next(self):
        c = self.peek()
        self.i += 1
        return c

    # -- word tracking (expand_words) --------------------------------------------------
    def add(self, text, quoted):
        """Append text to the result; unquoted whitespace separates words."""
        if quoted:
            self.cur.append(text)
            self.in_word = True
            return
        for c in text:
            if c in _SPACE:
                self.end_word()
            else:
                self.cur.append(c)
                self.in_word = True

    def end_word(self):
        if self.in_word:
            self.words.append("".join(self.cur))
        self.cur, self.in_word = [], False

    # -- the grammar -------------------------------------------------------------------
    def process(self, stop=""):
        """Characters up to ``stop`` (inside ${...}) or the end; returns the text."""
        out = []
        while self.i < len(self.s):
            c = self.peek()
            if stop and c == stop:
                break
            self.i += 1
            if c == self.esc:
                if self.i >= len(self.s):
                    break
                nxt = self.next()
                out.append(nxt)
                self.add(nxt, True)
            elif c == "'" and not self.raw:
                text = self.single_quoted()
                out.append(text)
                self.add(text, True)
            elif c == '"' and not self.raw:
                text = self.double_quoted()
                out.append(text)
                self.add(text, True)
            elif c == "$":
                text = self.dollar()
                out.append(text)
                self.add(text, False)
            else:
                out.append(c)
                self.add(c, False)
        return "".join(out)

    def single_quoted(self):
        end = self.s.find("'", self.i)
        if end < 0:
            raise ExpandError("unexpected end of statement while looking for matching single-quote")
        text = self.s[self.i:end]
        self.i = end + 1
        self.in_word = True
        return text

    def double_quoted(self):
        out = []
        while True:
            if self.i >= len(self.s):
                raise ExpandError("unexpected end of statement while looking for matching double-quote")
            c = self.next()
            if c == '"':
                self.in_word = True
                return "".join(out)
            if c == "$":
                out.append(self.dollar(quoted=True))
            elif c == self.esc:
                nxt = self.peek()
                if nxt == "":
                    continue
                if nxt in ('"', "$", self.esc):
                    out.append(self.next())
                else:
                    out.append(c)
            else:
                out.append(c)

    def name(self):
        c = self.peek()
        if c.isdigit():
            start = self.i
            while self.peek().isdigit():
                self.i += 1
            return self.s[start:self.i]
        if c and c in _SPECIAL:
            self.i += 1
            return c
        start = self.i
        while self.peek() and (self.peek().isalnum() or self.peek() == "_"):
            self.i += 1
        return self.s[start:self.i]

    def dollar(self, quoted=False):
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            return self.env.get(name, "")
        self.i += 1
        name = self.name()
        if not name:
            raise ExpandError("bad substitution: ${ must be followed by a variable name")
        c = self.next()
        if c == "}":
            return self.env.get(name, "")
        if c == "":
            raise ExpandError("syntax error: missing '}' in ${%s" % name)
        colon = c == ":"
        if colon:
            c = self.next()
        if c not in ("-", "+", "?"):
            raise ExpandError("unsupported modifier (%s) in substitution ${%s...}" % (c if c.isprintable() else repr(c), name))
        word = _Lexer(self.s, self.env, self.esc, self.raw, self.depth + 1)
        word.i = self.i
        text = word.process(stop="}")
        self.i = word.i
        if self.next() != "}":
            raise ExpandError("syntax error: missing '}' in ${%s" % name)
        value = self.env.get(name)
        present = value is not None and (value != "" or not colon)
        if c == "-":
            return value if present else text
        if c == "+":
            return text if present else ""
        if not present:
            raise ExpandError("%s: %s" % (name, text or "is not allowed to be unset"))
        return value


def expand_word(text, env, escape="\\"):
    """``text`` expanded as one word (quotes removed, whitespace kept)."""
    return _Lexer(text, env, escape, False).process()


def expand_words(text, env, escape="\\"):
    """``text`` expanded and split on unquoted whitespace (EXPOSE ``$PORTS``)."""
    lexer = _Lexer(text, env, escape, False)
    lexer.process()
    lexer.end_word()
    return lexer.words


def expand_raw(text, env):
    """A COPY heredoc body (delimiter not quoted): variables and ``\\`` escapes, quotes as they are."""
    return _Lexer(text, env, "\\", True).process()
