"""Structured logs for gantryd: one logfmt line per event, on stderr.

A line looks like::

    time=2026-11-30T04:20:00.123Z level=info logger=gantry.cri msg="rpc done" method=/runtime.v1.ImageService/PullImage code=OK ms=812

``time`` (UTC, milliseconds), ``level``, ``logger`` and ``msg`` come first, then
the fields passed with ``log.info("...", extra={"fields": {...}})`` in their
order.  Values with spaces, quotes, ``=`` or non-printable characters are
quoted with backslash escapes; an exception adds an ``error`` field and a
quoted ``traceback``.  logfmt is what journald, Loki and ``grep`` all read well.
"""
import logging
import time

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def quote(value):
    text = value if isinstance(value, str) else str(value)
    if text and all(c.isprintable() and c not in ' "=\\' for c in text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    escaped = "".join(c if c.isprintable() or c in "\\" else "\\x%02x" % ord(c) for c in escaped)
    return '"%s"' % escaped


def encode(pairs):
    """[(key, value), ...] -> one logfmt line (no newline)."""
    return " ".join("%s=%s" % (k, quote(v)) for k, v in pairs)


class LogfmtFormatter(logging.Formatter):
    def format(self, record):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        pairs = [
            ("time", "%s.%03dZ" % (stamp, int(record.msecs))),
            ("level", record.levelname.lower()),
            ("logger", record.name),
            ("msg", record.getMessage()),
        ]
        pairs.extend((getattr(record, "fields", None) or {}).items())
        if record.exc_info:
            pairs.append(("error", repr(record.exc_info[1])))
            pairs.append(("traceback", self.formatException(record.exc_info)))
        return encode(pairs)


def setup(level="info", stream=None):
    """Route the ``gantry`` loggers to one logfmt handler on stderr (or ``stream``)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger("gantry")
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS[level])
    root.propagate = False
    return root
