"""Sequential tar reading over a stream of chunks, without copying file data.

``tarfile`` parses headers well (ustar, GNU long names, PAX records incl.
``SCHILY.xattr.*``), but its stream mode copies its whole read buffer for
every 512-byte header, which makes layers with thousands of files slow.
This reader keeps one decompressed chunk at a time and an index into it:
headers are parsed by ``tarfile.TarInfo.fromtarfile`` (this object offers
the few attributes it uses), one block at a time by tarheader.Header (tarfile's
rules, a faster checksum), file data is handed out as memoryview slices of
the chunk.

    ts = TarStream(next_chunk)          # next_chunk() -> bytes, b"" at the end
    for info in ts.members():
        if info.isreg():
            ts.copy_data(info, write)  # write(memoryview) for each piece
    # members() stops at the end-of-archive block; whatever follows is left unread
"""
from __future__ import annotations

import tarfile

from .. import errors
from .tarheader import Header

BLOCK = tarfile.BLOCKSIZE
# Headers (PAX records, GNU long names) are read whole: a hostile size must not
# make us allocate gigabytes.  Real ones are a few KiB (long xattrs at most).
MAX_HEADER_BYTES = 16 << 20


class TarStream:
    def __init__(self, next_chunk):
        self._next = next_chunk
        self._buf = b""
        self._pos = 0
        self._base = 0            # stream offset of _buf[0]
        # what TarInfo.fromtarfile and friends read from "the tarfile"
        self.fileobj = self
        self.encoding = tarfile.ENCODING
        self.errors = "surrogateescape"
        self.pax_headers = {}
        self.offset = 0

    # -- the file-like part tarfile uses ---------------------------------------
    def tell(self):
        return self._base + self._pos

    def _fill(self):
        chunk = self._next()
        if not chunk:
            return False
        self._base += len(self._buf)
        self._buf = chunk
        self._pos = 0
        return True

    def read(self, n):
        if n > MAX_HEADER_BYTES:
            raise errors.InvalidArgument(f"layer: tar header of {n} bytes at offset {self.tell()} is too large")
        avail = len(self._buf) - self._pos
        if avail >= n:
            out = self._buf[self._pos:self._pos + n]
            self._pos += n
            return out
        parts = [self._buf[self._pos:]]
        self._pos = len(self._buf)
        need = n - avail
        while need > 0 and self._fill():
            take = min(need, len(self._buf))
            parts.append(self._buf[:take])
            self._pos = take
            need -= take
        return b"".join(parts)

    def skip(self, n):
        if n < 0:
            raise errors.InvalidArgument("layer: tar stream would need to seek backwards")
        while n > 0:
            avail = len(self._buf) - self._pos
            if avail >= n:
                self._pos += n
                return
            n -= avail
            self._pos = len(self._buf)
            if not self._fill():
                raise errors.DataLoss("layer: tar stream ends early")

    # -- members -----------------------------------------------------------------
    def members(self):
        while True:
            self.skip(self.offset - self.tell())
            try:
                info = Header.fromtarfile(self)
            except (tarfile.EOFHeaderError, tarfile.EmptyHeaderError):
                return
            except tarfile.TruncatedHeaderError as e:
                raise errors.DataLoss(f"layer: tar stream ends inside a header: {e}") from None
            except tarfile.HeaderError as e:
                raise errors.InvalidArgument(f"layer: malformed tar header at offset {self.offset}: {e}") from None
            if info.type == tarfile.GNUTYPE_SPARSE or info.sparse is not None:
                raise errors.InvalidArgument(f"layer entry {info.name!r}: GNU sparse files are not supported")
            yield info

    def copy_data(self, info, write):
        """Hand the member's data to ``write`` in memoryview pieces (no copies)."""
        self.skip(info.offset_data - self.tell())
        left = info.size
        while left > 0:
            avail = len(self._buf) - self._pos
            if avail == 0:
                if not self._fill():
                    raise errors.DataLoss(f"layer entry {info.name!r}: tar stream ends inside the file")
                continue
            take = min(left, avail)
            write(memoryview(self._buf)[self._pos:self._pos + take])
            self._pos += take
            left -= take
