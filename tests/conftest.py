"""Shared fixtures and markers.

Markers: ``root`` (needs uid 0: namespaces, mounts, cgroups), ``kernel(x)``,
``slow``.  CI runs as root, so nothing is skipped there; elsewhere root tests
skip with a reason.
"""
import os

import pytest

from tests.fixtures import busybox

# Registry fixtures (registry, tls_registry, basic_auth_registry, token_registry, registry_factory,
# fault_proxy); see tests/fixtures/registry_plugin.py.
pytest_plugins = ["tests.fixtures.registry_plugin"]


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory):
    """A read-only-by-convention busybox rootfs shared by the session (copy it to modify)."""
    return busybox.cached_rootfs(str(tmp_path_factory.mktemp("busybox")))
