"""highlevel/images/reference.py: image references as users and CRI clients type them.

Only InvalidArgument escapes; a parsed reference is ASCII (it goes into URLs and
sqlite keys as is), and parse(canonical()) and parse(familiar()) give it back
(the encoder/decoder round trip)."""
from gantry.highlevel import errors
from gantry.highlevel.images import reference

from .harness import Target


def check(data):
    text = data.decode("utf-8", "replace")
    try:
        ref = reference.parse(text)
    except errors.InvalidArgument:
        assert not reference.is_reference(text)
        return
    assert reference.is_reference(text)
    canonical = ref.canonical()
    assert canonical.isascii(), "reference %r normalises to non-ASCII %r" % (text, canonical)
    assert reference.parse(canonical) == ref, (text, canonical)
    assert reference.parse(ref.familiar()) == ref, (text, ref.familiar())
    assert ref.tag is not None or ref.digest is not None
    if ref.digest:
        assert reference.validate_digest(ref.digest) == ref.digest
        assert reference.parse(ref.digested_name()).digest == ref.digest
    if ref.tag:
        assert reference.parse(ref.tagged_name()).tag == ref.tag
    assert ref.wire_host and ref.scope().startswith("repository:")


TARGET = Target("reference", check, ("gantry.highlevel.images.reference",), allowed=(errors.InvalidArgument,),
                max_len=1024)
