"""The Kubernetes remotecommand channels inside WebSocket messages, pure (client side).

The exchange after ``GET <streaming URL>`` upgraded to WebSocket with subprotocol
``v5.channel.k8s.io`` (``v4.channel.k8s.io`` accepted; both binary):

    client -> server   [0] + bytes           stdin
    server -> client   [1] + bytes           stdout (one empty message first: "connected")
    server -> client   [2] + bytes           stderr
    server -> client   [3] + JSON Status     the end: {"status": "Success"} or "Failure" with
                                             details.causes [{"reason": "ExitCode", "message": "3"}]
    client -> server   [4] + JSON            terminal size {"Width": 80, "Height": 24}
    client -> server   [255, 0]              (v5 only) stdin is closed
"""
import json
import re

_EXIT_CODE = re.compile(r"[+-]?[0-9]{1,10}")
PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


class ProtocolError(ValueError):
    """The server broke the channel framing."""


def encode(channel, data=b""):
    return bytes([channel]) + data


def decode(message):
    if not message:
        raise ProtocolError("an empty message has no channel byte")
    return message[0], bytes(message[1:])


def resize(width, height):
    return encode(RESIZE, json.dumps({"Width": width, "Height": height}).encode())


def close_stdin(protocol):
    """The message that closes stdin, or None where the protocol has none (v4: stdin ends with the stream)."""
    return encode(CLOSE, bytes([STDIN])) if protocol.startswith("v5.") else None


def exit_status(payload):
    """A Status document from the error channel -> (exit code, message).

    Success: (0, ""); a command's non-zero exit: (code, message); any other failure: (None, message)."""
    try:
        doc = json.loads(payload)
    except (ValueError, RecursionError):             # RecursionError: absurd nesting
        return None, payload.decode("utf-8", "replace").strip()
    if not isinstance(doc, dict):
        return None, str(doc)
    if doc.get("status") == "Success":
        return 0, ""
    message = doc.get("message") if isinstance(doc.get("message"), str) else ""
    if doc.get("reason") == "NonZeroExitCode":
        details = doc.get("details")
        causes = details.get("causes") if isinstance(details, dict) else None
        for cause in causes if isinstance(causes, list) else []:
            if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
                text = cause.get("message")
                # a decimal string, as Go's strconv.Atoi reads it (not a JSON number, bool or other digits)
                if isinstance(text, str) and _EXIT_CODE.fullmatch(text):
                    return int(text), message
                break
    return None, message or json.dumps(doc)
