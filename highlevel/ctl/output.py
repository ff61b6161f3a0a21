"""gantryctl's output, pure: tables, sizes, ages, and the ``-o json|yaml`` documents.

Tables are for people (aligned columns, short ids, ``2 minutes ago``); JSON and
YAML are for programs: protobuf messages as the CRI JSON mapping (camelCase,
every field printed, zero values too, so ``"status": false`` is never lost).
"""
import json
import time

FORMATS = ("table", "json", "yaml")
SHORT_ID = 13


def human_size(n):
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return ("%d%s" if unit == "B" else "%.3g%s") % (n, unit)
        n /= 1000.0


def short_id(ident):
    return ident.split(":", 1)[-1][:SHORT_ID]


def split_tag(repo_tag):
    """``docker.io/library/busybox:1.36`` -> (``docker.io/library/busybox``, ``1.36``)."""
    name, sep, tag = repo_tag.rpartition(":")
    if not sep or "/" in tag:
        return repo_tag, "<none>"
    return name, tag


def ago(ns, now=None):
    """A CRI timestamp (ns since the epoch) as ``5 seconds ago`` / ``3 hours ago``."""
    if not ns:
        return "-"
    now = time.time() if now is None else now
    secs = max(0, int(now - ns / 1e9))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if secs >= size:
            n = secs // size
            return "%d %s%s ago" % (n, unit, "" if n == 1 else "s")
    return "%d second%s ago" % (secs, "" if secs == 1 else "s")


def table(rows):
    """Rows of strings (the first is the header) -> aligned text, no trailing blanks."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("   ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def message_dict(msg):
    """A protobuf message as the CRI JSON mapping, zero values included."""
    from google.protobuf import json_format

    return json_format.MessageToDict(msg, always_print_fields_with_no_presence=True)


def json_or_text(value):
    """A verbose ``info`` value: the JSON it holds, or the text itself."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def render(doc, fmt):
    """A JSON-able document as ``json`` or ``yaml`` text (ending with a newline)."""
    if fmt == "yaml":
        import yaml

        return yaml.safe_dump(doc, sort_keys=True, default_flow_style=False, allow_unicode=True)
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def emit(out, fmt, doc, rows=None):
    """Write ``rows`` as a table when fmt is ``table`` (and rows are given), else ``doc`` rendered."""
    if fmt == "table" and rows is not None:
        out.write(table(rows) + "\n")
    else:
        out.write(render(doc, "yaml" if fmt == "yaml" else "json"))


def truncate(text, width):
    return text if len(text) <= width else text[:width - 1] + "…"
