"""The k8s channel framing inside WebSocket messages, sans-I/O.

Binary protocols: every message is ``[channel byte] + data``.  Base64
protocols (text messages): ``[ASCII digit of the channel] + base64(data)``.
Channel numbers: remotecommand.CHANNELS; v5 adds 255 (close a channel).
Right after the upgrade the server sends one empty message on the lowest
channel it writes (stdout, else stderr, else error), as kubelet does: clients
take it as "connected".

    subprotocol                  encoding  version
    v5.channel.k8s.io            binary    5
    v4.channel.k8s.io            binary    4
    v4.base64.channel.k8s.io     base64    4
    channel.k8s.io               binary    1
    base64.channel.k8s.io        base64    1
    SPDY/3.1+portforward.k8s.io  SPDY bytes tunnelled in binary messages (no channel byte)
"""
import base64
import binascii

PROTOCOLS = {
    "v5.channel.k8s.io": ("binary", 5),
    "v4.channel.k8s.io": ("binary", 4),
    "v4.base64.channel.k8s.io": ("base64", 4),
    "v3.channel.k8s.io": ("binary", 3),
    "v2.channel.k8s.io": ("binary", 2),
    "channel.k8s.io": ("binary", 1),
    "base64.channel.k8s.io": ("base64", 1),
}
SPDY_TUNNEL = "SPDY/3.1+portforward.k8s.io"
MAX_MESSAGE = 1 << 20


class ChannelError(ValueError):
    """A message that does not follow the channel framing."""


def choose(offered, allowed):
    """The first offered subprotocol in allowed (the client's preference), or None."""
    for protocol in offered:
        if protocol in allowed:
            return protocol
    return None


def encode(protocol, channel, data):
    """(is_text, payload) of one message on channel."""
    encoding, _ = PROTOCOLS[protocol]
    if encoding == "binary":
        return False, bytes([channel]) + data
    if channel > 9:
        raise ChannelError("channel %d has no base64 form" % channel)
    return True, (chr(ord("0") + channel) + base64.b64encode(data).decode("ascii"))


def decode(protocol, message):
    """(channel, data) of a received message (bytes for binary, str for text)."""
    encoding, _ = PROTOCOLS[protocol]
    if encoding == "binary":
        if not isinstance(message, (bytes, bytearray)):
            raise ChannelError("text message on binary protocol %s" % protocol)
        if not message:
            raise ChannelError("empty message (no channel byte)")
        return message[0], bytes(message[1:])
    if isinstance(message, (bytes, bytearray)):
        try:
            message = bytes(message).decode("ascii")
        except UnicodeDecodeError:
            raise ChannelError("binary message on base64 protocol %s" % protocol) from None
    if not message or not "0" <= message[0] <= "9":
        raise ChannelError("base64 message without a channel digit")
    try:
        return ord(message[0]) - ord("0"), base64.b64decode(message[1:], validate=True)
    except (binascii.Error, ValueError) as e:
        raise ChannelError("channel %s: bad base64: %s" % (message[0], e)) from None
