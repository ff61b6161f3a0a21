"""A step's layer: the snapshot's upper dir as an OCI layer blob in the content store.

    digest, diff_id, size, media_type = write_layer(store, lease, upper_dir, "gzip", epoch)

The conversion (overlay whiteouts and opaque dirs to ``.wh.`` form, sorted
entries, SOURCE_DATE_EPOCH mtimes, gzip or zstd) is images/layerwrite.py's;
this adapter only picks the compression and hands the blob's digest to the
caller's lease before it is committed (layerwrite does that).
"""
from .. import errors

COMPRESSIONS = ("gzip", "zstd")


def write_layer(store, lease, upper, compression="gzip", epoch=None):
    from ..images.layerwrite import store_layer

    compression = compression or "gzip"
    if compression not in COMPRESSIONS:
        raise errors.InvalidArgument("build compression %r: one of %s" % (compression, ", ".join(COMPRESSIONS)))
    blob = store_layer(store, upper, lease, compression=compression, epoch=epoch)
    return blob.digest, blob.diff_id, blob.size, blob.media_type
