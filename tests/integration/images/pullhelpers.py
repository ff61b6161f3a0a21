"""Helpers shared by the test_pull_* integration tests (images, hosts.toml dirs, a store)."""
import os
import socket

import pytest
from gantry.highlevel.images.pull import Puller
from gantry.highlevel.images.registry.transport import Retry
from gantry.highlevel.images.store import ImageStore

from tests.fixtures import ociimage as oi

FAST_RETRY = Retry(attempts=4, base=0.05, cap=0.5)


def small_image(tag="x", compression="gzip", flavour="oci", arch="amd64", variant=None, extra=b"", size=0):
    """Two small layers; the second one's content depends on ``tag`` so images differ."""
    base = oi.Layer([oi.Dir("etc"), oi.File("etc/os-release", b"NAME=test\n"), oi.Dir("bin"),
                     oi.File("bin/tool", b"#!/bin/sh\necho hi\n", mode=0o755)], compression)
    top_entries = [oi.Dir("data"), oi.File("data/tag", tag.encode() + extra),
                   oi.Symlink("data/link", "tag")]
    if size:
        top_entries.append(oi.RandomFile("data/big", size, seed=len(tag)))
    top = oi.Layer(top_entries, compression)
    return oi.Image([base, top], flavour=flavour, architecture=arch, variant=variant, cmd=["/bin/tool"])


def hosts_dir(tmp_path, host, server, mirrors=(), ca=None, skip_verify=False):
    """A containerd-style hosts dir: <dir>/<host>/hosts.toml; returns <dir>."""
    root = tmp_path / "certs.d"
    d = root / host
    os.makedirs(d, exist_ok=True)
    lines = ['server = "%s"' % server]
    if ca:
        lines.append('ca = "%s"' % ca)
    if skip_verify:
        lines.append("skip_verify = true")
    for m in mirrors:
        url, extra = (m, {}) if isinstance(m, str) else m
        lines.append('[host."%s"]' % url)
        lines.append('  capabilities = ["pull", "resolve"]')
        for k, v in extra.items():
            lines.append("  %s = %s" % (k, v))
    (d / "hosts.toml").write_text("\n".join(lines) + "\n")
    return str(root)


def new_store(tmp_path, name="store"):
    return ImageStore(str(tmp_path / name))


def puller(config_dir=None, **kw):
    kw.setdefault("retry", FAST_RETRY)
    return Puller(registry_config_dir=config_dir, **kw)


def snapshot_file(store, chain_id, rel):
    """Path of ``rel`` inside the committed snapshot ``chain_id``."""
    return os.path.join(store.snapshots.fs_path(chain_id), rel)


@pytest.fixture(autouse=True)
def loopback_names_only(monkeypatch):
    """Name lookups in pull tests may only be for loopback: a bug must not send a DNS query out.
    (Modules that import this fixture get it for every test.)"""
    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not (name in ("localhost", "::1") or name.startswith("127.")):
            raise socket.gaierror(socket.EAI_NONAME, "test guard: no lookup of %r outside loopback" % name)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
