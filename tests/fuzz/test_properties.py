"""Property tests (hypothesis) for the formats that have both an encoder and a decoder, and for the
unpacker over generated layers: the round trips and invariants the fuzz harnesses check, driven by
structured generation instead of byte mutation, as ordinary pytest tests."""
import io
import os
import tarfile

import pytest
from gantry.api import framing
from gantry.highlevel import errors
from gantry.highlevel.images import reference, unpack
from gantry.shim import crilog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures import ociimage as oi

from .scratch import tree

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

frames = st.builds(
    framing.Frame,
    st.sampled_from(sorted(framing.KIND_NAMES)),
    st.integers(0, 0xFFFFFFFF),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
    st.integers(0, 255),
    st.binary(max_size=300),
)


@SETTINGS
@given(st.lists(frames, max_size=8), st.lists(st.integers(1, 64), min_size=1, max_size=8))
def test_framing_round_trip_in_any_pieces(sent, cuts):
    wire = b"".join(framing.encode(f) for f in sent)
    dec, got, pos, i = framing.Decoder(), [], 0, 0
    while pos < len(wire):
        step = cuts[i % len(cuts)]
        got += dec.feed(wire[pos:pos + step])
        pos, i = pos + step, i + 1
    assert got == sent and dec.pending == 0


component = st.from_regex(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*", fullmatch=True).filter(lambda c: len(c) < 30)
domains = st.sampled_from(["docker.io", "index.docker.io", "quay.io", "127.0.0.1:5000", "localhost",
                           "localhost:5000", "[::1]:5000", "Registry.Example.com"])
tags = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
digests = st.binary(min_size=32, max_size=32).map(lambda b: "sha256:" + b.hex())


@SETTINGS
@given(st.one_of(st.none(), domains), st.lists(component, min_size=1, max_size=4),
       st.one_of(st.none(), tags), st.one_of(st.none(), digests))
def test_reference_round_trips_through_canonical_and_familiar(domain, path, tag, digest):
    text = "/".join(([domain] if domain else []) + path)
    text += (":" + tag if tag else "") + ("@" + digest if digest else "")
    try:
        ref = reference.parse(text)
    except errors.InvalidArgument as e:
        # refused only when too long, or when a first component that reads as a host is not a valid one
        assert "longer than" in str(e) or (domain is None and len(path) > 1 and "." in path[0]), e
        return
    assert reference.parse(ref.canonical()) == ref
    assert reference.parse(ref.familiar()) == ref
    assert ref.canonical().isascii()


@SETTINGS
@given(st.binary(max_size=400), st.lists(st.integers(1, 50), min_size=1, max_size=6),
       st.sampled_from([1, 3, 8, crilog.MAX_LINE]), st.booleans())
def test_crilog_reassembles_what_was_written(output, cuts, max_line, strip_cr):
    enc = crilog.LineEncoder("stderr", max_line=max_line, strip_cr=strip_cr)
    log, pos, i, now = b"", 0, 0, 1_764_000_000_000_000_000
    while pos < len(output):
        step = cuts[i % len(cuts)]
        log += enc.feed(output[pos:pos + step], now + i)
        pos, i = pos + step, i + 1
    log += enc.flush(now + i)
    back = crilog.reassemble(log)
    assert crilog.reassemble(log, stream="stdout") == b""
    if strip_cr:
        assert back.replace(b"\r", b"") == output.replace(b"\r", b"")
        assert b"\r\n" not in back or max_line < 3   # a \r is only kept when a record boundary split \r\n
    else:
        assert back == output


# -- unpack over generated layers -------------------------------------------------------------

names = st.lists(st.sampled_from(["a", "b", "..", ".", "", ".wh.a", ".wh..wh..opq", ".wh..wh.x", "c" * 120]),
                 min_size=1, max_size=4).map("/".join)
link_targets = st.sampled_from(["a", "b/a", "../outside", "/etc/passwd", "..", "/", "a/../../x", ""])
entries = st.one_of(
    st.builds(oi.File, names, st.binary(max_size=20), st.sampled_from([0o644, 0o4755, 0o000])),
    st.builds(oi.Dir, names),
    st.builds(oi.Symlink, names, link_targets),
    st.builds(oi.Hardlink, names, link_targets),
    st.builds(oi.Fifo, names),
)


@pytest.fixture
def scratch(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_bytes(b"victim")
    return tmp_path


@settings(SETTINGS, max_examples=60)
@given(layer_entries=st.lists(entries, max_size=8), compression=st.sampled_from(["none", "gzip", "zstd"]))
def test_unpack_of_generated_layers_stays_inside(scratch, layer_entries, compression):
    before = tree(str(scratch / "outside"))
    try:
        tar = oi.build_tar(layer_entries)
    except (ValueError, tarfile.TarError):
        return   # not a layer tarfile can write (e.g. an empty name)
    target = scratch / "target"
    try:
        unpack.apply_layer(io.BytesIO(oi.compress(tar, compression)), str(target), sync=False)
    except (errors.InvalidArgument, errors.DataLoss):
        assert sorted(os.listdir(scratch)) == ["outside"], "a failed unpack left files behind"
    else:
        for dirpath, _, files in os.walk(target):
            for name in files:
                st_ = os.lstat(os.path.join(dirpath, name))
                assert st_.st_nlink == 1 or os.path.commonpath([dirpath, str(target)]) == str(target)
    finally:
        assert tree(str(scratch / "outside")) == before
        if target.exists():
            import shutil
            shutil.rmtree(target)
