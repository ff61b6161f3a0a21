"""Every committed fuzzing input (seeds and regression inputs) replayed as a plain test.

So `make test` checks each harness's invariants on its corpus, with the
per-input bounds (time, peak memory), without atheris; a failure names the file.
"""
import pytest

from . import harness


@pytest.mark.parametrize("name", harness.target_names())
def test_corpus_replays(name):
    target = harness.load(name)
    files = harness.corpus_files(name)
    assert files, "fuzz target %s has no committed corpus (tests/fuzz/corpus/%s/)" % (name, name)
    harness.replay(target, files)


def test_every_target_names_its_modules():
    for name in harness.target_names():
        target = harness.load(name)
        assert target.name == name and target.modules
