"""registry/upload.py: the blob push exchange against scripted registry answers (pure)."""
import pytest
from gantry.highlevel import errors
from gantry.highlevel.images.registry import upload as up

BASE = "https://reg.example:5000/v2"
DIGEST = "sha256:" + "ab" * 32
LOC = "/v2/app/blobs/uploads/u1?_state=s1"


def run(blob, script, **kw):
    """Drive a BlobUpload; ``script``: [(method, status, headers)] expected in order. Returns (upload, requests)."""
    b = up.BlobUpload(BASE, "app", DIGEST, blob, **kw)
    seen = []
    for method, status, headers in script:
        req = b.next_request()
        assert req is not None, "upload finished early; still expected %s" % method
        assert req.method == method, (req, seen)
        seen.append(req)
        b.answer(status, headers, url=req.url)
    assert b.done and b.next_request() is None
    return b, seen


def test_present_blob_is_skipped():
    b, reqs = run(10, [("HEAD", 200, {})])
    assert b.skipped and reqs[0].url == BASE + "/app/blobs/" + DIGEST


def test_mount_from_another_repository():
    b, reqs = run(10, [("HEAD", 404, {}), ("POST", 201, {"Location": "/v2/app/blobs/" + DIGEST})],
                  mount_from="lib/base")
    assert b.mounted and not b.skipped
    assert reqs[1].url == BASE + "/app/blobs/uploads/?mount=sha256%3A" + "ab" * 32 + "&from=lib%2Fbase"


def test_mount_refused_falls_back_to_upload_in_the_session_it_opened():
    b, reqs = run(10, [("HEAD", 404, {}), ("POST", 202, {"Location": LOC}),
                       ("PUT", 201, {"Docker-Content-Digest": DIGEST})], mount_from="lib/base")
    assert not b.mounted
    assert reqs[2].url == "https://reg.example:5000" + LOC + "&digest=sha256%3A" + "ab" * 32
    assert reqs[2].body == (0, 10) and reqs[2].headers["Content-Length"] == "10"


def test_mount_from_the_same_repository_is_not_tried():
    _b, reqs = run(4, [("HEAD", 404, {}), ("POST", 202, {"Location": LOC}), ("PUT", 201, {})], mount_from="app")
    assert "mount" not in reqs[1].url


def test_monolithic_with_absolute_location():
    _b, reqs = run(100, [("HEAD", 404, {}), ("POST", 202, {"Location": "http://other:1/up/x"}),
                         ("PUT", 201, {})])
    assert reqs[2].url == "http://other:1/up/x?digest=sha256%3A" + "ab" * 32


def test_chunked_upload_follows_newest_location_and_range():
    script = [("HEAD", 404, {}), ("POST", 202, {"Location": LOC}),
              ("PATCH", 202, {"Location": "/v2/app/blobs/uploads/u1?_state=s2", "Range": "0-3"}),
              ("PATCH", 202, {"Location": "/v2/app/blobs/uploads/u1?_state=s3", "Range": "0-7"}),
              ("PATCH", 202, {"Location": "/v2/app/blobs/uploads/u1?_state=s4", "Range": "0-9"}),
              ("PUT", 201, {"Docker-Content-Digest": DIGEST})]
    b, reqs = run(10, script, chunk_size=4)
    assert [r.headers.get("Content-Range") for r in reqs[2:5]] == ["0-3", "4-7", "8-9"]
    assert [r.body for r in reqs[2:6]] == [(0, 4), (4, 4), (8, 2), None]
    assert reqs[3].url.endswith("_state=s2") and reqs[5].url.endswith("_state=s4&digest=sha256%3A" + "ab" * 32)
    assert reqs[5].headers["Content-Length"] == "0"
    assert b.offset == 10


def test_chunked_resumes_from_what_the_registry_holds():
    script = [("HEAD", 404, {}), ("POST", 202, {"Location": LOC}),
              ("PATCH", 202, {"Location": LOC, "Range": "0-1"}),          # took only 2 of 4
              ("PATCH", 416, {}),                                          # refused: ask where it is
              ("GET", 204, {"Location": LOC, "Range": "bytes=0-4"}),
              ("PATCH", 202, {"Location": LOC, "Range": "0-8"}),
              ("PUT", 201, {})]
    _b, reqs = run(9, script, chunk_size=4)
    assert [r.body for r in reqs if r.method == "PATCH"] == [(0, 4), (2, 4), (5, 4)]


def test_small_blob_with_chunk_size_goes_monolithic():
    _b, reqs = run(3, [("HEAD", 404, {}), ("POST", 202, {"Location": LOC}), ("PUT", 201, {})], chunk_size=4)
    assert reqs[2].body == (0, 3)


def test_endless_416_gives_up():
    b = up.BlobUpload(BASE, "app", DIGEST, 10, chunk_size=4)
    for status, headers in [(404, {}), (202, {"Location": LOC})]:
        b.answer(status, headers, url=b.next_request().url)
    with pytest.raises(errors.Unavailable, match="416"):
        for _ in range(10):
            req = b.next_request()
            b.answer(416 if req.method == "PATCH" else 204, {"Location": LOC, "Range": "0-0"}, url=req.url)


@pytest.mark.parametrize("state_script,status,err", [
    ([], 500, errors.Unavailable),                                   # HEAD: unexpected
    ([(404, {})], 200, errors.Unavailable),                          # POST: 200 is no upload session
    ([(404, {}), (202, {"Location": LOC})], 201, None),
])
def test_unexpected_statuses(state_script, status, err):
    b = up.BlobUpload(BASE, "app", DIGEST, 5)
    for s, h in state_script:
        b.answer(s, h, url=b.next_request().url)
    b.next_request()
    if err is None:
        b.answer(status, {})
        assert b.done
    else:
        with pytest.raises(err, match="HTTP %d" % status):
            b.answer(status, {})


def test_digest_echo_mismatch_is_data_loss():
    b = up.BlobUpload(BASE, "app", DIGEST, 5)
    for s, h in [(404, {}), (202, {"Location": LOC})]:
        b.answer(s, h, url=b.next_request().url)
    b.next_request()
    with pytest.raises(errors.DataLoss, match="stored it as"):
        b.answer(201, {"Docker-Content-Digest": "sha256:" + "cd" * 32})


def test_registry_claiming_more_than_the_blob():
    b = up.BlobUpload(BASE, "app", DIGEST, 10, chunk_size=4)
    for s, h in [(404, {}), (202, {"Location": LOC})]:
        b.answer(s, h, url=b.next_request().url)
    b.next_request()
    with pytest.raises(errors.DataLoss, match="holds 11 bytes"):
        b.answer(202, {"Location": LOC, "Range": "0-10"})


@pytest.mark.parametrize("value,out", [
    (None, None), ("0-0", 1), ("0-1023", 1024), ("bytes=0-9", 10), ("bytes 0-9", 10), (" 0-4 ", 5)])
def test_parse_range(value, out):
    assert up.parse_range(value) == out


@pytest.mark.parametrize("value", ["", "0", "5-9", "0-", "-5", "0-a", "0-9,10-20", "0-" + "9" * 25, "0-5-6"])
def test_parse_range_refuses(value):
    with pytest.raises(errors.InvalidArgument, match="Range"):
        up.parse_range(value)


@pytest.mark.parametrize("base,value,out", [
    ("https://r/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/u?x=1", "https://r/v2/a/blobs/uploads/u?x=1"),
    ("https://r/v2/a/blobs/uploads/", "u2", "https://r/v2/a/blobs/uploads/u2"),
    ("https://r/v2/a/", "http://s3.local:9/up?sig=1", "http://s3.local:9/up?sig=1"),
])
def test_resolve_location(base, value, out):
    assert up.resolve_location(base, value) == out


@pytest.mark.parametrize("value", [None, "", "ftp://x/y", "file:///etc/passwd", "/a b", "http://[::1/x", "x\x00"])
def test_resolve_location_refuses(value):
    with pytest.raises(errors.InvalidArgument, match="Location"):
        up.resolve_location("https://r/v2/", value)


@pytest.mark.parametrize("url,out", [
    ("https://r/u", "https://r/u?digest=d"), ("https://r/u?_state=a", "https://r/u?_state=a&digest=d")])
def test_with_query(url, out):
    assert up.with_query(url, digest="d") == out
