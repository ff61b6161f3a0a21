"""OCI seccomp -> libseccomp calls: translation tables, validation errors, call order."""
import errno
import struct

import pytest
from gantry.lowlevel import seccomp
from gantry.lowlevel.seccomp import SeccompError

ALLOW, KILL, KILL_PROCESS, TRAP, LOG = 0x7FFF0000, 0, 0x80000000, 0x30000, 0x7FFC0000


@pytest.mark.parametrize("name,errno_ret,value", [
    ("SCMP_ACT_ALLOW", None, ALLOW),
    ("SCMP_ACT_KILL", None, KILL),
    ("SCMP_ACT_KILL_THREAD", None, KILL),
    ("SCMP_ACT_KILL_PROCESS", None, KILL_PROCESS),
    ("SCMP_ACT_TRAP", None, TRAP),
    ("SCMP_ACT_LOG", None, LOG),
    ("SCMP_ACT_ERRNO", None, 0x50000 | errno.EPERM),
    ("SCMP_ACT_ERRNO", errno.ENOSYS, 0x50000 | errno.ENOSYS),
    ("SCMP_ACT_ERRNO", 0, 0x50000),
    ("SCMP_ACT_TRACE", None, 0x7FF00000 | errno.EPERM),
    ("SCMP_ACT_TRACE", 7, 0x7FF00007),
])
def test_actions(name, errno_ret, value):
    assert seccomp.action_value(name, errno_ret, "x") == value


def test_plan_translates_everything():
    config = {
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": errno.ENOSYS,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0x7E020000, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"},
                      {"index": 1, "value": 5, "op": "SCMP_CMP_LT"}]},
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOSYS},   # == default: skipped
            {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EACCES},
        ]}
    default, arches, attrs, rules = seccomp.plan(config)
    assert default == 0x50000 | errno.ENOSYS
    assert arches == ["x86_64", "x86", "x32"]
    assert attrs == [(seccomp.ATTR_CTL_TSYNC, 1), (seccomp.ATTR_CTL_LOG, 1), (seccomp.ATTR_CTL_SSB, 1)]
    assert rules == [
        (ALLOW, "read", ()), (ALLOW, "write", ()),
        # same index twice: alternatives, one rule each
        (ALLOW, "personality", ((0, 4, 0, 0),)), (ALLOW, "personality", ((0, 4, 8, 0),)),
        # different indexes: one rule, all must hold; MASKED_EQ carries mask and value
        (ALLOW, "clone", ((0, 7, 0x7E020000, 0), (1, 2, 5, 0))),
        (0x50000 | errno.EACCES, "chmod", ()),
    ]


@pytest.mark.parametrize("op,number", sorted(seccomp.OPERATORS.items()))
def test_operators(op, number):
    _, _, _, rules = seccomp.plan({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 9, "valueTwo": 3, "op": op}]}]})
    assert rules[0][2] == ((1, number, 9, 3 if op == "SCMP_CMP_MASKED_EQ" else 0),)


@pytest.mark.parametrize("config,match", [
    ([], "must be an object"),
    ({}, "defaultAction: required"),
    ({"defaultAction": "SCMP_ACT_BOGUS"}, "unknown action 'SCMP_ACT_BOGUS'"),
    ({"defaultAction": "SCMP_ACT_NOTIFY"}, "seccomp agent"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}, "errnoRet is only valid"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}, "unsigned 16-bit"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]}, "unknown architecture"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_BOGUS"]}, "unknown flag"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NEW_LISTENER"]}, "not supported"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_KILL"}]}, "names: must be"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_KILL"}]}, "names"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"]}]}, r"syscalls\[0\].action: unknown"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}, "agent"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_KILL",
                                                        "errnoRet": 1}]}, "errnoRet is only valid"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_KILL",
                                                        "args": [{"index": 6, "op": "SCMP_CMP_EQ"}]}]}, "index"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_KILL",
                                                        "args": [{"index": 0, "op": "SCMP_CMP_LIKE"}]}]}, "operator"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_KILL",
                                                        "args": [{"index": 0, "op": "SCMP_CMP_EQ", "value": -1}]}]},
     "value"),
])
def test_validation_errors(config, match):
    with pytest.raises(SeccompError, match=match):
        seccomp.validate(config)


class Recorder:
    def __init__(self, unknown=()):
        self.calls = []
        self.unknown = set(unknown)

    def __getattr__(self, name):
        def record(*args, **kwargs):
            self.calls.append((name,) + args)
            if name == "seccomp_init":
                return "ctx"
            if name == "seccomp_syscall_resolve_name":
                return -1 if args[0] in self.unknown else 100 + len(args[0])
            if name == "seccomp_syscall_resolve_name_arch":
                return -1 if args[1] in self.unknown else 100 + len(args[1])
            if name == "seccomp_arch_native_name":
                return "x86_64"
            if name == "seccomp_export_program":
                return PROGRAM
        return record


def test_load_call_order_and_unknown_syscalls():
    sys = Recorder(unknown={"nosuchcall"})
    skipped = seccomp.load(sys, {"defaultAction": "SCMP_ACT_KILL_PROCESS", "architectures": ["SCMP_ARCH_X86"],
                                 "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
                                 "syscalls": [{"names": ["nosuchcall", "read"], "action": "SCMP_ACT_ALLOW"}]})
    assert skipped == ["nosuchcall"]
    names = [c[0] for c in sys.calls]
    assert names[:8] == ["seccomp_init", "seccomp_attr_set", "seccomp_attr_set", "seccomp_arch_add",
                         "seccomp_attr_set", "seccomp_syscall_resolve_name", "seccomp_syscall_resolve_name",
                         "seccomp_rule_add"]
    assert sys.calls[0] == ("seccomp_init", KILL_PROCESS)
    assert sys.calls[1] == ("seccomp_attr_set", "ctx", seccomp.ATTR_CTL_NNP, 0)
    assert sys.calls[3] == ("seccomp_arch_add", "ctx", "x86")
    assert sys.calls[7] == ("seccomp_rule_add", "ctx", ALLOW, 104, ())
    # a non-allow default: libseccomp's program goes in behind the ENOSYS stub, with the kernel's TSYNC flag
    assert names[-3:] == ["seccomp_export_program", "seccomp_set_mode_filter", "seccomp_release"]
    program, flags = sys.calls[-2][1:]
    assert program.endswith(PROGRAM) and flags == 1
    assert "seccomp_load" not in names


def test_allow_default_uses_libseccomp_load():
    sys = Recorder()
    seccomp.load(sys, {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]})
    assert [c[0] for c in sys.calls][-2:] == ["seccomp_load", "seccomp_release"]


# ------------------------------------------------------- the ENOSYS stub, interpreted
AUDIT_X86_64, AUDIT_X86 = 0xC000003E, 0x40000003
RET_ALLOW_MARK = 0x7FFF0000
PROGRAM = struct.pack("<HBBI", 0x06, 0, 0, RET_ALLOW_MARK)   # stands for libseccomp's program: "ret ALLOW"


def run_cbpf(prog, arch, nr):
    insns = [struct.unpack("<HBBI", prog[i:i + 8]) for i in range(0, len(prog), 8)]
    data = struct.pack("<iI", nr, arch)
    acc, pc = 0, 0
    for _ in range(1000):
        op, jt, jf, k = insns[pc]
        pc += 1
        if op == 0x20:
            acc = struct.unpack_from("<I", data, k)[0]
        elif op == 0x15:
            pc += jt if acc == k else jf
        elif op == 0x25:
            pc += jt if acc > k else jf
        elif op == 0x45:
            pc += jt if acc & k else jf
        elif op == 0x05:
            pc += k
        elif op == 0x06:
            return k
        else:
            raise AssertionError("opcode %#x" % op)
    raise AssertionError("no return")


@pytest.mark.parametrize("arch,nr,expected", [
    (AUDIT_X86_64, 0, RET_ALLOW_MARK),
    (AUDIT_X86_64, 435, RET_ALLOW_MARK),
    (AUDIT_X86_64, 436, seccomp.RET_ENOSYS),
    (AUDIT_X86_64, 0x40000000 | 300, RET_ALLOW_MARK),
    (AUDIT_X86_64, 0x40000000 | 301, seccomp.RET_ENOSYS),
    (AUDIT_X86, 200, RET_ALLOW_MARK),
    (AUDIT_X86, 201, seccomp.RET_ENOSYS),
    (0xC00000B7, 999, RET_ALLOW_MARK),      # an arch without a stub block: the program decides
])
def test_enosys_stub(arch, nr, expected):
    prog = seccomp.enosys_stub({"x86_64": 435, "x86": 200, "x32": 0x40000000 | 300}) + PROGRAM
    assert run_cbpf(prog, arch, nr) == expected


def test_enosys_stub_leaves_x32_to_the_program_when_x32_is_not_filtered():
    prog = seccomp.enosys_stub({"x86_64": 10}) + PROGRAM
    assert run_cbpf(prog, AUDIT_X86_64, 0x40000000 | 5) == RET_ALLOW_MARK
    assert run_cbpf(prog, AUDIT_X86_64, 11) == seccomp.RET_ENOSYS


def test_release_even_when_loading_fails():
    class Failing(Recorder):
        def seccomp_load(self, ctx):
            raise PermissionError(1, "seccomp_load")
    sys = Failing()
    with pytest.raises(PermissionError):
        seccomp.load(sys, {"defaultAction": "SCMP_ACT_ALLOW"})
    assert sys.calls[-1] == ("seccomp_release", "ctx")


def test_features_lists_what_load_accepts():
    class Known:
        def seccomp_arch_known(self, name):
            return name in ("x86_64", "x86", "x32", "aarch64")
    doc = seccomp.features(Known())
    assert doc["enabled"] is True
    assert "SCMP_ACT_NOTIFY" not in doc["actions"] and "SCMP_ACT_KILL_PROCESS" in doc["actions"]
    assert doc["archs"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"]
    assert "SECCOMP_FILTER_FLAG_NEW_LISTENER" in doc["knownFlags"]
    assert doc["supportedFlags"] == ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                     "SECCOMP_FILTER_FLAG_TSYNC"]
    for action in doc["actions"]:
        seccomp.validate({"defaultAction": action})
