"""highlevel/images/unpack.py + tarstream.py + whiteouts.py (+ layerfixups.py): one layer applied.

The input is a layer: its first byte picks the compression the harness applies
(none, gzip, zstd) and whether tar header checksums are fixed up (so that
mutations reach past the checksum), the rest is a tar stream.  It is applied
into ``<scratch>/target`` over a lower layer (``<scratch>/lower``: files, a
directory, a symlink aimed outside), then its deferred hardlinks and implicit
directories are resolved against that lower layer, as a pull does.

Invariants: only the unpacker's domain errors escape (InvalidArgument,
DataLoss, FailedPrecondition, ResourceExhausted; never Internal, which
would mean an unexpected OSError); outside/ and lower/ are unchanged
(whiteouts, opaque dirs, symlinks, hardlinks, ``..``, absolute names included);
on an error the target is absent and no temporary is left; on success every
entry of the target is a directory, file, symlink, device, fifo or overlay
whiteout (0/0 char device), and nothing in it is a hardlink to a file outside it.
Every 512-byte block of the tar decodes the same through tarheader.Header (the unpacker's
header decoder) as through tarfile.TarInfo: the same fields or the same error."""
import gzip
import os
import shutil
import stat
import tarfile

import zstandard
from gantry.highlevel import errors
from gantry.highlevel.images import layerfixups, unpack
from gantry.highlevel.images.tarheader import Header

from .harness import Target
from .scratch import Scratch, tree

_scratch = None
_lower_tree = None
ALLOWED = (errors.InvalidArgument, errors.DataLoss, errors.FailedPrecondition, errors.ResourceExhausted)


def setup():
    global _scratch, _lower_tree
    _scratch = Scratch()
    lower = _scratch.path("lower")
    os.makedirs(os.path.join(lower, "etc", "sub"))
    with open(os.path.join(lower, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0::/root:/bin/sh\n")
    with open(os.path.join(lower, "etc", "sub", "file"), "w") as f:
        f.write("lower\n")
    os.symlink("../outside", os.path.join(lower, "escape"))
    os.symlink("/", os.path.join(lower, "rootlink"))
    os.mkfifo(os.path.join(lower, "fifo"))
    _lower_tree = tree(lower)


def fix_checksums(tar):
    """Walk the headers as a reader would and give each a correct checksum."""
    buf = bytearray(tar)
    pos = 0
    while pos + tarfile.BLOCKSIZE <= len(buf):
        block = buf[pos:pos + tarfile.BLOCKSIZE]
        if not any(block):
            pos += tarfile.BLOCKSIZE
            continue
        block[148:156] = b"        "
        chksum = sum(block)
        buf[pos + 148:pos + 156] = b"%06o\0 " % (chksum & 0o777777)
        try:
            size = tarfile.nti(bytes(block[124:136]))
        except (tarfile.InvalidHeaderError, ValueError):
            return bytes(buf)
        if block[156:157] in (b"1", b"2", b"3", b"4", b"5", b"6"):
            size = 0
        if size < 0 or size > len(buf):
            return bytes(buf)
        pos += tarfile.BLOCKSIZE + -(-size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
    return bytes(buf)


def layer_tar(data):
    """(the input's tar, as checksum-fixed as its mode byte says; its compression: 0 none, 1 gzip, 2 zstd)."""
    mode, tar = (data[0], data[1:]) if data else (0, b"")
    if not mode & 4:
        tar = fix_checksums(tar)
    return tar, mode % 4


def layer_blob(data):
    tar, compression = layer_tar(data)
    if compression == 1:
        return gzip.compress(tar, compresslevel=1, mtime=0)
    if compression == 2:
        return zstandard.ZstdCompressor(level=1).compress(tar)
    return tar


class _Stream:
    def __init__(self, blob):
        self.blob, self.pos = blob, 0

    def read(self, n=-1):
        n = len(self.blob) - self.pos if n is None or n < 0 else n
        out = self.blob[self.pos:self.pos + n]
        self.pos += len(out)
        return out


def check(data):
    # one thread while this input runs: atheris follows the code, and the timing is the input's own
    real, unpack.PREFETCH = unpack.PREFETCH, False
    try:
        _check(data)
    finally:
        unpack.PREFETCH = real


def _decoded(cls, block):
    try:
        info = cls.frombuf(block, tarfile.ENCODING, "surrogateescape")
    except tarfile.HeaderError as exc:
        return type(exc), str(exc)
    return [getattr(info, k, None) for k in tarfile.TarInfo.__slots__ if k != "tarfile"]


def _check_header_decoding(tar):
    for pos in range(0, len(tar), tarfile.BLOCKSIZE):
        block = tar[pos:pos + tarfile.BLOCKSIZE]
        assert _decoded(Header, block) == _decoded(tarfile.TarInfo, block), "tarheader differs at %d" % pos


def _check(data):
    _check_header_decoding(layer_tar(data)[0])
    target = _scratch.path("target")
    lower = _scratch.path("lower")
    try:
        try:
            result = unpack.apply_layer(_Stream(layer_blob(data)), target, sync=False)
        except ALLOWED:
            assert not os.path.lexists(target), "a failed unpack left its target"
            _scratch.assert_only({"lower"})
            raise
        _scratch.assert_only({"lower", "target"})
        layerfixups.resolve_deferred_links(target, result.deferred_links, [lower])
        layerfixups.inherit_dir_attrs(target, result.implicit_dirs, [lower])
        lower_inodes = {(st.st_dev, st.st_ino) for st in _walk_stats(lower)}
        for st in _walk_stats(target):
            kind = stat.S_IFMT(st.st_mode)
            assert kind in (stat.S_IFDIR, stat.S_IFREG, stat.S_IFLNK, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO)
            assert (st.st_dev, st.st_ino) not in lower_inodes, "a hardlink into the lower layer"
    finally:
        _scratch.assert_outside_unchanged()
        assert tree(lower) == _lower_tree, "the lower layer changed"
        shutil.rmtree(target, ignore_errors=True)


def _walk_stats(root):
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            yield os.lstat(os.path.join(dirpath, name))


TARGET = Target("unpack", check, ("gantry.highlevel.images.unpack", "gantry.highlevel.images.tarstream",
                                  "gantry.highlevel.images.tarheader",
                                  "gantry.highlevel.images.whiteouts", "gantry.highlevel.images.layerfixups"),
                allowed=ALLOWED, setup=setup, max_len=256 << 10)
