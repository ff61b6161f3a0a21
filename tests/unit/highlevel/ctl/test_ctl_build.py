"""gantryctl build: flags into a BuildRequest."""
import pytest
from gantry.highlevel.ctl.build import build_args, request_for
from gantry.highlevel.ctl.cli import parse_args
from gantry.highlevel.ctl.client import CtlError


def test_build_args_take_bare_names_from_the_environment():
    assert build_args(["A=1", "B=", "C", "D"], environ={"C": "env"}) == {"A": "1", "B": "", "C": "env"}
    with pytest.raises(CtlError):
        build_args(["=x"])


def test_request_from_flags(tmp_path):
    (tmp_path / "alt.Dockerfile").write_text("FROM scratch\n")
    args = parse_args(["build", "-t", "a:1", "-t", "b", "-f", str(tmp_path / "alt.Dockerfile"), "--build-arg",
                       "X=1", "--target", "t", "--no-cache", "--network", "host", "--compression", "zstd",
                       str(tmp_path)])
    req = request_for(args, environ={})
    assert req.context_path == str(tmp_path) and req.dockerfile_text == "FROM scratch\n"
    assert list(req.tags) == ["a:1", "b"] and dict(req.build_args) == {"X": "1"}
    assert (req.target, req.no_cache, req.network, req.compression) == ("t", True, "host", "zstd")


def test_context_must_be_a_directory(tmp_path):
    with pytest.raises(CtlError, match="not a directory"):
        request_for(parse_args(["build", str(tmp_path / "nope")]), environ={})
