"""Go's time.ParseDuration, for HEALTHCHECK's --interval and friends (nanoseconds out)."""
import re

_UNITS = {"ns": 1, "us": 1000, "\u00b5s": 1000, "\u03bcs": 1000, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
          "h": 3600 * 10**9}
_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
MAX = 2**63 - 1


def parse(text):
    """``1m30s`` -> 90_000_000_000; ``0`` -> 0; raises ValueError like Go does."""
    s = text
    sign = 1
    if s[:1] in "+-" and s:
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError("time: invalid duration %r" % text)
    total, pos = 0, 0
    while pos < len(s):
        m = _PART.match(s, pos)
        if m is None or m.group(1) in ("", "."):
            raise ValueError("time: invalid duration %r" % text)
        whole, _, frac = m.group(1).partition(".")
        unit = _UNITS[m.group(2)]
        total += int(whole or "0") * unit + (int(frac) * unit // 10 ** len(frac) if frac else 0)
        if total > MAX:
            raise ValueError("time: invalid duration %r" % text)
        pos = m.end()
    return sign * total


def interval(flag, text):
    """A HEALTHCHECK duration: 0 (unset) or at least 1 ms."""
    d = parse(text)
    if d < 0:
        raise ValueError("--%s=%s cannot be negative" % (flag, text))
    if 0 < d < 10**6:
        raise ValueError("--%s=%s cannot be less than 1ms" % (flag, text))
    return d
