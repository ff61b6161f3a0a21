"""highlevel/streaming/wschannel.py, remotecommand.py, transport.WsTransport, execio.WsChannels.

The first byte picks the channel protocol, the second the piece size and the
path.  Pure path: the rest is a list of messages (length, text bit) decoded
with the protocol: only ChannelError escapes, a decoded message re-encodes to
itself (binary: byte for byte; base64: decode(encode(m)) == m); resize data goes
through a ResizeDecoder (only ValueError; sizes are ints in 0..65535; the
buffer stays bounded); the remotecommand helpers see the same bytes as header
values.  WebSocket path: a client program (binary/text messages, pings, close,
raw bytes) made with a wsproto client after a real handshake is read by
WsTransport over a fake socket and dispatched by WsChannels' reader loop: it
ends, stdin is closed, the resize queue ends with None, and whatever it sent
back parses as WebSocket frames."""
import json

from gantry.highlevel.streaming import execio, transport, wschannel
from gantry.highlevel.streaming import remotecommand as rc
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Request,
    TextMessage,
)

from .harness import Target

PROTOCOLS = sorted(wschannel.PROTOCOLS)


def _messages(body):
    pos = 0
    while pos + 2 <= len(body):
        head, n = body[pos], body[pos + 1] * ((body[pos] >> 1 & 7) + 1)
        pos += 2
        yield bool(head & 1), body[pos:pos + n]
        pos += n


def _pure(protocol, body):
    resize = rc.ResizeDecoder()
    for is_text, raw in _messages(body):
        message = raw.decode("latin-1") if is_text else raw
        try:
            channel, data = wschannel.decode(protocol, message)
        except wschannel.ChannelError:
            continue
        assert isinstance(data, bytes) and 0 <= channel <= 255
        try:
            text, again = wschannel.encode(protocol, channel, data)
        except wschannel.ChannelError:
            assert wschannel.PROTOCOLS[protocol][0] == "base64" and channel > 9
            continue
        assert text == (wschannel.PROTOCOLS[protocol][0] == "base64")
        if not text:
            assert again == bytes(raw), "binary message does not re-encode to itself"
        assert wschannel.decode(protocol, again) == (channel, data)
        if channel == rc.CHANNELS[rc.RESIZE]:
            try:
                for w, h in resize.feed(data):
                    assert type(w) is int and type(h) is int and 0 <= w < 65536 and 0 <= h < 65536, (w, h)
            except ValueError:
                resize = rc.ResizeDecoder()
            assert len(resize.buffer) <= rc.MAX_RESIZE_BUFFER
    # the same bytes as negotiation headers and exit codes
    values = body.decode("utf-8", "replace").split("\n")
    offered = rc.header_values(values)
    picked = rc.negotiate(offered, rc.SPDY_PROTOCOLS)
    assert picked in ((None,) + tuple(offered) if offered else ("",))
    version = rc.version_of(picked or "")
    assert version in (1, 2, 3, 4, 5)
    assert rc.ERROR in rc.expected_streams(version, *(bool(b & 1 << i) for i, b in enumerate(body[:4].ljust(4))))
    code = int.from_bytes(body[:2].ljust(2, b"\0"), "big")
    payload = rc.error_payload(version, code, offered[:3] or None, values[0] if body[:1] == b"m" else None)
    if version >= 4:
        status = json.loads(payload)
        assert status["status"] == ("Success" if code == 0 and body[:1] != b"m" else "Failure")
    assert wschannel.choose(offered, PROTOCOLS) in [None] + [p for p in offered if p in wschannel.PROTOCOLS]


class _Sock:
    def __init__(self, pieces):
        self.pieces = pieces
        self.out = bytearray()
        self.shut = False

    def recv(self, n):
        if self.shut or not self.pieces:
            return b""
        return self.pieces.pop(0)[:n]

    def sendall(self, data):
        if self.shut:
            raise BrokenPipeError("shut down")
        self.out += data

    def settimeout(self, t):
        pass

    def shutdown(self, how):
        self.shut = True


def _handshake(protocol):
    client, server = WSConnection(ConnectionType.CLIENT), WSConnection(ConnectionType.SERVER)
    server.receive_data(client.send(Request(host="node", target="/exec/tok", subprotocols=[protocol])))
    event = next(server.events())
    assert isinstance(event, Request) and wschannel.choose(event.subprotocols, PROTOCOLS) == protocol
    client.receive_data(server.send(AcceptConnection(subprotocol=protocol)))
    assert next(client.events()).__class__.__name__ == "AcceptConnection"
    return client, server


def _websocket(protocol, step, body):
    client, server = _handshake(protocol)
    wire = bytearray()
    pos, fragment = 0, False
    while pos + 2 <= len(body):
        op, n = body[pos] % 6, body[pos + 1] * 4
        chunk = body[pos + 2:pos + 2 + n]
        pos += 2 + n
        if op in (0, 1) or (op == 2 and fragment):   # a text message cannot interrupt a binary one
            wire += client.send(BytesMessage(data=chunk, message_finished=op != 1))
            fragment = op == 1
        elif op == 2:
            wire += client.send(TextMessage(data=chunk.decode("latin-1")))
        elif op == 3:
            wire += client.send(Ping(payload=chunk[:125]))
        elif op == 4:
            wire += chunk                    # raw bytes: anything at all
        else:
            wire += client.send(CloseConnection(code=1000))
            break
    sock = _Sock([bytes(wire[i:i + step]) for i in range(0, len(wire), step)])
    ws = transport.WsTransport(sock, server)
    channels = execio.WsChannels(ws, protocol, stdin=True)
    channels._loop()       # in this thread: returns at a close, a bad message or the end of input
    assert channels.gone.is_set() and channels.stdin.eof
    sizes = []
    while not channels.resizes.empty():
        sizes.append(channels.resizes.get_nowait())
    assert sizes and sizes[-1] is None and None not in sizes[:-1]
    client.receive_data(bytes(sock.out))
    list(client.events())    # what the server sent (pongs, close) parses


def check(data):
    if len(data) < 2:
        return
    protocol = PROTOCOLS[data[0] % len(PROTOCOLS)]
    if data[1] & 1:
        _websocket(protocol, (data[1] >> 1) + 1, data[2:])
    else:
        _pure(protocol, data[2:])


TARGET = Target("wschannel", check, ("gantry.highlevel.streaming.wschannel", "gantry.highlevel.streaming.remotecommand",
                                     "gantry.highlevel.streaming.transport", "gantry.highlevel.streaming.execio"))
