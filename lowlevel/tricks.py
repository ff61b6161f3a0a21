"""The one place gantry-oci leans on CPython internals to start faster, each with its plain fallback.

gantry-oci is a fresh interpreter per command, so imports are most of its cost.  Two
private C modules spare a few milliseconds each:

- ``_json`` (the accelerator behind ``json``): ``import json`` pulls in ``re`` (~4 ms);
- ``_signal`` (the C half of ``signal``): ``import signal`` pulls in ``enum`` (~1.5 ms).

Neither is a public API: a Python release may rename or change them.  Each is taken
here only after a check that it behaves as expected; otherwise, or when the environment
sets ``GANTRY_NO_TRICKS=1``, the public module is used: an upgrade may cost speed, never
correctness (tests/integration/lowlevel/test_no_tricks.py runs gantry-oci both ways).
"""
import os

ENV = "GANTRY_NO_TRICKS"


def enabled():
    return not os.environ.get(ENV)


def json_codec():
    """(loads, dumps, encode_string): compact JSON, through _json when it checks out, else json."""
    if enabled():
        try:
            return _fast_json()
        except Exception:   # any change of the private API: take the plain path
            pass
    import json

    def dumps(obj):
        return json.dumps(obj, separators=(",", ":"))
    return json.loads, dumps, lambda s: json.dumps(s)


def _fast_json():
    import _json
    constants = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}

    class Context:
        strict = True
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int
        parse_constant = constants.__getitem__
        memo = {}

    scan = _json.make_scanner(Context())

    def default(o):
        raise TypeError("Object of type %s is not JSON serializable" % o.__class__.__name__)

    encode = _json.make_encoder(None, default, _json.encode_basestring_ascii, None, ":", ",", False, False, True)
    ws = " \t\n\r"

    def loads(data):
        if isinstance(data, (bytes, bytearray)):
            if data[:3] == b"\xef\xbb\xbf":   # what "utf-8-sig" would strip; that codec costs an import
                data = data[3:]
            data = data.decode("utf-8")
        end, i = len(data), 0
        while i < end and data[i] in ws:
            i += 1
        try:
            obj, i = scan(data, i)
        except StopIteration as e:
            raise ValueError("Expecting value: char %d" % e.value) from None
        while i < end and data[i] in ws:
            i += 1
        if i != end:
            raise ValueError("Extra data: char %d" % i)
        return obj

    def dumps(obj):
        return "".join(encode(obj, 0))

    sample = {"a": [1, 2.5, "x\u00e9\n", True, None, {}], "b": -3}
    text = '{"a":[1,2.5,"x\\u00e9\\n",true,null,{}],"b":-3}'
    if dumps(sample) != text or loads(" " + text + "\n") != sample:
        raise ValueError("_json behaves differently")
    return loads, dumps, _json.encode_basestring_ascii


def signal_module():
    """A module with signal(), pthread_sigmask(), NSIG, SIG_DFL and the SIG* numbers:
    _signal when it has them all, else the public signal module."""
    if enabled():
        try:
            import _signal
            if all(hasattr(_signal, n) for n in ("signal", "pthread_sigmask", "NSIG", "SIG_DFL", "SIG_SETMASK",
                                                  "SIGKILL", "SIGSTOP", "SIGCHLD", "SIGPIPE", "SIGXFSZ")):
                return _signal
        except ImportError:
            pass
    import signal
    return signal
