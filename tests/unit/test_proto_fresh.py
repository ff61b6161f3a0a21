"""The committed protobuf modules are what `make proto` produces now."""
import filecmp
import os

from tests.fixtures import protogen


def test_generated_modules_are_fresh(tmp_path):
    written = protogen.generate(str(tmp_path))
    assert len(written) >= len(protogen.proto_sources())
    stale = [f for f in written
             if not os.path.exists(os.path.join(protogen.PROTO_DIR, f))
             or not filecmp.cmp(os.path.join(tmp_path, f), os.path.join(protogen.PROTO_DIR, f), shallow=False)]
    assert stale == [], "run `make proto` and commit"
