"""Reference parsing and normalisation, from tables."""
import pytest
from gantry.highlevel.errors import InvalidArgument
from gantry.highlevel.images import reference

D = "sha256:" + "a" * 64

PARSED = [
    # text, domain, path, tag, digest, canonical, familiar, wire host
    ("busybox", "docker.io", "library/busybox", "latest", None,
     "docker.io/library/busybox:latest", "busybox:latest", "registry-1.docker.io"),
    ("busybox:1.36", "docker.io", "library/busybox", "1.36", None,
     "docker.io/library/busybox:1.36", "busybox:1.36", "registry-1.docker.io"),
    ("docker.io/busybox", "docker.io", "library/busybox", "latest", None,
     "docker.io/library/busybox:latest", "busybox:latest", "registry-1.docker.io"),
    ("index.docker.io/library/busybox:1", "docker.io", "library/busybox", "1", None,
     "docker.io/library/busybox:1", "busybox:1", "registry-1.docker.io"),
    ("foo/bar", "docker.io", "foo/bar", "latest", None,
     "docker.io/foo/bar:latest", "foo/bar:latest", "registry-1.docker.io"),
    ("library/foo/bar", "docker.io", "library/foo/bar", "latest", None,
     "docker.io/library/foo/bar:latest", "library/foo/bar:latest", "registry-1.docker.io"),
    ("busybox@" + D, "docker.io", "library/busybox", None, D,
     "docker.io/library/busybox@" + D, "busybox@" + D, "registry-1.docker.io"),
    ("busybox:1.36@" + D, "docker.io", "library/busybox", "1.36", D,
     "docker.io/library/busybox:1.36@" + D, "busybox:1.36@" + D, "registry-1.docker.io"),
    ("localhost/app", "localhost", "app", "latest", None,
     "localhost/app:latest", "localhost/app:latest", "localhost"),
    ("localhost:5000/app:v2", "localhost:5000", "app", "v2", None,
     "localhost:5000/app:v2", "localhost:5000/app:v2", "localhost:5000"),
    ("127.0.0.1:5000/a/b/c:x_y-z.1", "127.0.0.1:5000", "a/b/c", "x_y-z.1", None,
     "127.0.0.1:5000/a/b/c:x_y-z.1", "127.0.0.1:5000/a/b/c:x_y-z.1", "127.0.0.1:5000"),
    ("registry.k8s.io/pause:3.9", "registry.k8s.io", "pause", "3.9", None,
     "registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9", "registry.k8s.io"),
    ("Example/foo", "Example", "foo", "latest", None,
     "Example/foo:latest", "Example/foo:latest", "Example"),
    ("[::1]:5000/foo", "[::1]:5000", "foo", "latest", None,
     "[::1]:5000/foo:latest", "[::1]:5000/foo:latest", "[::1]:5000"),
    ("a.b/c__d/e-f--g.h:Tag", "a.b", "c__d/e-f--g.h", "Tag", None,
     "a.b/c__d/e-f--g.h:Tag", "a.b/c__d/e-f--g.h:Tag", "a.b"),
    ("localhost:5000", "docker.io", "library/localhost", "5000", None,
     "docker.io/library/localhost:5000", "localhost:5000", "registry-1.docker.io"),
]


@pytest.mark.parametrize("text,domain,path,tag,digest,canonical,familiar,wire", PARSED)
def test_parse(text, domain, path, tag, digest, canonical, familiar, wire):
    ref = reference.parse(text)
    assert (ref.domain, ref.path, ref.tag, ref.digest) == (domain, path, tag, digest)
    assert ref.canonical() == canonical == str(ref)
    assert ref.familiar() == familiar
    assert ref.wire_host == wire
    assert reference.parse(canonical) == ref  # canonical form is a fixed point


INVALID = [
    ("", "empty"),
    (" busybox", "whitespace"),
    ("busy box", "whitespace"),
    ("Busybox", "lowercase"),
    ("docker.io/Foo", "lowercase"),
    ("busybox:", "invalid tag"),
    ("busybox:-x", "invalid tag"),
    ("busybox:" + "t" * 129, "invalid tag"),
    ("busybox@sha256:abc", "64 lowercase hex"),
    ("busybox@sha256:" + "A" * 64, "64 lowercase hex"),
    ("busybox@md5:" + "a" * 32, "unsupported digest algorithm"),
    ("busybox@", "algorithm:hex"),
    ("a" * 64, "image id"),
    ("foo//bar", "invalid repository name component"),
    ("foo/-bar", "invalid repository name component"),
    ("foo/bar_", "invalid repository name component"),
    ("foo/bar...baz", "invalid repository name component"),
    ("localhost:5000/", "missing repository name"),
    ("-host.com/foo", "invalid registry host"),
    ("host.com:port/foo", "invalid registry host"),
    ("example.com/" + "a" * 250, "longer than 255"),
    (":tag", "missing repository name"),
]


@pytest.mark.parametrize("text,message", INVALID)
def test_invalid(text, message):
    with pytest.raises(InvalidArgument) as err:
        reference.parse(text)
    assert message in str(err.value)
    assert "parse" in str(err.value)


def test_helpers():
    ref = reference.parse("127.0.0.1:5000/team/app:1")
    assert ref.object == "1"
    assert ref.scope() == "repository:team/app:pull"
    assert ref.name == "127.0.0.1:5000/team/app"
    pinned = ref.with_digest(D)
    assert pinned.object == D
    assert pinned.tagged_name() == "127.0.0.1:5000/team/app:1"
    assert pinned.digested_name() == "127.0.0.1:5000/team/app@" + D
    assert reference.parse("busybox@" + D).tagged_name() is None
    assert reference.is_reference("busybox") and not reference.is_reference("Busy")


def test_validate_digest():
    assert reference.validate_digest("sha512:" + "0" * 128)
    with pytest.raises(InvalidArgument):
        reference.validate_digest("sha512:" + "0" * 64)


# found by tests/fuzz (fuzz_reference): familiar() dropped docker.io from a path whose first component
# reads as a registry host, so parsing the familiar name named another registry; tags took any
# Unicode letter (Python's \w), which then went into URLs
def test_familiar_keeps_docker_io_when_the_path_looks_like_a_host():
    ref = reference.parse("index.docker.io/f.io/fr")
    assert ref.familiar() == "docker.io/f.io/fr:latest"
    assert reference.parse(ref.familiar()) == ref
    assert reference.parse("docker.io/localhost/x").familiar() == "docker.io/localhost/x:latest"
    assert reference.parse("docker.io/foo/bar").familiar() == "foo/bar:latest"


def test_tag_is_ascii():
    with pytest.raises(InvalidArgument, match="invalid tag"):
        reference.parse("busybox:\u00fc")
