"""Pieces of the pull that need no registry: the blob pipe, error mapping, Range handling, retries,
credentials, the single-flight table, configuration."""
import threading
import types

import pytest
from gantry.highlevel import errors
from gantry.highlevel.images import pull
from gantry.highlevel.images.blobpipe import BlobPipe, PipeAbandoned
from gantry.highlevel.images.registry import auth, client
from gantry.highlevel.images.registry.transport import Dropped, Retry, retry_after_seconds


def test_pipe_passes_bytes_in_order_across_threads():
    pipe = BlobPipe(max_chunks=2)
    data = [bytes([i]) * (1000 + i) for i in range(50)]
    got = []

    def reader():
        while True:
            chunk = pipe.read(777)
            if not chunk:
                return
            got.append(chunk)

    t = threading.Thread(target=reader)
    t.start()
    for d in data:
        pipe.write(d)
    pipe.close()
    t.join(10)
    assert b"".join(got) == b"".join(data)
    assert all(len(c) <= 777 for c in got)


def test_pipe_writer_failure_reaches_reader():
    pipe = BlobPipe()
    pipe.write(b"abc")
    pipe.fail(errors.Unavailable("registry went away"))
    with pytest.raises(errors.Unavailable, match="went away"):
        pipe.read(10)


def test_pipe_reader_abandon_stops_a_blocked_writer():
    pipe = BlobPipe(max_chunks=1)
    pipe.write(b"x")
    outcome = []

    def writer():
        try:
            pipe.write(b"y")  # blocks: the pipe is full
        except PipeAbandoned as exc:
            outcome.append(exc)

    t = threading.Thread(target=writer)
    t.start()
    pipe.abandon(errors.InvalidArgument("hostile layer"))
    t.join(10)
    assert outcome and "hostile layer" in str(outcome[0])


@pytest.mark.parametrize("status,body,kind,text", [
    (404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}', errors.NotFound,
     "manifest_unknown manifest unknown"),
    (401, b"", errors.Unauthenticated, "HTTP 401"),
    (403, b'{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}',
     errors.PermissionDenied, "denied"),
    (400, b'{"errors":[{"code":"NAME_INVALID"}]}', errors.InvalidArgument, "name_invalid"),
    (502, b"<html>bad gateway</html>", errors.Unavailable, "HTTP 502"),
    (418, b"teapot", errors.Unavailable, "teapot"),
])
def test_registry_error(status, body, kind, text):
    exc = client.registry_error(status, body, "resolve x")
    assert isinstance(exc, kind)
    assert str(exc).startswith("resolve x: HTTP %d" % status) and text in str(exc)


def _resp(status, content_range=None):
    closed = []
    headers = {"Content-Range": content_range} if content_range else {}
    return types.SimpleNamespace(status=status, headers=headers,
                                 close=lambda broken=False: closed.append(broken)), closed


@pytest.mark.parametrize("status,content_range,offset,skip", [
    (200, None, 0, 0),
    (200, None, 500, 500),            # Range ignored: drop what we hold
    (206, "bytes 500-999/1000", 500, 0),
    (206, "bytes 400-999/1000", 500, 100),
])
def test_skip_for(status, content_range, offset, skip):
    resp, _ = _resp(status, content_range)
    assert client._skip_for(resp, offset, "blob") == skip


@pytest.mark.parametrize("content_range", ["bytes 600-999/1000", "items 0-1/2", "garbage"])
def test_skip_for_unusable_206(content_range):
    resp, closed = _resp(206, content_range)
    with pytest.raises(Dropped):
        client._skip_for(resp, 500, "blob")
    assert closed == [True]


def test_retry_delays_grow_and_respect_retry_after():
    r = Retry(attempts=5, base=0.1, cap=1.0)
    assert 0.075 <= r.delay(0) <= 0.125
    assert 0.3 <= r.delay(2) <= 0.5
    assert r.delay(10) <= 1.25
    assert r.delay(0, retry_after=0.5) == 0.5
    assert r.delay(0, retry_after=99) == 1.0
    assert retry_after_seconds({"Retry-After": "2"}) == 2.0
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert retry_after_seconds({}) is None


def test_credentials_from_everything_callers_hold():
    assert pull.credentials_from(None) is auth.ANONYMOUS
    c = auth.Credentials("u", "p")
    assert pull.credentials_from(c) is c
    assert pull.credentials_from({"username": "u", "password": "p"}) == c
    cri = types.SimpleNamespace(username="", password="", auth="dTpw", identity_token="", registry_token="")
    assert pull.credentials_from(cri) == c
    assert pull.credentials_from({"identity_token": "t"}) == auth.Credentials(identity_token="t")


def test_single_flight_table():
    flights = pull._Flights()
    fut, owner = flights.claim("k")
    again, second = flights.claim("k")
    assert owner and not second and again is fut
    flights.finish("k", fut, result=7)
    assert again.result() == 7
    fresh, owner = flights.claim("k")
    assert owner and fresh is not fut
    flights.finish("k", fresh, error=errors.DataLoss("bad"))
    with pytest.raises(errors.DataLoss):
        fresh.result()


def test_puller_from_config_and_validation():
    cfg = types.SimpleNamespace(registry_config_dir="/etc/x", max_concurrent_downloads=5, pull_progress_timeout=7.5)
    p = pull.Puller.from_config(cfg)
    assert (p.registry_config_dir, p.concurrency, p.transport.stall_timeout) == ("/etc/x", 5, 7.5)
    with pytest.raises(errors.InvalidArgument):
        pull.Puller(max_concurrent_downloads=0)


def test_bad_reference_is_invalid_argument_before_any_io():
    with pytest.raises(errors.InvalidArgument, match="lowercase"):
        pull.Puller().pull(store=None, ref="Not/Valid")


def test_endpoint_headers_join_repeated_names():
    from gantry.highlevel.images.registry.hosts import Endpoint
    e = Endpoint("https", "r", headers=(("x-a", "1"), ("x-b", "2"), ("x-a", "3")))
    assert client._endpoint_headers(e) == {"x-a": "1, 3", "x-b": "2"}


def test_idle_counts_layer_jobs():
    p = pull.Puller()
    assert p.idle(0)
    p._job_started()
    assert not p.idle(0.01)
    threading.Timer(0.05, p._job_ended).start()
    assert p.idle(5)


PROXIES = {"http": "http://proxy.corp:3128", "https": "http://proxy.corp:3128", "no": "internal.corp,.svc"}


@pytest.mark.parametrize("scheme,netloc,expected", [
    ("https", "registry-1.docker.io", "http://proxy.corp:3128"),
    ("http", "mirror.example:5000", "http://proxy.corp:3128"),
    ("https", "internal.corp", None),
    ("https", "reg.internal.corp:443", None),
    ("https", "x.svc", None),
    ("http", "127.0.0.1:5000", None),
    ("https", "localhost:5000", None),
    ("https", "[::1]:5000", None),
])
def test_proxy_for(scheme, netloc, expected):
    from gantry.highlevel.images.registry.transport import proxy_for
    assert proxy_for(scheme, netloc, PROXIES) == expected
    assert proxy_for(scheme, netloc, {}) is None


def test_bad_platform_string_is_invalid_argument():
    with pytest.raises(errors.InvalidArgument, match="platform"):
        pull.Puller().pull(store=None, ref="busybox", platform="linux//v7")
