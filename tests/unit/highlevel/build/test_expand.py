"""expand_word / expand_words / expand_raw: BuildKit's variable expansion (tables)."""
import pytest
from gantry.highlevel.build.expand import ExpandError, expand_raw, expand_word, expand_words

ENV = {"A": "a", "SP": "x  y", "EMPTY": "", "PATH": "/bin", "_U1": "u"}

WORDS = [
    ("$A", "a"),
    ("${A}", "a"),
    ("$A$A", "aa"),
    ("${A}b", "ab"),
    ("$Ab", ""),
    ("$_U1", "u"),
    ("$NOPE", ""),
    ("${NOPE}", ""),
    ("pre-$A-post", "pre-a-post"),
    ("${A:-w}", "a"),
    ("${NOPE:-w}", "w"),
    ("${EMPTY:-w}", "w"),
    ("${EMPTY-w}", ""),
    ("${NOPE-w}", "w"),
    ("${A:+w}", "w"),
    ("${EMPTY:+w}", ""),
    ("${EMPTY+w}", "w"),
    ("${NOPE+w}", ""),
    ("${NOPE:-$A}", "a"),
    ("${NOPE:-${A:+nested}}", "nested"),
    ("${NOPE:-a b}", "a b"),
    ("${NOPE:-}", ""),
    ("${A:?must be set}", "a"),
    ("\\$A", "$A"),
    ("\\${A}", "${A}"),
    ("a\\ b", "a b"),
    ("a\\", "a"),
    ("'$A'", "$A"),
    ("'a  b'", "a  b"),
    ('"$A"', "a"),
    ('"${A}  b"', "a  b"),
    ('"\\$A"', "$A"),
    ('"\\"q\\""', '"q"'),
    ('"a\\b"', "a\\b"),
    ('"\\\\"', "\\"),
    ("it''s", "its"),
    ("$", "$"),
    ("a$", "a$"),
    ("$ a", "$ a"),
    ("$-", ""),
    ("$1", ""),
    ("${PATH}:/usr/bin", "/bin:/usr/bin"),
    ("$SP", "x  y"),
    ("", ""),
]


@pytest.mark.parametrize("text,want", WORDS)
def test_expand_word(text, want):
    assert expand_word(text, ENV) == want


def test_backtick_escape():
    assert expand_word("`$A", ENV, "`") == "$A"
    assert expand_word("c:\\dir\\$A", ENV, "`") == "c:\\dir\\a"
    assert expand_word('"`"x"', ENV, "`") == '"x'


SPLIT = [
    ("$SP", ["x", "y"]),
    ('"$SP"', ["x  y"]),
    ("80 $SP", ["80", "x", "y"]),
    ("  a   b ", ["a", "b"]),
    ("''", [""]),
    ("$EMPTY", []),
    ("a'b c'd", ["ab cd"]),
]


@pytest.mark.parametrize("text,want", SPLIT)
def test_expand_words(text, want):
    assert expand_words(text, ENV) == want


RAW = [
    ("key=$A\n", "key=a\n"),
    ("'$A' \"$A\"\n", "'a' \"a\"\n"),
    ("\\$A\n", "$A\n"),
    ("it's\n", "it's\n"),
    ("${NOPE:-d}\n", "d\n"),
]


@pytest.mark.parametrize("text,want", RAW)
def test_expand_raw(text, want):
    assert expand_raw(text, ENV) == want


ERRORS = [
    ("'open", "matching single-quote"),
    ('"open', "matching double-quote"),
    ("${A", "missing '}'"),
    ("${A:-x", "missing '}'"),
    ("${}", "bad substitution"),
    ("${A%x}", "unsupported modifier (%)"),
    ("${A:x}", "unsupported modifier (x)"),
    ("${NOPE:?is required}", "NOPE: is required"),
    ("${EMPTY:?}", "EMPTY: is not allowed to be unset"),
    ("${NOPE?}", "NOPE"),
]


@pytest.mark.parametrize("text,message", ERRORS)
def test_expand_errors(text, message):
    with pytest.raises(ExpandError) as info:
        expand_word(text, ENV)
    assert message in str(info.value)


def test_set_but_empty_with_question_without_colon():
    assert expand_word("${EMPTY?msg}", ENV) == ""
