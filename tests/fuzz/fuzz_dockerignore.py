"""highlevel/build/ignore.py: a .dockerignore, and paths through its Matcher.

Only InvalidArgument escapes (a pattern that does not compile, naming its line).  The input
is the file, then after a NUL byte the paths to ask about, one a line.  ``ignored`` answers
a bool for every path; a path whose parent is ignored by a file without ``!`` exceptions is
ignored too; an empty file ignores nothing."""
import posixpath

from gantry.highlevel.build import ignore
from gantry.highlevel.errors import InvalidArgument

from .harness import Target


def check(data):
    text, _, paths = data.decode("utf-8", "replace").partition("\0")
    m = ignore.Matcher(text)
    assert all(p.text for p in m.patterns)
    for path in paths.splitlines()[:64]:
        answer = m.ignored(path)
        assert answer in (True, False)
        path = posixpath.normpath(path.lstrip("/")) if path else "."
        parent = path.rpartition("/")[0] if not path.startswith("..") else ""
        if parent.strip("/") and not m.has_exceptions and m.ignored(parent):
            assert answer, (path, parent)
    if not text.strip():
        assert not m.ignored("any/path")


TARGET = Target("dockerignore", check, ("gantry.highlevel.build.ignore",), allowed=(InvalidArgument,),
                max_len=8192)
