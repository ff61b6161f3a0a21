"""gantryctl's call errors: "cannot reach" only when the channel failed, not for the runtime's own UNAVAILABLE."""
import pytest
from gantry.highlevel.ctl.client import call_error

SOCK = "/run/gantry/gantryd.sock"


@pytest.mark.parametrize("code, details, want", [
    ("UNAVAILABLE", "failed to connect to all addresses; last error: UNKNOWN: unix:/x: Connection refused",
     "pull: cannot reach %s: failed to connect" % SOCK),
    ("UNAVAILABLE", "Socket closed", "pull: cannot reach %s: Socket closed" % SOCK),
    ("UNAVAILABLE", "", "pull: cannot reach %s: connection failed" % SOCK),
    # gantryd reached, the registry not: the runtime's message, with its code
    ("UNAVAILABLE", "pull docker.io/library/alpine:latest: ping https://registry-1.docker.io/v2: Name or "
     "service not known", "pull: UNAVAILABLE: pull docker.io/library/alpine:latest: ping"),
    ("NOT_FOUND", "image x", "pull: NOT_FOUND: image x"),
])
def test_call_error(code, details, want):
    assert str(call_error("pull", SOCK, code, details)).startswith(want)
