"""highlevel/images/registry/upload.py: a registry's answers to a blob push (status, Location, Range).

The input: one byte choosing the blob size, chunk size and mount source, then answers separated
by NUL, each ``status\\nLocation\\nRange\\nDocker-Content-Digest``.  Only the module's documented
errors escape; every request stays inside the blob (body within [0, size), Content-Range equal
to the body), goes to an http(s) URL, and an upload that ends has sent the whole blob (unless it
was skipped or mounted)."""
import urllib.parse

from gantry.highlevel import errors
from gantry.highlevel.images.registry import upload

from .harness import Target

DIGEST = "sha256:" + "ab" * 32
SIZES = (0, 1, 5, 100, 4096, 1 << 20)
CHUNKS = (None, 1, 3, 64, 4096)


class Headers(dict):
    def get(self, key, default=None):
        for k, v in self.items():
            if k.lower() == key.lower():
                return v
        return default


def check(data):
    if not data:
        return
    mode, rest = data[0], data[1:]
    size, chunk = SIZES[mode % len(SIZES)], CHUNKS[(mode // len(SIZES)) % len(CHUNKS)]
    b = upload.BlobUpload("https://reg.test/v2", "app", DIGEST, size, chunk_size=chunk,
                          mount_from="lib/base" if mode & 0x80 else None)
    for raw in rest.split(b"\0")[:64]:
        req = b.next_request()
        if req is None:
            break
        assert urllib.parse.urlsplit(req.url).scheme in ("http", "https")
        if req.body is not None:
            first, length = req.body
            assert 0 <= first and 0 < length and first + length <= size
            if req.method == "PATCH":
                assert req.headers["Content-Range"] == "%d-%d" % (first, first + length - 1)
            assert req.headers["Content-Length"] == str(length)
        fields = raw.decode("utf-8", "replace").split("\n")
        fields += [""] * (4 - len(fields))
        try:
            status = int(fields[0][:4])
        except ValueError:
            status = 202
        headers = Headers({k: v for k, v in zip(("Location", "Range", "Docker-Content-Digest"), fields[1:4], strict=True) if v})
        b.answer(status, headers, url=req.url)
        assert 0 <= b.offset <= size
    if b.done and not (b.skipped or b.mounted):
        assert b.offset == size
    for value in rest.decode("latin-1").split("\n")[:4]:
        try:
            held = upload.parse_range(value)
            assert held is None or held >= 1
        except errors.InvalidArgument:
            pass
        try:
            url = upload.resolve_location("https://reg.test/v2/app/blobs/uploads/", value)
            assert urllib.parse.urlsplit(url).scheme in ("http", "https")
        except errors.InvalidArgument:
            pass


TARGET = Target("upload", check, ("gantry.highlevel.images.registry.upload",),
                allowed=(errors.InvalidArgument, errors.Unavailable, errors.DataLoss), max_len=8192)
