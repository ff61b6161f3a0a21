"""Platform normalisation and selection from an index (pure)."""
import pytest
from gantry.highlevel.images.registry import platforms
from gantry.highlevel.images.registry.manifests import Descriptor

NORMALIZE = [
    (("linux", "x86_64", ""), ("linux", "amd64", "")),
    (("Linux", "x86-64", ""), ("linux", "amd64", "")),
    (("linux", "amd64", "v1"), ("linux", "amd64", "")),
    (("linux", "amd64", "v3"), ("linux", "amd64", "v3")),
    (("linux", "aarch64", ""), ("linux", "arm64", "")),
    (("linux", "arm64", "v8"), ("linux", "arm64", "")),
    (("linux", "arm64", "8"), ("linux", "arm64", "")),
    (("linux", "arm", ""), ("linux", "arm", "v7")),
    (("linux", "armhf", ""), ("linux", "arm", "v7")),
    (("linux", "armel", ""), ("linux", "arm", "v6")),
    (("linux", "arm", "6"), ("linux", "arm", "v6")),
    (("linux", "i686", ""), ("linux", "386", "")),
    (("macos", "arm64", ""), ("darwin", "arm64", "")),
    (("linux", "s390x", ""), ("linux", "s390x", "")),
]


@pytest.mark.parametrize("raw,normal", NORMALIZE)
def test_normalize(raw, normal):
    assert platforms.normalize(*raw) == platforms.Platform(*normal)


def test_parse_and_str():
    assert str(platforms.parse("linux/arm64/v8")) == "linux/arm64"
    assert str(platforms.parse("linux/arm/v6")) == "linux/arm/v6"
    assert platforms.parse("linux/amd64") == platforms.Platform("linux", "amd64")
    for bad in ("", "linux//v7", "a/b/c/d"):
        with pytest.raises(ValueError):
            platforms.parse(bad)
    assert platforms.host().os == "linux"


def d(name, os_name="linux", arch="amd64", variant=None, annotations=None):
    p = {"os": os_name, "architecture": arch}
    if variant:
        p["variant"] = variant
    return Descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:" + name * 64, 1,
                      annotations=annotations or {}, platform=p)


ATTEST = d("f", "unknown", "unknown", annotations={"vnd.docker.reference.type": "attestation-manifest"})
INDEX = [ATTEST, d("a", arch="amd64"), d("b", arch="arm64", variant="v8"), d("c", arch="arm", variant="v6"),
         d("e", arch="arm", variant="v7"), d("9", os_name="windows", arch="amd64")]

SELECT = [
    ("linux/amd64", "a"),
    ("linux/arm64", "b"),
    ("linux/aarch64", "b"),
    ("linux/arm/v7", "e"),
    ("linux/arm/v6", "c"),
    ("linux/arm/v8", "e"),  # the newest compatible older variant
    ("linux/arm/v5", None),
    ("windows/amd64", "9"),
    ("linux/s390x", None),
    ("unknown/unknown", None),  # attestations are never chosen
]


@pytest.mark.parametrize("wanted,expected", SELECT)
def test_select(wanted, expected):
    got = platforms.select(INDEX, platforms.parse(wanted))
    assert (got.digest[7] if got else None) == expected


def test_select_skips_attestation_annotation_even_with_real_platform():
    fake = d("1", annotations={"vnd.docker.reference.type": "attestation-manifest"})
    assert platforms.select([fake, d("2")], platforms.parse("linux/amd64")).digest[7] == "2"
    assert platforms.select([fake], platforms.parse("linux/amd64")) is None


def test_select_prefers_exact_variant_over_first_listed():
    idx = [d("1", arch="amd64", variant="v3"), d("2", arch="amd64")]
    assert platforms.select(idx, platforms.parse("linux/amd64")).digest[7] == "2"
    assert platforms.select(idx, platforms.parse("linux/amd64/v3")).digest[7] == "1"


def test_available():
    assert platforms.available(INDEX) == ["linux/amd64", "linux/arm/v6", "linux/arm/v7", "linux/arm64",
                                          "windows/amd64"]


def test_non_string_platform_fields_name_nothing():
    # found by tests/fuzz (fuzz_manifests): {"os": 1} in an index entry raised AttributeError
    assert platforms.from_descriptor({"os": 1, "architecture": ["x"], "variant": None}) == platforms.Platform("", "", "")
    entry = Descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:" + "a" * 64, 1,
                       platform={"os": "linux", "architecture": {"amd64": 1}})
    assert platforms.select([entry], platforms.parse("linux/amd64")) is None
