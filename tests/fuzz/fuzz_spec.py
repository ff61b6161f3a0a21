"""lowlevel/spec.py + jsonio.py: a bundle's config.json, loaded, checked, planned.

The input is config.json.  spec.load and spec.validate raise SpecError and
nothing else; a config that validates gives the pure plans gantry-oci's init
builds from it (namespaces, capabilities, seccomp, mount options) without
another error type, and no kernel call is made (nothing is applied)."""
import os

from gantry.lowlevel import capabilities, mountopts, namespaces, seccomp, spec

from .harness import Target
from .scratch import Scratch

_scratch = None


def setup():
    global _scratch
    _scratch = Scratch()
    os.makedirs(_scratch.path("bundle", "rootfs"))


def check(data):
    bundle = _scratch.path("bundle")
    with open(os.path.join(bundle, "config.json"), "wb") as f:
        f.write(data)
    cfg = spec.load(bundle)
    assert isinstance(cfg, dict)
    spec.validate(cfg, bundle)
    linux = cfg.get("linux") or {}
    proc = cfg.get("process") or {}
    try:
        namespaces.plan(linux.get("namespaces"))
        capabilities.plan(proc.get("capabilities"), 40)
        if linux.get("seccomp"):
            seccomp.plan(linux["seccomp"])
        for mnt in cfg.get("mounts") or []:
            mountopts.parse(mnt.get("options") or [])
    except ValueError:    # SpecError, SeccompError, CapabilityError and mount option errors are ValueErrors
        pass
    _scratch.assert_outside_unchanged()


TARGET = Target("spec", check, ("gantry.lowlevel.spec", "gantry.lowlevel.jsonio"), allowed=(spec.SpecError,),
                setup=setup)
