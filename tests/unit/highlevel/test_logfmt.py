"""gantryd's logfmt lines."""
import io
import logging

from gantry.highlevel import logfmt


def test_quote_only_when_needed():
    assert logfmt.quote("plain") == "plain"
    assert logfmt.quote("two words") == '"two words"'
    assert logfmt.quote('say "hi"') == '"say \\"hi\\""'
    assert logfmt.quote("a=b") == '"a=b"'
    assert logfmt.quote("") == '""'
    assert logfmt.quote("line\nbreak") == '"line\\nbreak"'
    assert logfmt.quote("bell\x07") == '"bell\\x07"'
    assert logfmt.quote(12) == "12"


def test_encode_keeps_order():
    assert logfmt.encode([("b", 1), ("a", "x y")]) == 'b=1 a="x y"'


def test_a_record_with_fields_and_exception():
    buf = io.StringIO()
    log = logfmt.setup("debug", buf)
    child = logging.getLogger("gantry.test")
    child.info("pull done", extra={"fields": {"ref": "busybox:1.36", "ms": 12}})
    try:
        raise ValueError("boom")
    except ValueError:
        child.error("failed", exc_info=True)
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("time=")
    assert lines[0].endswith(' level=info logger=gantry.test msg="pull done" ref=busybox:1.36 ms=12')
    assert "level=error" in lines[1] and "error=ValueError('boom')" in lines[1] and "traceback=" in lines[1]
    assert len(lines) == 2  # the traceback stays on the record's one line
    log.handlers[:] = []


def test_level_filters():
    buf = io.StringIO()
    log = logfmt.setup("warning", buf)
    logging.getLogger("gantry.test").info("hidden")
    assert buf.getvalue() == ""
    log.handlers[:] = []
