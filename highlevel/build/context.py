"""The build context: the sources COPY and ADD may read, and their content digests for the cache.

    ctx = BuildContext("/src/app", ignore.load("/src/app"))  # the .dockerignore's Matcher (or None)
    ctx.match(["src/*.py", "README"], "COPY", line)  -> ["src/a.py", "src/b.py", "README"] (context-relative)
    ctx.path("src/a.py")                              -> "/src/app/src/a.py"
    ctx.digest(["src/a.py", ...])                     -> "sha256:..." over names, types, modes, contents

Rules, as Docker's: a source is relative to the context root whatever its
form (``/x`` and ``x`` are the same file); one that leaves the context
(``../x``, ``a/../../x``) is InvalidArgument naming the instruction's line;
wildcards follow Go's ``filepath.Match`` per path component (``*`` matches
dot files too, and never ``/``); a pattern that matches nothing is
InvalidArgument; entries the ``.dockerignore`` excludes do not exist for
COPY.  Nothing here follows a symlink: a symlink in the context is copied as
a symlink, and a path through one is not found.
"""
from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
import stat

from .. import errors

_GLOB_CHARS = set("*?[")


def clean_source(src, where):
    """A context-relative, normalised path ("" = the root); escapes are refused."""
    if "\0" in src:
        raise errors.InvalidArgument("%s: source %r contains a NUL byte" % (where, src))
    norm = posixpath.normpath("/" + src.replace("\\", "/") if not src.startswith("/") else src)
    # normpath("/..") is "/": compare with a root-less normalisation to see an escape
    rel = posixpath.normpath(src.lstrip("/")) if src.strip("/") else "."
    if rel == ".." or rel.startswith("../"):
        raise errors.InvalidArgument("%s: source %s is outside the build context" % (where, src))
    return norm.lstrip("/")


def has_glob(path):
    return any(c in _GLOB_CHARS for c in path)


class BuildContext:
    def __init__(self, root, matcher=None):
        if not os.path.isabs(root):
            raise errors.InvalidArgument("build context %s: must be an absolute path" % root)
        try:
            st = os.stat(root)
        except OSError as e:
            raise errors.NotFound("build context %s: %s" % (root, e.strerror)) from None
        if not stat.S_ISDIR(st.st_mode):
            raise errors.InvalidArgument("build context %s: not a directory" % root)
        self.root = os.path.realpath(root)
        self._ignored = matcher.ignored if matcher is not None else (lambda rel: False)
        # an ignored directory is still entered when a ``!`` exception may bring something in it back
        self.may_reinclude = bool(getattr(matcher, "has_exceptions", False))

    def path(self, rel):
        return os.path.join(self.root, rel) if rel else self.root

    def ignored(self, rel):
        return bool(rel) and self._ignored(rel)

    def skip(self, host_path):
        """For copies: True when ``host_path`` (inside the context) is not to be copied at all."""
        rel = os.path.relpath(host_path, self.root)
        if not self.ignored(rel):
            return False
        return not (self.may_reinclude and os.path.isdir(host_path) and not os.path.islink(host_path))

    def _lstat(self, rel):
        """lstat of a context-relative path, walking without following symlinks in parents."""
        parts = [p for p in rel.split("/") if p]
        path = self.root
        for i, part in enumerate(parts):
            path = os.path.join(path, part)
            try:
                st = os.lstat(path)
            except (FileNotFoundError, NotADirectoryError):
                return None
            if i < len(parts) - 1 and not stat.S_ISDIR(st.st_mode):
                return None
        return os.lstat(self.root) if not parts else st

    def match(self, sources, where):
        """Context-relative paths the sources name (globs expanded, sorted per pattern)."""
        out = []
        for src in sources:
            rel = clean_source(src, where)
            if has_glob(rel):
                found = self._glob(rel)
            else:
                found = [rel] if self._lstat(rel) is not None and not self.ignored(rel) else []
            if not found:
                raise errors.InvalidArgument("%s: %s: no such file or directory in the build context" % (where, src))
            out.extend(found)
        return out

    def _glob(self, pattern):
        found = [""]
        for part in pattern.split("/"):
            nxt = []
            for base in found:
                if not has_glob(part):
                    cand = posixpath.join(base, part) if base else part
                    if self._lstat(cand) is not None:
                        nxt.append(cand)
                    continue
                st = self._lstat(base)
                if st is None or not stat.S_ISDIR(st.st_mode):
                    continue
                for name in sorted(os.listdir(self.path(base))):
                    if fnmatch.fnmatchcase(name, part):
                        nxt.append(posixpath.join(base, name) if base else name)
            found = nxt
        return [f for f in found if not self.ignored(f)]

    def walk(self, rel):
        """(rel, lstat) of ``rel`` and, for a directory, everything below it not ignored; sorted."""
        st = self._lstat(rel)
        if st is None:
            return
        if not self.ignored(rel):
            yield rel, st
        if stat.S_ISDIR(st.st_mode):
            for name in sorted(os.listdir(self.path(rel))):
                child = posixpath.join(rel, name) if rel else name
                if not self.ignored(child) or self.may_reinclude:
                    yield from self.walk(child)

    def digest(self, rels):
        """A digest over what COPY would copy: names, types, modes, symlink targets, file contents."""
        h = hashlib.sha256()
        for top in rels:
            for rel, st in self.walk(top):
                h.update(b"%s\0%o\0" % (rel.encode("utf-8", "surrogateescape"), st.st_mode))
                if stat.S_ISREG(st.st_mode):
                    h.update(_file_digest(self.path(rel)).encode())
                elif stat.S_ISLNK(st.st_mode):
                    h.update(os.readlink(self.path(rel)).encode("utf-8", "surrogateescape"))
                h.update(b"\n")
        return "sha256:" + h.hexdigest()


def _file_digest(path):
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            h.update(chunk)
    finally:
        os.close(fd)
    return h.hexdigest()
