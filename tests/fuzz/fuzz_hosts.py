"""highlevel/images/registry/hosts.py: one hosts.toml file (containerd's config_path format).

Only InvalidArgument escapes; the endpoints are mirrors first and the server
last, each an http(s) URL with a host, its files resolved inside the host dir
unless absolute."""
import os

from gantry.highlevel import errors
from gantry.highlevel.images.registry import hosts

from .harness import Target

DIRECTORY = "/etc/gantry/certs.d/registry.test"


def check(data):
    endpoints = hosts.parse_hosts(data, "registry.test", DIRECTORY, DIRECTORY + "/hosts.toml")
    assert endpoints and not endpoints[-1].mirror and all(e.mirror for e in endpoints[:-1])
    for e in endpoints:
        assert e.scheme in ("http", "https") and e.host and e.path.startswith("/")
        assert e.base_url.startswith(e.scheme + "://")
        assert e.capabilities <= hosts.ALL_CAPABILITIES | {"push"}
        for f in e.ca + tuple(p for pair in e.client for p in pair if p):
            assert os.path.isabs(f)
        assert all(isinstance(n, str) and isinstance(v, str) for n, v in e.headers)
    for capability in ("pull", "resolve"):
        assert all(e.can(capability) for e in hosts.for_capability(endpoints, capability))


TARGET = Target("hosts", check, ("gantry.highlevel.images.registry.hosts",), allowed=(errors.InvalidArgument,),
                max_len=16384)
