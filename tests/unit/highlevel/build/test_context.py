"""Build context: sources, globs, escapes, .dockerignore exclusion, content digests."""
import os

import pytest
from gantry.highlevel import errors
from gantry.highlevel.build.context import BuildContext, clean_source
from gantry.highlevel.build.ignore import Matcher


@pytest.fixture
def ctx(tmp_path):
    for rel in ("a.txt", "b.py", ".hidden", "src/x.py", "src/y.txt", "src/deep/z.py"):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(rel)
    os.symlink("/etc/passwd", tmp_path / "link")
    return BuildContext(str(tmp_path))


@pytest.mark.parametrize("src, clean", [
    ("a.txt", "a.txt"), ("/a.txt", "a.txt"), ("./src/../a.txt", "a.txt"), (".", ""), ("/", ""), ("src/", "src"),
])
def test_clean_source(src, clean):
    assert clean_source(src, "COPY") == clean


@pytest.mark.parametrize("src", ["..", "../x", "a/../../x", "src/../../etc/passwd", "./.."])
def test_escapes_are_refused(src):
    with pytest.raises(errors.InvalidArgument, match="outside the build context"):
        clean_source(src, "Dockerfile:3: COPY")


@pytest.mark.parametrize("patterns, found", [
    (["*.py"], ["b.py"]),
    (["*"], [".hidden", "a.txt", "b.py", "link", "src"]),         # Go's Match: * takes dot files too
    (["src/*.py"], ["src/x.py"]),
    (["src/*/*.py"], ["src/deep/z.py"]),
    (["a.txt", "src/y.txt"], ["a.txt", "src/y.txt"]),
    (["?.txt"], ["a.txt"]),
    (["[ab].*"], ["a.txt", "b.py"]),
])
def test_match(ctx, patterns, found):
    assert ctx.match(patterns, "COPY") == found


def test_nothing_matched_is_an_error(ctx):
    with pytest.raises(errors.InvalidArgument, match="nope"):
        ctx.match(["nope*"], "COPY")


def test_symlinks_are_not_followed_in_paths(ctx):
    with pytest.raises(errors.InvalidArgument):
        ctx.match(["link/x"], "COPY")


def test_ignored_entries_do_not_exist(tmp_path, ctx):
    ig = BuildContext(str(tmp_path), Matcher("**/*.py\n"))
    assert ig.match(["*"], "COPY") == [".hidden", "a.txt", "link", "src"]
    assert [r for r, _ in ig.walk("src")] == ["src", "src/deep", "src/y.txt"]
    with pytest.raises(errors.InvalidArgument):
        ig.match(["b.py"], "COPY")


def test_digest_follows_content_names_and_modes(tmp_path, ctx):
    d1 = ctx.digest(["src"])
    assert ctx.digest(["src"]) == d1
    (tmp_path / "src/x.py").write_text("changed")
    d2 = ctx.digest(["src"])
    assert d2 != d1
    os.chmod(tmp_path / "src/x.py", 0o700)
    assert ctx.digest(["src"]) != d2
    assert ctx.digest(["a.txt"]) != ctx.digest(["b.py"])


def test_context_must_be_an_absolute_directory(tmp_path):
    with pytest.raises(errors.InvalidArgument):
        BuildContext("relative/dir")
    with pytest.raises(errors.NotFound):
        BuildContext(str(tmp_path / "missing"))


def test_exceptions_bring_entries_back_inside_ignored_directories(tmp_path, ctx):
    ig = BuildContext(str(tmp_path), Matcher("src\n!src/deep/z.py\n"))
    assert [r for r, _ in ig.walk("")] == ["", ".hidden", "a.txt", "b.py", "link", "src/deep/z.py"]
    assert ig.skip(str(tmp_path / "src" / "x.py")) and not ig.skip(str(tmp_path / "src" / "deep"))
    assert not ig.skip(str(tmp_path / "src" / "deep" / "z.py"))
