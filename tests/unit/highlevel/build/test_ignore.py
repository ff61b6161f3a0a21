""".dockerignore: pattern cleanup, Docker's matching (later rule wins), the context walk."""
import os

import pytest
from gantry.highlevel.build import ignore
from gantry.highlevel.errors import InvalidArgument

CLEAN = [
    ("# comment", None),
    ("   ", None),
    ("a", ("a", False)),
    ("  a  ", ("a", False)),
    ("./a", ("a", False)),
    ("/a/b", ("a/b", False)),
    ("a//b/../c/", ("a/c", False)),
    ("!a", ("a", True)),
    ("! /a", ("a", True)),
    ("/", ("/", False)),
    (" # not a comment", ("# not a comment", False)),
]


@pytest.mark.parametrize("line,want", CLEAN)
def test_clean_pattern(line, want):
    assert ignore.clean_pattern(line) == want


MATCH = [
    # patterns, path, ignored
    ("*.log", "a.log", True),
    ("*.log", "d/a.log", False),
    ("*/*.log", "d/a.log", True),
    ("**/*.log", "a.log", True),
    ("**/*.log", "d/e/a.log", True),
    ("**", "anything/at/all", True),
    ("d/**", "d", False),
    ("d/**", "d/x", True),
    ("d/**/x", "d/x", True),
    ("d/**/x", "d/a/b/x", True),
    ("d", "d/inside/f", True),
    ("d/", "d/f", True),
    ("a?c", "abc", True),
    ("a?c", "a/c", False),
    ("[a-c].txt", "b.txt", True),
    ("[^a-c].txt", "b.txt", False),
    ("[^a-c].txt", "x.txt", True),
    ("\\*", "*", True),
    ("\\*", "x", False),
    ("a.b", "axb", False),
    ("*.log\n!keep.log", "keep.log", False),
    ("*.log\n!keep.log", "other.log", True),
    ("!keep.log\n*.log", "keep.log", True),
    ("d\n!d/keep", "d/keep", False),
    ("d\n!d/keep", "d/keep/deeper", False),
    ("d\n!d/keep", "d/other", True),
    ("*\n!src\nsrc/*.tmp", "src/a.tmp", True),
    ("*\n!src\nsrc/*.tmp", "src/a.go", False),
    ("*\n!src\nsrc/*.tmp", "README", True),
    ("/abs", "abs", True),
    ("./dot/x", "dot/x", True),
    ("", "x", False),
    ("[]a]", "]", True),
    ("[a\\-z]", "-", True),
    ("[a\\-z]", "b", False),
    ("[0-9][0-9]", "42", True),
    ("[0-9][0-9]", "4x", False),
    ("a[/]b", "a/b", True),
    ("**/", "x/y", True),
    ("a/**/b/**/c", "a/b/c", True),
    ("a/**/b/**/c", "a/x/b/y/z/c", True),
    ("a/**/b/**/c", "a/x/c", False),
    ("**a", "xa", False),
    ("**a", "d/a", True),
    ("*", "a/b", True),
    ("a/*", "a", False),
]


@pytest.mark.parametrize("patterns,path,want", MATCH)
def test_ignored(patterns, path, want):
    assert ignore.Matcher(patterns).ignored(path) is want


def test_hostile_pattern_is_linear():
    import time

    m = ignore.Matcher("**/a**/a**/a**/a**/a**/a**/a**/a**/a**/a*b\n" + "*a" * 50 + "b\n")
    start = time.monotonic()
    assert not m.ignored("a/" * 1000 + "a" * 2000)
    assert time.monotonic() - start < 5


def test_bad_range():
    with pytest.raises(InvalidArgument, match="invalid range z-a"):
        ignore.Matcher("[z-a]")


def test_bad_pattern_names_its_line():
    with pytest.raises(InvalidArgument) as info:
        ignore.Matcher("ok\n# c\n[unclosed\n")
    assert str(info.value).startswith(".dockerignore:3: [unclosed: syntax error in pattern")


def test_walk(tmp_path):
    for path in ("b/keep.txt", "b/drop.log", "a.log", "keep.log", "c/d/e.txt", "node_modules/m/x.js",
                 "node_modules/m/keep/y.js", "z"):
        full = tmp_path / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(path)
    os.symlink("/etc", tmp_path / "link")
    m = ignore.Matcher("*.log\n**/*.log\n!keep.log\nnode_modules\n!node_modules/m/keep\nc/d\n")
    assert list(ignore.walk(str(tmp_path), m)) == [
        "b", "b/keep.txt", "c", "keep.log", "link", "node_modules/m/keep", "node_modules/m/keep/y.js", "z"]


def test_walk_without_exceptions_skips_ignored_dirs(tmp_path):
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "f").write_text("x")
    (tmp_path / "f").write_text("x")
    assert list(ignore.walk(str(tmp_path), ignore.Matcher("big"))) == ["f"]


def test_load(tmp_path):
    assert ignore.load(str(tmp_path)).patterns == []
    (tmp_path / ".dockerignore").write_text("*.o\n")
    assert ignore.load(str(tmp_path)).ignored("x.o")
