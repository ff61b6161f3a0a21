"""Reading the CRI log format: records, P+F joining, malformed lines, --tail, --since, rotated parts."""
import pytest
from gantry.highlevel.ctl import crilog

T0 = "2026-12-05T08:00:00.000000001Z"
T1 = "2026-12-05T08:00:01.5Z"
T2 = "2026-12-05T09:00:02.000000000+01:00"     # = 08:00:02 UTC


@pytest.mark.parametrize("text, ns", [
    (T0, 1_796_457_600_000_000_001),
    (T1, 1_796_457_601_500_000_000),
    (T2, 1_796_457_602_000_000_000),
    ("2026-12-05T08:00:00Z", 1_796_457_600_000_000_000),
])
def test_parse_time(text, ns):
    assert crilog.parse_time(text) == ns


@pytest.mark.parametrize("bad", ["yesterday", "2026-12-05 08:00:00Z", "2026-12-05T08:00:00"])
def test_parse_time_refuses(bad):
    with pytest.raises(crilog.BadTime):
        crilog.parse_time(bad)


NOW = 1_796_457_700_000_000_000


@pytest.mark.parametrize("text, ns", [("10s", NOW - 10 * 10**9), ("5m", NOW - 300 * 10**9),
                                      ("1h30m", NOW - 5400 * 10**9), ("1.5s", NOW - 1_500_000_000),
                                      (T1, 1_796_457_601_500_000_000)])
def test_parse_since(text, ns):
    assert crilog.parse_since(text, NOW) == ns


def test_parse_since_refuses():
    with pytest.raises(crilog.BadTime, match="--since soon"):
        crilog.parse_since("soon", NOW)


LOG = (f"{T0} stdout F hello\n"
       f"{T0} stderr P par\n"
       f"{T1} stdout P long \n"
       f"{T1} stderr F tial\n"
       f"{T1} stdout F line\n"
       "garbage without fields\n"
       f"{T2} stdout F \n"
       f"{T2} stdout F last").encode()


def test_lines_join_partial_records_per_stream():
    lines = crilog.parse(LOG)
    got = [(ln.ts, ln.stream, ln.content, ln.complete) for ln in lines]
    assert got == [(T0, "stdout", b"hello", True), (T0, "stderr", b"partial", True),
                   (T1, "stdout", b"long line", True), (T2, "stdout", b"", True), (T2, "stdout", b"last", True)]


def test_lines_fed_in_pieces_give_the_same_lines():
    reader = crilog.Lines()
    out = []
    for i in range(0, len(LOG), 7):
        out += reader.feed(LOG[i:i + 7])
    out += reader.flush()
    assert out == crilog.parse(LOG)
    assert reader.malformed == 1


def test_unterminated_partial_comes_out_at_flush():
    reader = crilog.Lines()
    assert reader.feed(f"{T0} stdout P prompt> \n".encode()) == []
    [line] = reader.flush()
    assert (line.content, line.complete) == (b"prompt> ", False)
    assert crilog.render(line) == b"prompt> "


def test_render_with_timestamps():
    line = crilog.parse(f"{T0} stdout F hi\n".encode())[0]
    assert crilog.render(line) == b"hi\n"
    assert crilog.render(line, timestamps=True) == T0.encode() + b" hi\n"


def test_select_since_then_tail():
    lines = crilog.parse(LOG)
    assert [ln.content for ln in crilog.select(lines, tail=2)] == [b"", b"last"]
    assert crilog.select(lines, tail=0) == []
    assert len(crilog.select(lines, tail=-1)) == 5
    since = crilog.parse_time(T1)
    assert [ln.content for ln in crilog.select(lines, since_ns=since)] == [b"long line", b"", b"last"]
    assert [ln.content for ln in crilog.select(lines, tail=1, since_ns=since)] == [b"last"]


def test_order_rotated_files_by_first_record_then_mtime():
    assert crilog.first_time(LOG) == crilog.parse_time(T0)
    assert crilog.first_time(b"junk\n") is None
    parts = [("0.log.1", 300, 10.0), ("0.log.2", 100, 20.0), ("0.log.20261205-080000", 200, 5.0),
             ("0.log.3.gz", None, 0.0)]
    assert crilog.order_files(parts) == ["0.log.3.gz", "0.log.2", "0.log.20261205-080000", "0.log.1"]
