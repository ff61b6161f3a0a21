"""Whiteout classification and entry-name cleaning: one table each."""
import pytest
from gantry.highlevel import errors
from gantry.highlevel.images.whiteouts import classify, clean_path, whiteout_name

CLASSIFY = [
    ("etc/passwd", "file", ("etc", "passwd")),
    ("./etc/passwd", "file", ("etc", "passwd")),
    ("etc//x/", "file", ("etc", "x")),
    (".", "root", ()),
    ("./", "root", ()),
    ("etc/.wh.hostname", "whiteout", ("etc", "hostname")),
    (".wh.top", "whiteout", ("top",)),
    ("./a/b/.wh..hidden", "whiteout", ("a", "b", ".hidden")),
    ("tmp/.wh..wh..opq", "opaque", ("tmp",)),
    (".wh..wh..opq", "opaque", ()),
    ("a/.whfoo", "file", ("a", ".whfoo")),
    ("a/wh.foo", "file", ("a", "wh.foo")),
    ("a/x.wh.y", "file", ("a", "x.wh.y")),
]


@pytest.mark.parametrize("name,kind,parts", CLASSIFY)
def test_classify(name, kind, parts):
    e = classify(name)
    assert (e.kind, e.parts) == (kind, parts)


REFUSED = [
    "/etc/passwd",                 # absolute
    "../escape",
    "a/../../escape",
    "a/..",
    "",
    "a\x00b",
    "a/.wh...",                    # whiteout of ".."
    "a/.wh..",                     # whiteout of "."
    "a/.wh.",                      # whiteout of nothing
    "../.wh.victim",
    "/x/.wh.victim",
    "a/.wh..wh.plnk",              # reserved AUFS names
]


@pytest.mark.parametrize("name", REFUSED)
def test_refused_names(name):
    with pytest.raises(errors.InvalidArgument, match="layer entry"):
        classify(name)


def test_clean_path_keeps_dots_inside_names():
    assert clean_path("a/..b/c..") == ("a", "..b", "c..")


def test_whiteout_name_inverts_classify():
    for parts in [("a",), ("a", "b"), ("x", ".y")]:
        assert classify(whiteout_name(parts)).parts == parts
