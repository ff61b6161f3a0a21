"""The RUN container's OCI spec (pure)."""
import pytest
from gantry.highlevel import errors
from gantry.highlevel.build.executor_spec import RunSpec, run_spec
from gantry.highlevel.runtime.specgen import SpecDefaults, User


def _spec(**kw):
    base = dict(id="abc", rootfs="/r", args=["/bin/sh", "-c", "make"], env=["PATH=/bin"], cwd="/src",
                user=User(1000, 100, [5]))
    base.update(kw)
    return run_spec(RunSpec(**base), SpecDefaults(seccomp_default={"defaultAction": "SCMP_ACT_ERRNO"}))


def _ns(spec):
    return [n["type"] for n in spec["linux"]["namespaces"]]


@pytest.mark.parametrize("network, has_netns", [("none", True), ("host", False)])
def test_network_none_gets_a_namespace_of_its_own_host_shares(network, has_netns):
    spec = _spec(network=network)
    assert ("network" in _ns(spec)) is has_netns
    assert all("path" not in n for n in spec["linux"]["namespaces"])
    assert {"mount", "pid", "ipc", "uts"} <= set(_ns(spec))


def test_process_user_env_cwd_and_confinement():
    spec = _spec(cwd="src/../app")
    p = spec["process"]
    assert p["args"] == ["/bin/sh", "-c", "make"] and p["env"] == ["PATH=/bin"]
    assert p["cwd"] == "/app"
    assert p["user"] == {"uid": 1000, "gid": 100, "additionalGids": [5, 100]}
    assert "CAP_SYS_ADMIN" not in p["capabilities"]["bounding"] and "CAP_CHOWN" in p["capabilities"]["bounding"]
    assert spec["linux"]["seccomp"] == {"defaultAction": "SCMP_ACT_ERRNO"}
    assert spec["linux"]["cgroupsPath"] == "/gantry/build-abc"
    assert spec["root"] == {"path": "/r", "readonly": False}
    assert {m["destination"] for m in spec["mounts"]} >= {"/proc", "/dev", "/sys"}
    assert "/proc/kcore" in spec["linux"]["maskedPaths"]


@pytest.mark.parametrize("kw, message", [
    ({"network": "bridge"}, "network"),
    ({"args": []}, "empty command"),
    ({"env": ["A=\0"]}, "NUL"),
])
def test_bad_requests_are_refused(kw, message):
    with pytest.raises(errors.InvalidArgument, match=message):
        _spec(**kw)
