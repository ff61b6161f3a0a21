"""Pure parts: WebSocket channel framing, remotecommand negotiation/status/resize, tokens."""
import json

import pytest
from gantry.highlevel.streaming import remotecommand as rc
from gantry.highlevel.streaming import wschannel
from gantry.highlevel.streaming.tokens import TokenCache

ENCODE = [
    ("v5.channel.k8s.io", 1, b"out", (False, b"\x01out")),
    ("v4.channel.k8s.io", 3, b"", (False, b"\x03")),
    ("v4.base64.channel.k8s.io", 1, b"hi\n", (True, "1aGkK")),
    ("base64.channel.k8s.io", 2, b"\xff", (True, "2/w==")),
    ("channel.k8s.io", 0, b"in", (False, b"\x00in")),
]


@pytest.mark.parametrize("protocol,channel,data,wire", ENCODE)
def test_channel_round_trip(protocol, channel, data, wire):
    assert wschannel.encode(protocol, channel, data) == wire
    assert wschannel.decode(protocol, wire[1]) == (channel, data)


DECODE_ERRORS = [
    ("v5.channel.k8s.io", b"", "empty message"),
    ("v5.channel.k8s.io", "1abc", "text message on binary"),
    ("v4.base64.channel.k8s.io", "", "without a channel digit"),
    ("v4.base64.channel.k8s.io", "x", "without a channel digit"),
    ("v4.base64.channel.k8s.io", "1@@@", "bad base64"),
    ("v4.base64.channel.k8s.io", b"\xff\xfe", "binary message on base64"),
]


@pytest.mark.parametrize("protocol,message,error", DECODE_ERRORS)
def test_channel_decode_errors(protocol, message, error):
    with pytest.raises(wschannel.ChannelError, match=error):
        wschannel.decode(protocol, message)


def test_choose_follows_the_client_order():
    allowed = tuple(wschannel.PROTOCOLS)
    assert wschannel.choose(["v4.channel.k8s.io", "v5.channel.k8s.io"], allowed) == "v4.channel.k8s.io"
    assert wschannel.choose(["x", "v5.channel.k8s.io"], allowed) == "v5.channel.k8s.io"
    assert wschannel.choose(["x"], allowed) is None
    assert wschannel.choose([wschannel.SPDY_TUNNEL], (wschannel.SPDY_TUNNEL,)) == wschannel.SPDY_TUNNEL


@pytest.mark.parametrize("offered,expect", [
    ([], ""), (["v4.channel.k8s.io"], "v4.channel.k8s.io"),
    (["v5.channel.k8s.io", "v3.channel.k8s.io", "v4.channel.k8s.io"], "v3.channel.k8s.io"),
    (["nope"], None),
])
def test_negotiate(offered, expect):
    assert rc.negotiate(offered, rc.SPDY_PROTOCOLS) == expect


def test_header_values_split_commas_and_repeats():
    assert rc.header_values(["v4.channel.k8s.io, v3.channel.k8s.io", "channel.k8s.io"]) == [
        "v4.channel.k8s.io", "v3.channel.k8s.io", "channel.k8s.io"]


@pytest.mark.parametrize("version,opts,expect", [
    (4, (True, True, True, False), {"error", "stdin", "stdout", "stderr"}),
    (4, (False, True, False, True), {"error", "stdout", "resize"}),
    (4, (True, True, True, True), {"error", "stdin", "stdout", "resize"}),
    (2, (False, True, False, True), {"error", "stdout"}),
    (1, (False, True, True, True), {"error", "stdout", "stderr"}),
])
def test_expected_streams(version, opts, expect):
    assert rc.expected_streams(version, *opts) == expect


def test_status_payloads():
    assert json.loads(rc.error_payload(4)) == {"metadata": {}, "status": "Success"}
    failure = json.loads(rc.error_payload(5, 127, ["nope"]))
    assert failure["status"] == "Failure" and failure["reason"] == "NonZeroExitCode"
    assert failure["details"]["causes"] == [{"reason": "ExitCode", "message": "127"}]
    assert "[nope]" in failure["message"]
    assert json.loads(rc.error_payload(4, message="boom"))["message"] == "boom"
    assert rc.error_payload(3) == b"" and b"exit code 2" in rc.error_payload(2, 2)
    assert rc.error_payload(1, message="boom") == b"boom"


def test_resize_decoder_incremental_and_errors():
    d = rc.ResizeDecoder()
    assert d.feed(b'{"Width":80,') == []
    assert d.feed(b'"Height":24}{"Width":100,"Height":50}\n{"Wid') == [(80, 24), (100, 50)]
    assert d.feed(b'th":1,"Height":2}') == [(1, 2)]
    for bad in (b"[1,2]", b'{"Width":-1,"Height":2}', b'{"Width":"x","Height":2}'):
        with pytest.raises(ValueError):
            rc.ResizeDecoder().feed(bad)
    with pytest.raises(ValueError, match="without a complete"):
        rc.ResizeDecoder().feed(b"{" + b" " * 5000)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


# found by tests/fuzz (fuzz_remotecommand): deep nesting raised RecursionError out of feed(), and JSON
# true/false were taken as sizes 1/0 (corpus/remotecommand/regress-*)
@pytest.mark.parametrize("bad", [b"[" * 3000, b'{"Width": [' + b"[" * 2000, b'{"Width": true, "Height": 24}',
                                 b'{"Width": 80, "Height": false}', b'{"Width": 80.0, "Height": 24}'])
def test_resize_decoder_hostile_input_is_value_error(bad):
    with pytest.raises(ValueError, match="resize stream"):
        rc.ResizeDecoder().feed(bad)


def test_tokens_single_use_bound_to_kind():
    cache = TokenCache()
    token = cache.insert("exec", "req")
    assert len(token) >= 22 and token != cache.insert("exec", "req")
    assert cache.consume("attach", token) is None  # wrong kind: spent as well
    assert cache.consume("exec", token) is None
    token = cache.insert("exec", "req")
    assert cache.consume("exec", token) == "req"
    assert cache.consume("exec", token) is None  # replay
    assert cache.consume("exec", "unknown") is None


def test_tokens_expire_and_are_bounded():
    clock = Clock()
    cache = TokenCache(ttl=60, capacity=3, clock=clock)
    old = cache.insert("exec", 1)
    clock.now += 61
    assert cache.consume("exec", old) is None
    tokens = [cache.insert("exec", i) for i in range(4)]
    assert len(cache) == 3
    assert cache.consume("exec", tokens[0]) is None  # the oldest was dropped
    assert [cache.consume("exec", t) for t in tokens[1:]] == [1, 2, 3]
    expiring = cache.insert("exec", "a")
    clock.now += 30
    fresh = cache.insert("exec", "b")
    clock.now += 31
    cache.insert("exec", "c")  # the insert sweeps the expired one
    assert len(cache) == 2 and cache.consume("exec", expiring) is None and cache.consume("exec", fresh) == "b"
