"""seccomp, capabilities and the v2 device filter run against the shared recording
FakeSyscalls (lowlevel/syscalls/fake.py): the fake covers every call they make."""
import inspect

from gantry.lowlevel import capabilities, seccomp
from gantry.lowlevel.cgroups import devices, devices_bpf
from gantry.lowlevel.syscalls import Syscalls
from gantry.lowlevel.syscalls.fake import FakeSyscalls


def test_fake_has_every_seccomp_and_bpf_method_of_the_real_object():
    real = {n for n, _ in inspect.getmembers(Syscalls, inspect.isfunction) if n.startswith(("seccomp_", "bpf_"))}
    fake = {n for n, _ in inspect.getmembers(FakeSyscalls, inspect.isfunction)}
    assert real - fake == set()


def test_seccomp_load_through_the_fake():
    sys = FakeSyscalls()
    skipped = seccomp.load(sys, {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"],
                                 "flags": ["SECCOMP_FILTER_FLAG_LOG"],
                                 "syscalls": [{"names": ["read", "unknown_call"], "action": "SCMP_ACT_ALLOW"}]})
    assert skipped == ["unknown_call"]
    ops = [c[0] for c in sys.calls]
    assert ops[0] == "seccomp_init" and ops[-1] == "seccomp_release"
    assert ("seccomp_rule_add", "read", 0x7FFF0000, ()) in sys.calls
    load = [c for c in sys.calls if c[0] == "seccomp_set_mode_filter"][0]
    assert load[2] == 2   # SECCOMP_FILTER_FLAG_LOG as the kernel's flag


def test_capabilities_through_the_fake():
    sys = FakeSyscalls()
    capabilities.apply(sys, {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]},
                       cap_last=40)
    assert sys.caps == (1 << 5, 1 << 5, 0)


def test_device_filter_through_the_fake(tmp_path):
    sys = FakeSyscalls()
    sys.attached_programs = [7]
    devices_bpf.attach(sys, str(tmp_path), devices.effective_rules([{"allow": False, "access": "rwm"}]))
    assert [c[0] for c in sys.calls] == ["bpf_prog_query", "bpf_prog_load", "bpf_prog_attach",
                                         "bpf_prog_get_fd_by_id", "bpf_prog_detach"]
