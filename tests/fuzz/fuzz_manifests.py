"""highlevel/images/registry/manifests.py + platforms.py: what a registry answers.

The input is a Content-Type (chosen by the first byte) and a body, read as an
index, a manifest and an image config.  Only the domain errors escape
(InvalidArgument, Unimplemented, DataLoss); a parsed descriptor survives
to_dict() -> descriptor() unchanged; platform selection returns one of the
index's own entries, never an attestation."""
from gantry.highlevel import errors
from gantry.highlevel.images.registry import manifests as m
from gantry.highlevel.images.registry import platforms

from .harness import Target

CONTENT_TYPES = ("", "application/json", m.OCI_INDEX, m.DOCKER_MANIFEST_LIST, m.OCI_MANIFEST,
                 m.DOCKER_MANIFEST, "text/plain; charset=utf-8", m.DOCKER_SCHEMA1)
WANTED = (platforms.host(), platforms.parse("linux/arm/v7"), platforms.parse("linux/arm64"),
          platforms.parse("windows/amd64"))


def check(data):
    if not data:
        return
    content_type, body = CONTENT_TYPES[data[0] % len(CONTENT_TYPES)], data[1:]
    try:
        config = m.parse_config(body, data[0] % 4)
    except errors.GantryError:
        pass
    else:
        assert len(m.chain_ids(config.diff_ids)) == len(config.diff_ids)
    kind, media_type, doc = m.kind_of(content_type, body)
    assert isinstance(doc, dict)
    if kind == "index":
        entries = m.parse_index(doc)
        for d in entries:
            assert m.descriptor(d.to_dict(), "again") == d
            platforms.from_descriptor(d.platform)
        for wanted in WANTED:
            chosen = platforms.select(entries, wanted)
            assert chosen is None or (chosen in entries and not platforms.is_attestation(chosen))
        offered = platforms.available(entries)
        assert offered == sorted(offered) and all(isinstance(p, str) for p in offered)
    else:
        manifest = m.parse_manifest(doc, media_type)
        assert m.descriptor(manifest.config.to_dict(), "again") == manifest.config
        for layer in manifest.layers:
            compression, distributable = m.layer_kind(layer)
            assert compression in (None, "gzip", "zstd") and isinstance(distributable, bool)


TARGET = Target("manifests", check, ("gantry.highlevel.images.registry.manifests",
                                     "gantry.highlevel.images.registry.platforms"),
                allowed=(errors.InvalidArgument, errors.Unimplemented, errors.DataLoss))
