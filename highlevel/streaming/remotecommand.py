"""What kubelet's remotecommand protocol says, as pure functions (exec and attach).

Negotiation (SPDY): the client lists versions in ``X-Stream-Protocol-Version``
headers; the server picks the first one it knows (in the client's order) and
names it in its 101 answer.  No header at all means the legacy protocol ("").

Streams (SPDY: one per ``streamtype`` header; WebSocket: channel bytes)::

    type     channel  direction       carries
    stdin    0        client→server   the process's stdin; FIN/close = EOF
    stdout   1        server→client
    stderr   2        server→client   (not with a tty: the tty merges it)
    error    3        server→client   v4+: a metav1.Status JSON; v1-v3: error text, empty = success
    resize   4        client→server   a stream of JSON TerminalSize {"Width":W,"Height":H} (v3+, tty)
    close    255      client→server   WebSocket v5: [255, channel] closes that channel (stdin)

The server waits for every stream the request implies before it starts the
process, then writes the status to the error stream and closes.
"""
import json

SPDY_PROTOCOLS = ("v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io")
PORTFORWARD_PROTOCOL = "portforward.k8s.io"
STDIN, STDOUT, STDERR, ERROR, RESIZE = "stdin", "stdout", "stderr", "error", "resize"
CHANNELS = {STDIN: 0, STDOUT: 1, STDERR: 2, ERROR: 3, RESIZE: 4}
CLOSE_CHANNEL = 255
MAX_RESIZE_BUFFER = 4096


def header_values(values):
    """Split repeated and comma-joined header values into a flat, stripped list."""
    out = []
    for value in values:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def negotiate(client_protocols, supported):
    """The first client protocol we support; "" when the client named none; None when none matches."""
    if not client_protocols:
        return ""
    for protocol in client_protocols:
        if protocol in supported:
            return protocol
    return None


def version_of(protocol):
    """5, 4, 3, 2 or 1 for a channel protocol name ("" and "channel.k8s.io" are 1)."""
    for n in (5, 4, 3, 2):
        if protocol.startswith("v%d." % n):
            return n
    return 1


def expected_streams(version, stdin, stdout, stderr, tty):
    """The stream types a client of this protocol version opens for these options."""
    streams = {ERROR}
    if stdin:
        streams.add(STDIN)
    if stdout:
        streams.add(STDOUT)
    if stderr and not (tty and version >= 2):
        streams.add(STDERR)
    if tty and version >= 3:
        streams.add(RESIZE)
    return streams


def success_status():
    return json.dumps({"metadata": {}, "status": "Success"}).encode()


def exit_status(code, command=None):
    """The Failure Status a v4+ client turns into an exit error with this code."""
    what = "error executing command [%s], exit code %d" % (" ".join(command), code) if command else "exit code %d" % code
    return json.dumps({
        "metadata": {}, "status": "Failure",
        "message": "command terminated with non-zero exit code: %s" % what,
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }).encode()


def error_status(message):
    return json.dumps({"metadata": {}, "status": "Failure", "message": message,
                       "reason": "InternalError", "code": 500}).encode()


def error_payload(version, code=0, command=None, message=None):
    """What to write on the error stream: for v4+ a Status, for older versions the error text (b"" = success)."""
    if version >= 4:
        if message is not None:
            return error_status(message)
        return success_status() if code == 0 else exit_status(code, command)
    if message is not None:
        return message.encode()
    if code == 0:
        return b""
    return ("command terminated with non-zero exit code: exit code %d" % code).encode()


class ResizeDecoder:
    """TerminalSize objects from a byte stream of concatenated JSON values (Go's json.Decoder writes them so)."""

    def __init__(self):
        self.buffer = ""
        self.decoder = json.JSONDecoder()

    def feed(self, data):
        """(width, height) pairs completed by data; ValueError for anything that is not a TerminalSize."""
        self.buffer += data.decode("utf-8", "replace")
        if len(self.buffer) > MAX_RESIZE_BUFFER:
            raise ValueError("resize stream: %d bytes without a complete TerminalSize" % len(self.buffer))
        sizes = []
        while True:
            text = self.buffer.lstrip()
            if not text:
                self.buffer = ""
                return sizes
            try:
                value, end = self.decoder.raw_decode(text)
            except RecursionError:   # a TerminalSize has no nesting; this deep is an attack
                raise ValueError("resize stream: JSON nested too deeply for a TerminalSize") from None
            except ValueError:
                self.buffer = text
                return sizes  # incomplete: wait for more
            self.buffer = text[end:]
            sizes.append(terminal_size(value))


def terminal_size(value):
    if not isinstance(value, dict):
        raise ValueError("resize stream: %r is not a TerminalSize object" % (value,))
    width, height = value.get("Width", value.get("width", 0)), value.get("Height", value.get("height", 0))
    # type(), not isinstance(): JSON true/false are bools, which are ints in Python but no size in Go's uint16
    if type(width) is not int or type(height) is not int or not 0 <= width < 65536 or not 0 <= height < 65536:
        raise ValueError("resize stream: bad TerminalSize %r" % (value,))
    return width, height
