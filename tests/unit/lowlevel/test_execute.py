"""exec's pure parts: the process it builds from the flags, and the linux section stage 1 joins."""
import pytest
from gantry.lowlevel import execute

CFG = {
    "process": {"args": ["sleep"], "env": ["PATH=/bin", "A=1"], "cwd": "/srv", "user": {"uid": 5, "gid": 6},
                "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]},
                "noNewPrivileges": False},
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "network", "path": "/var/run/netns/x"}],
              "seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}, "personality": {"domain": "LINUX32"}},
}


def test_join_linux_joins_every_namespace_of_the_init_and_its_root():
    linux = execute.join_linux(CFG, 42)
    assert linux["namespaces"] == [{"type": "network", "path": "/proc/42/ns/net"},
                                   {"type": "pid", "path": "/proc/42/ns/pid"},
                                   {"type": "mount", "path": "/proc/42/ns/mnt"}]
    assert linux["enterRoot"] == "/proc/42/root"          # chrooted into after the setns calls
    assert linux["seccomp"] == CFG["linux"]["seccomp"] and linux["personality"] == {"domain": "LINUX32"}


def test_build_process_from_flags():
    proc = execute.build_process(CFG, {"env": ["A=2", "B=3"], "cwd": "/tmp", "user": "7:8", "additional_gids": ["9"],
                                       "cap": ["CAP_SYS_ADMIN"], "no_new_privs": True, "tty": True}, ["sh", "-c", "x"])
    assert proc["args"] == ["sh", "-c", "x"] and proc["cwd"] == "/tmp" and proc["terminal"] is True
    assert proc["env"] == ["PATH=/bin", "A=2", "B=3"]
    assert proc["user"] == {"uid": 7, "gid": 8, "additionalGids": [9]}
    assert all("CAP_SYS_ADMIN" in proc["capabilities"][k] for k in ("bounding", "effective", "permitted"))
    # never inheritable (CVE-2022-29162); no ambient without an inheritable set in the config
    assert not proc["capabilities"].get("inheritable") and not proc["capabilities"].get("ambient")
    assert proc["noNewPrivileges"] is True
    assert CFG["process"]["capabilities"]["bounding"] == ["CAP_KILL"]     # the container's config is untouched


def test_cap_goes_to_ambient_only_when_the_config_makes_it_inheritable():
    cfg = {"process": dict(CFG["process"], user={"uid": 1000, "gid": 1000}, capabilities={
        "bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"],
        "inheritable": ["CAP_KILL", "CAP_CHOWN"], "ambient": ["CAP_KILL"]})}
    caps = execute.build_process(cfg, {"cap": ["CAP_NET_RAW", "CAP_CHOWN"]}, ["true"])["capabilities"]
    assert caps["bounding"] == caps["permitted"] == ["CAP_KILL", "CAP_NET_RAW", "CAP_CHOWN"]
    assert caps["inheritable"] == ["CAP_KILL", "CAP_CHOWN"]          # unchanged
    assert caps["ambient"] == ["CAP_KILL", "CAP_CHOWN"]              # NET_RAW is not inheritable: not ambient


def test_build_process_defaults_and_errors():
    proc = execute.build_process(CFG, {}, ["true"])
    assert proc["cwd"] == "/srv" and proc["user"] == {"uid": 5, "gid": 6} and proc["terminal"] is False
    with pytest.raises(ValueError, match="exec needs a command"):
        execute.build_process(CFG, {}, [])
    with pytest.raises(ValueError, match="must be absolute"):
        execute.build_process(CFG, {"cwd": "relative"}, ["true"])
