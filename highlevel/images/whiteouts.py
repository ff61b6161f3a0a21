"""Layer entry names: cleaning and whiteout classification (pure, table-tested).

An OCI/Docker layer marks deletions with special names::

    a/b/.wh.c          whiteout: "a/b/c" of a lower layer is deleted
    a/b/.wh..wh..opq   opaque: "a/b" hides everything lower layers put in it

Overlayfs expresses the same with a character device 0/0 named ``c`` and the
xattr ``trusted.overlay.opaque=y`` on the directory.  ``classify`` tells the
unpacker which one an entry is; ``clean_path`` turns a tar member name into
path components relative to the layer root, or refuses it.
"""
from dataclasses import dataclass

from .. import errors

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
# Names starting with .wh..wh. are reserved for the tooling (AUFS plink etc.).
RESERVED_PREFIX = ".wh..wh."


@dataclass(frozen=True)
class Entry:
    """What a member means.  ``kind``: 'file' | 'whiteout' | 'opaque' | 'root'."""

    kind: str
    parts: tuple          # components of the path the entry acts on (dir for 'opaque')


def clean_path(name):
    """Tar member name -> tuple of components under the layer root; refuses escapes.

    ``./a//b/`` -> ('a', 'b'); ``.`` or ``./`` -> () (the layer root).
    Absolute names, ``..`` components and NUL bytes are refused with
    errors.InvalidArgument naming the entry.
    """
    if not name or "\x00" in name:
        raise errors.InvalidArgument(f"layer entry {name!r}: empty name or NUL byte")
    if name.startswith("/"):
        raise errors.InvalidArgument(f"layer entry {name!r}: absolute path")
    parts = []
    for comp in name.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            raise errors.InvalidArgument(f"layer entry {name!r}: '..' component escapes the layer")
        parts.append(comp)
    return tuple(parts)


def classify(name):
    """Classify a tar member name (see the module docstring); refuses malformed whiteouts."""
    parts = clean_path(name)
    if not parts:
        return Entry("root", ())
    base = parts[-1]
    if base == OPAQUE_MARKER:
        return Entry("opaque", parts[:-1])
    if base.startswith(RESERVED_PREFIX):
        raise errors.InvalidArgument(f"layer entry {name!r}: reserved whiteout name")
    if base.startswith(WHITEOUT_PREFIX):
        target = base[len(WHITEOUT_PREFIX):]
        if target in ("", ".", ".."):
            raise errors.InvalidArgument(f"layer entry {name!r}: whiteout aims outside its directory")
        return Entry("whiteout", parts[:-1] + (target,))
    return Entry("file", parts)


def whiteout_name(parts):
    """The OCI name for a deleted path (the inverse of classify, for exporters and tests)."""
    return "/".join(parts[:-1] + (WHITEOUT_PREFIX + parts[-1],))
