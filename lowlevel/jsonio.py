"""JSON through the C accelerator only: `import json` pulls in `re` (~4 ms per command).

loads/dumps give the same results as json.loads/json.dumps(separators=(",", ":"))
for the documents we handle (config.json, state, channel messages); ``dumps_pretty``
falls back to the json module for human-facing output.
"""
import _json

_WS = " \t\n\r"
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _Context:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__
    memo = {}


_scan = _json.make_scanner(_Context())


def loads(data):
    if isinstance(data, (bytes, bytearray)):
        if data[:3] == b"\xef\xbb\xbf":   # what "utf-8-sig" would strip; that codec costs an import
            data = data[3:]
        data = data.decode("utf-8")
    end = len(data)
    i = 0
    while i < end and data[i] in _WS:
        i += 1
    try:
        obj, i = _scan(data, i)
    except StopIteration as e:
        raise ValueError("Expecting value: char %d" % e.value) from None
    except SystemError:
        # The scanner reports most syntax errors (a missing ':', an unterminated string, a control
        # character) as json.decoder.JSONDecodeError, which it looks up in sys.modules only: with
        # `json` never imported it returns NULL without an exception.  Import it now (errors are
        # rare, the ~4 ms do not matter then) and scan again for the real message.
        import json.decoder  # noqa: F401

        obj, i = _scan(data, i)
    except RecursionError:
        raise ValueError("nesting deeper than the interpreter's recursion limit") from None
    while i < end and data[i] in _WS:
        i += 1
    if i != end:
        raise ValueError("Extra data: char %d" % i)
    return obj


def _default(o):
    raise TypeError("Object of type %s is not JSON serializable" % o.__class__.__name__)


_encode = _json.make_encoder(None, _default, _json.encode_basestring_ascii, None, ":", ",", False, False, True)


def dumps(obj):
    return "".join(_encode(obj, 0))


def dumps_pretty(obj, indent="  ", _level=0):
    """Indented like json.dumps(obj, indent=2)."""
    pad = indent * (_level + 1)
    if isinstance(obj, dict) and obj:
        items = ",\n".join("%s%s: %s" % (pad, _json.encode_basestring_ascii(str(k)),
                                          dumps_pretty(v, indent, _level + 1)) for k, v in obj.items())
        return "{\n%s\n%s}" % (items, indent * _level)
    if isinstance(obj, list) and obj:
        items = ",\n".join(pad + dumps_pretty(v, indent, _level + 1) for v in obj)
        return "[\n%s\n%s]" % (items, indent * _level)
    return dumps(obj)
