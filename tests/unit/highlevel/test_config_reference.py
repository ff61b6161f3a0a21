"""README.md's configuration reference and config.py's docstring say exactly what config.py does.

The README table (between the `config-reference` markers) lists every TOML key with its type and
default; this test rebuilds those three columns from highlevel/config.py and fails on any difference
(the failure prints the rows to paste).  The docstring's sample file must hold every key, at its default.
"""
import os
import re
import textwrap
import tomllib

from gantry.highlevel import config

README = os.path.join(os.path.dirname(__file__), "..", "..", "..", "README.md")
TYPE_NAMES = {"str": "string", "int": "integer", "float": "float", "bool": "boolean", "tuple": "list of strings"}
RUNTIME_ROWS = [("runtimes.NAME.path", "string", "(required)"), ("runtimes.NAME.root", "string", '""')]


def toml_literal(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"%s"' % value
    if isinstance(value, tuple):
        return "[%s]" % ", ".join(toml_literal(v) for v in value)
    return repr(value)


def expected_rows():
    """(TOML key, type, default) for every key parse_toml accepts, in config.py's order."""
    defaults = config.Config()
    rows = []
    for table, keys in config._TABLES.items():
        pairs = keys.items() if isinstance(keys, dict) else ((k, k) for k in keys)
        for key, field in pairs:
            name = "%s.%s" % (table, key) if table else key
            rows.append((name, TYPE_NAMES[config._TYPES[field]], toml_literal(getattr(defaults, field))))
    return rows + RUNTIME_ROWS


def readme_rows():
    with open(README) as f:
        text = f.read()
    block = re.search(r"<!-- config-reference -->\n(.*?)<!-- /config-reference -->", text, re.S)
    assert block, "README.md has no <!-- config-reference --> block"
    rows = []
    for line in block.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] in ("key", "") or set(cells[0]) <= set("-: "):
            continue
        rows.append(tuple(c.strip("`") for c in cells[:3]))
    return rows


def test_readme_reference_matches_config_code():
    want, got = expected_rows(), readme_rows()
    paste = "\n".join("| `%s` | %s | `%s` | |" % row for row in want)
    assert got == want, "README.md's configuration reference differs from highlevel/config.py; rows:\n" + paste


def test_every_key_the_reference_lists_is_accepted_by_the_parser():
    for key, _, default in expected_rows():
        if key.startswith("runtimes."):
            continue
        table, _, leaf = key.rpartition(".")
        doc = ("[%s]\n" % table if table else "") + "%s = %s\n" % (leaf, default)
        assert config.parse_toml(doc), key


def test_docstring_sample_holds_every_key_at_its_default():
    sample = config.__doc__.split("::\n", 1)[1].split("\nA flag given")[0]
    seen = {}
    for key, value in tomllib.loads(textwrap.dedent(sample)).items():
        if key == "runtimes":
            assert list(value) == ["runc"]              # the sample shows one handler added
        elif isinstance(value, dict):
            seen.update({"%s.%s" % (key, sub): v for sub, v in value.items()})
        else:
            seen[key] = value
    rows = {k: d for k, _, d in expected_rows() if not k.startswith("runtimes.")}
    assert set(seen) == set(rows)
    for key, value in seen.items():
        value = tuple(value) if isinstance(value, list) else value
        same = toml_literal(value) == rows[key]
        if not same and isinstance(value, (int, float)) and not isinstance(value, bool):
            same = float(value) == float(rows[key])
        assert same, "config.py docstring: %s = %r, the default is %s" % (key, value, rows[key])
