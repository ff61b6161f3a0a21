"""The one place gantry-oci leans on CPython internals to start faster, each with its plain fallback.

gantry-oci is a fresh interpreter per command, so imports are most of its cost.  Two
private C modules spare a few milliseconds each:

- ``_json`` (the accelerator behind ``json``): ``import json`` pulls in ``re`` (~4 ms);
- ``_signal`` (the C half of ``signal``): ``import signal`` pulls in ``enum`` (~1.5 ms);
- ``_socket`` (the C half of ``socket``): ``import socket`` pulls in ``enum`` and ``selectors``
  (~6 ms), for the few unix-socket calls of a tty exec and of ``warm``.

Neither is a public API: a Python release may rename or change them.  Each is taken
here only after a check that it behaves as expected; otherwise, or when the environment
sets ``GANTRY_NO_TRICKS=1``, the public module is used: an upgrade may cost speed, never
correctness (tests/integration/shim/test_no_tricks.py runs gantry-oci and the shims both ways).
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

    def loads(data):
        try:
            return json.loads(data)
        except RecursionError:
            raise ValueError("nesting deeper than the interpreter's recursion limit") from None

    def dumps(obj):
        return json.dumps(obj, separators=(",", ":"))
    return loads, dumps, lambda s: json.dumps(s)


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
        except SystemError:
            # The scanner reports most syntax errors (a missing ':', an unterminated string, a
            # control character) as json.decoder.JSONDecodeError, which it looks up in sys.modules
            # only: with `json` never imported it returns NULL without an exception.  Import it now
            # (errors are rare, the ~4 ms do not matter then) and scan again for the real message.
            import json.decoder  # noqa: F401

            obj, i = scan(data, i)
        except RecursionError:
            raise ValueError("nesting deeper than the interpreter's recursion limit") from None
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


SOCKET_NAMES = ("socket", "AF_UNIX", "SOCK_STREAM", "SOL_SOCKET", "SCM_RIGHTS", "MSG_CMSG_CLOEXEC", "MSG_TRUNC",
                "MSG_CTRUNC", "CMSG_LEN", "CMSG_SPACE")


def socket_module():
    """A module with socket (fileno=, connect, sendmsg, recvmsg, detach), CMSG_* and the AF/SOCK/MSG/SCM
    constants above: _socket when it has them all, else the public socket module."""
    if enabled():
        try:
            import _socket
            if all(hasattr(_socket, n) for n in SOCKET_NAMES) and all(
                    hasattr(_socket.socket, m) for m in ("sendmsg", "recvmsg", "detach", "connect")):
                return _socket
        except ImportError:
            pass
    import socket
    return socket


def fds_of(ancillary, sock_mod):
    """The fds an SCM_RIGHTS message carried, from recvmsg's ancillary list (what socket.recv_fds does)."""
    import sys
    fds = []
    for level, kind, data in ancillary:
        if level == sock_mod.SOL_SOCKET and kind == sock_mod.SCM_RIGHTS:
            fds += [int.from_bytes(data[i:i + 4], sys.byteorder, signed=True) for i in range(0, len(data) - 3, 4)]
    return fds


def fd_bytes(fd):
    import sys
    return fd.to_bytes(4, sys.byteorder, signed=True)
