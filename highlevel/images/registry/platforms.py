"""Platforms (pure): normalising os/architecture/variant and choosing from an index.

Normalisation follows the names users and registries actually write:
``x86_64``/``x86-64`` → ``amd64``; ``aarch64`` → ``arm64`` (variant ``v8`` is
the default and dropped); ``armhf`` → ``arm/v7``, ``armel`` → ``arm/v6``,
bare ``arm`` → ``arm/v7``; ``i386``/``i686`` → ``386``; variants ``7`` → ``v7``.

Selection skips attestation manifests (BuildKit's
``vnd.docker.reference.type: attestation-manifest`` and ``unknown/unknown``
entries), prefers an exact variant, and accepts an older ARM variant on a
newer CPU (``arm/v6`` runs on ``arm/v7``) when nothing better is present.
"""
import platform as _host_platform
from dataclasses import dataclass

ATTESTATION_ANNOTATION = "vnd.docker.reference.type"
ATTESTATION_VALUE = "attestation-manifest"

_ARCH = {
    "x86_64": "amd64", "x86-64": "amd64", "amd64": "amd64",
    "aarch64": "arm64", "arm64": "arm64",
    "armhf": "arm", "armel": "arm", "arm": "arm", "armv7l": "arm", "armv6l": "arm", "armv5l": "arm",
    "i386": "386", "i486": "386", "i586": "386", "i686": "386", "386": "386",
    "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64", "mips64le": "mips64le",
    "loong64": "loong64", "loongarch64": "loong64",
}
_ARCH_DEFAULT_VARIANT = {"armhf": "v7", "armel": "v6", "armv7l": "v7", "armv6l": "v6", "armv5l": "v5"}


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self):
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


def normalize(os_name, architecture, variant=""):
    """The normalised Platform for loosely written names."""
    os_name = (os_name or "").lower()
    if os_name == "macos":
        os_name = "darwin"
    raw_arch = (architecture or "").lower()
    arch = _ARCH.get(raw_arch, raw_arch)
    variant = (variant or "").lower() or _ARCH_DEFAULT_VARIANT.get(raw_arch, "")
    if variant and variant[0].isdigit():
        variant = "v" + variant
    if arch == "arm64" and variant in ("v8", "v8.0"):
        variant = ""
    elif arch == "arm" and not variant:
        variant = "v7"
    elif arch == "amd64" and variant == "v1":
        variant = ""
    return Platform(os_name, arch, variant)


def parse(text):
    """``linux/arm64/v8`` → Platform; missing parts are left empty."""
    parts = (text or "").split("/")
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise ValueError("platform %r: expected os[/architecture[/variant]]" % text)
    parts += [""] * (3 - len(parts))
    return normalize(*parts)


def host():
    """This machine's platform (Linux, the running CPU)."""
    return normalize("linux", _host_platform.machine())


def from_descriptor(platform_dict):
    """Platform from an index entry's ``platform`` object (None when absent)."""
    if not isinstance(platform_dict, dict):
        return None
    fields = [platform_dict.get(k, "") for k in ("os", "architecture", "variant")]
    return normalize(*(v if isinstance(v, str) else "" for v in fields))   # a non-string names nothing


def is_attestation(descriptor):
    """True for BuildKit attestation entries, which are not runnable images."""
    annotations = descriptor.annotations or {}
    if annotations.get(ATTESTATION_ANNOTATION) == ATTESTATION_VALUE:
        return True
    p = descriptor.platform or {}
    return p.get("os") == "unknown" and p.get("architecture") == "unknown"


def _arm_level(variant):
    try:
        return int(variant.lstrip("v"))
    except ValueError:
        return None


def score(wanted, candidate):
    """How well ``candidate`` runs on ``wanted``: higher is better, None means it does not."""
    if candidate is None:
        return None
    if candidate.os != wanted.os or candidate.architecture != wanted.architecture:
        return None
    if candidate.variant == wanted.variant:
        return 100
    if wanted.architecture == "arm":
        have, want = _arm_level(candidate.variant), _arm_level(wanted.variant)
        if have is not None and want is not None and have <= want:
            return 50 + have
        return None
    if not candidate.variant or not wanted.variant:
        return 10
    return None


def select(descriptors, wanted):
    """The best descriptor of an index for ``wanted``, or None.  Ties go to the first listed."""
    best, best_score = None, None
    for desc in descriptors:
        if is_attestation(desc):
            continue
        s = score(wanted, from_descriptor(desc.platform))
        if s is not None and (best_score is None or s > best_score):
            best, best_score = desc, s
    return best


def available(descriptors):
    """The platforms an index offers (for error messages)."""
    return sorted({str(from_descriptor(d.platform)) for d in descriptors
                   if d.platform and not is_attestation(d)})
