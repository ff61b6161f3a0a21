"""proto/framing.py: the shim socket's frame codec.

Any bytes, fed in pieces the input chooses: only FramingError escapes; every
frame decoded re-encodes to exactly the bytes it came from (encode(decode(b))
== b, hence decode(encode(f)) == f); what is held back is a proper prefix of a
frame and never more than MAX_FRAME bytes."""
from gantry.api import framing

from .harness import Target


def check(data):
    if not data:
        return
    # first byte: piece size for feeding (1..256), so frame boundaries fall anywhere
    step = data[0] + 1
    body = data[1:]
    dec = framing.Decoder(max_frame=4096)
    consumed = bytearray()
    for i in range(0, len(body), step):
        for frame in dec.feed(body[i:i + step]):
            assert isinstance(frame.method, str) and isinstance(frame.payload, bytes)
            consumed += framing.encode(frame)
        assert dec.pending <= framing.HEADER_SIZE + 4096
    assert bytes(consumed) == bytes(body[:len(consumed)]), "re-encoded frames differ from their bytes"
    assert len(consumed) + dec.pending == len(body)
    if len(consumed) < len(body):
        # the rest is a frame still arriving: one more byte-wise feed must not change that
        assert dec.feed(b"") == []


TARGET = Target("framing", check, ("gantry.api.framing",), allowed=(framing.FramingError,))
