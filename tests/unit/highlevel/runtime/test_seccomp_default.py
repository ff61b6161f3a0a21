"""The RuntimeDefault profile: valid OCI seccomp, capability-conditional rules, what it blocks."""
import pytest
from gantry.highlevel.runtime import seccomp_default
from gantry.highlevel.runtime.specsecurity import DEFAULT_CAPS, KNOWN_CAPS
from gantry.lowlevel import seccomp as oci_seccomp


def allowed(profile):
    """Names allowed without argument conditions."""
    return {n for r in profile["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" and not r.get("args") for n in r["names"]}


@pytest.mark.parametrize("caps", [[], DEFAULT_CAPS, KNOWN_CAPS])
def test_valid_oci_seccomp(caps):
    profile = seccomp_default.profile_for(caps)
    oci_seccomp.validate(profile)           # gantry-oci's schema check names any bad field
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    assert profile["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]


def test_common_syscalls_allowed_dangerous_ones_not():
    p = allowed(seccomp_default.profile_for(DEFAULT_CAPS))
    assert {"read", "write", "openat", "execve", "exit_group", "socketpair"} <= p
    assert {"mount", "umount2", "unshare", "setns", "sethostname", "reboot", "init_module", "bpf", "kexec_load",
            "open_by_handle_at", "keyctl", "add_key", "clone", "clone3"}.isdisjoint(p)
    assert "chroot" in p                    # CAP_SYS_CHROOT is a default capability
    assert "arch_prctl" in p and "ptrace" in p


def test_capability_conditional_rules():
    without = allowed(seccomp_default.profile_for(DEFAULT_CAPS))
    with_admin = allowed(seccomp_default.profile_for(DEFAULT_CAPS + ["CAP_SYS_ADMIN"]))
    assert {"mount", "unshare", "setns", "sethostname", "clone", "clone3"} <= with_admin - without
    assert "settimeofday" in allowed(seccomp_default.profile_for(["CAP_SYS_TIME"]))
    assert "chroot" not in allowed(seccomp_default.profile_for([]))


def test_clone_without_namespace_flags_and_clone3_enosys():
    rules = seccomp_default.profile_for(DEFAULT_CAPS)["syscalls"]
    clone = [r for r in rules if r["names"] == ["clone"]]
    assert clone == [{"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 0x7E020000, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}]
    assert {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38} in rules
    admin = seccomp_default.profile_for(["CAP_SYS_ADMIN"])["syscalls"]
    assert not [r for r in admin if r.get("args") and r["names"] == ["clone"]]


def test_socket_excludes_alg_and_vsock():
    rules = [r for r in seccomp_default.profile_for([])["syscalls"] if r["names"] == ["socket"]]

    def permitted(family):
        for r in rules:
            a = r["args"][0]
            if {"SCMP_CMP_LT": family < a["value"], "SCMP_CMP_EQ": family == a["value"],
                    "SCMP_CMP_GT": family > a["value"]}[a["op"]]:
                return True
        return False
    assert [f for f in range(0, 64) if not permitted(f)] == [38, 40]


def test_other_machine_and_unknown():
    p = seccomp_default.profile_for([], machine="aarch64")
    assert p["architectures"] == ["SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64"] and "arch_prctl" not in allowed(p)
    with pytest.raises(ValueError):
        seccomp_default.profile_for([], machine="vax")


def test_profile_is_fresh_each_time():
    a = seccomp_default.profile_for([])
    a["syscalls"][0]["names"].append("mount")
    assert "mount" not in allowed(seccomp_default.profile_for([]))
