"""The word splitters under parse(): flags, JSON form, ENV/LABEL/ARG words, heredoc words,
Go durations (tables)."""
import pytest
from gantry.highlevel.build import durations, heredoc, words

FLAGS = [
    ("--a=1 --b x y", ([("a", "1"), ("b", None)], "x y")),
    ("  --a=1   rest", ([("a", "1")], "rest")),
    ("--a='x y' z", ([("a", "x y")], "z")),
    ('--a="x y"', ([("a", "x y")], "")),
    ("-- --a=1", ([], "--a=1")),
    ("x --a=1", ([], "x --a=1")),
    ("--=v x", ([("", "v")], "x")),
    ("", ([], "")),
]


@pytest.mark.parametrize("text,want", FLAGS)
def test_split_flags(text, want):
    flags, rest = words.split_flags(text)
    assert (flags, rest) == want


JSON = [
    ('["a", "b"]', ["a", "b"]),
    ('  ["a"]', ["a"]),
    ("[]", []),
    ('["a\\"b", "\\u00e9"]', ['a"b', "\u00e9"]),
    ('["a"] x', None),
    ("[a]", None),
    ("a", None),
    ("[NaN]", None),
    ("[" * 5000, None),
]


@pytest.mark.parametrize("text,want", JSON)
def test_json_form(text, want):
    assert words.json_form(text) == want


def test_json_form_not_strings():
    for text in ('["a", 1]', "[null]", '[["a"]]', '[{"a": 1}]', "[true]"):
        with pytest.raises(ValueError, match="arrays must be comprised of strings only"):
            words.json_form(text)


KV = [
    ("a=1 b=2", "\\", ["a=1", "b=2"]),
    ('a="x y" b', "\\", ['a="x y"', "b"]),
    ("a='x \" y'", "\\", ["a='x \" y'"]),
    ('a="x \\" y"', "\\", ['a="x \\" y"']),
    ("a=x\\ y", "\\", ["a=x\\ y"]),
    ("a=x` y", "`", ["a=x` y"]),
    ("a=x\\ y", "`", ["a=x\\", "y"]),
    ("a=''", "\\", ["a=''"]),
    ("''", "\\", ["''"]),
    ("a\\", "\\", ["a"]),
    ("   ", "\\", []),
]


@pytest.mark.parametrize("text,escape,want", KV)
def test_kv_words(text, escape, want):
    assert words.kv_words(text, escape) == want


SPLIT = [
    ("cat <<EOF > f", ["cat", "<<EOF", ">", "f"]),
    ("echo '<<A B'  \"c d\"", ["echo", "'<<A B'", '"c d"']),
    ("a\\ b c", ["a\\ b", "c"]),
    ('x"a b"y', ['x"a b"y']),
]


@pytest.mark.parametrize("text,want", SPLIT)
def test_split_words(text, want):
    assert heredoc.split_words(text) == want


HEREDOC_WORDS = [
    ("<<EOF", ("EOF", True, False, None)),
    ("<<-EOF", ("EOF", True, True, None)),
    ("<<'EOF'", ("EOF", False, False, None)),
    ('<<"E O"', ("E O", False, False, None)),
    ('<<E"O"F', ("EOF", False, False, None)),
    ("<<\\EOF", ("EOF", False, False, None)),
    ("2<<ERR", ("ERR", True, False, 2)),
    ("<<EOF>file", ("EOF", True, False, None)),
    ("<<EOF;", ("EOF", True, False, None)),
    ("<<", None),
    ("<<<x", None),
    ("<<'open", None),
    ("a<<EOF", None),
    ("<<-", None),
]


@pytest.mark.parametrize("word,want", HEREDOC_WORDS)
def test_parse_heredoc_word(word, want):
    assert heredoc.parse_heredoc_word(word) == want


def test_chomp():
    assert heredoc.chomp("\t\ta\n b\n\t\n") == "a\n b\n\n"


DURATIONS = [
    ("0", 0),
    ("1ns", 1),
    ("1us", 1000),
    ("1\u00b5s", 1000),
    ("1.5s", 1_500_000_000),
    ("1m30s", 90_000_000_000),
    ("2h", 7_200_000_000_000),
    (".5ms", 500_000),
    ("1.ms", 1_000_000),
    ("-1s", -1_000_000_000),
    ("+3s", 3_000_000_000),
]


@pytest.mark.parametrize("text,want", DURATIONS)
def test_duration(text, want):
    assert durations.parse(text) == want


@pytest.mark.parametrize("text", ["", "1", "s", "1x", "1.s.", ".s", "1s2", "-", "9999999999999h"])
def test_bad_duration(text):
    with pytest.raises(ValueError, match="invalid duration"):
        durations.parse(text)
