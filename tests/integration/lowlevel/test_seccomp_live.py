"""Seccomp filters loaded in a child process (a fresh python, so the test
process stays unfiltered): denied syscalls return the configured errno,
argument conditions select, KILL_PROCESS and TRAP end the child with SIGSYS."""
import errno
import json
import signal
import subprocess
import sys

import pytest

pytestmark = pytest.mark.root

CHILD = r"""
import json, os, sys
from gantry.lowlevel import seccomp
from gantry.lowlevel.syscalls import get
config = json.loads(sys.argv[1])
skipped = seccomp.load(get(), config)
results = {"skipped": skipped}
def attempt(name, fn):
    try:
        fn()
        results[name] = "ok"
    except OSError as err:
        results[name] = err.errno
attempt("getpgid0", lambda: os.getpgid(0))
attempt("getpgid_self", lambda: os.getpgid(os.getpid()))
attempt("getpgid_masked", lambda: os.getpgid(0x1007))
attempt("mkdir", lambda: os.mkdir(sys.argv[2] + "/d"))
attempt("chmod", lambda: os.chmod(sys.argv[2], 0o755))
attempt("pidfd_open", lambda: os.close(os.pidfd_open(os.getpid())))
with open("/proc/self/status") as f:
    status = dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)
results["Seccomp"] = status["Seccomp"].strip()
results["NoNewPrivs"] = status["NoNewPrivs"].strip()
sys.stdout.write(json.dumps(results))
sys.stdout.flush()
os.getppid()
"""


def run_child(config, tmp_path):
    return subprocess.run([sys.executable, "-c", CHILD, json.dumps(config), str(tmp_path)],
                          capture_output=True, text=True, timeout=60)


def test_errno_rules_with_argument_conditions(tmp_path):
    config = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"],
        "syscalls": [
            {"names": ["chmod", "fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EROFS},
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EBADE,
             "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EBADR,
             "args": [{"index": 0, "value": 0xFF, "valueTwo": 0x07, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["no_such_syscall_here"], "action": "SCMP_ACT_ERRNO"},
        ]}
    run = run_child(config, tmp_path)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["chmod"] == errno.EROFS
    assert out["mkdir"] == errno.EPERM
    assert out["getpgid0"] == errno.EBADE
    assert out["getpgid_masked"] == errno.EBADR
    assert out["getpgid_self"] == "ok"
    assert out["skipped"] == ["no_such_syscall_here"]
    assert out["Seccomp"] == "2"
    assert out["NoNewPrivs"] == "0"     # libseccomp's default NNP is switched off


def test_default_errno_with_allow_list(tmp_path):
    # Allow what python needs; everything else (here: mkdir) gets defaultErrnoRet.
    config = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": errno.ENOSYS,
              "syscalls": [{"names": ALLOWED, "action": "SCMP_ACT_ALLOW"}]}
    run = run_child(config, tmp_path)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["mkdir"] == errno.ENOSYS and out["chmod"] == "ok"


ALLOWED = ["read", "write", "openat", "open", "close", "fstat", "newfstatat", "lseek", "mmap", "munmap",
               "brk", "exit_group", "exit", "getpgid", "getpid", "getppid", "rt_sigaction", "rt_sigprocmask",
               "ioctl", "futex", "chmod", "fchmodat", "madvise", "mprotect", "statx", "getdents64", "readlink",
           "fcntl", "sigaltstack", "gettid", "getrandom", "clock_gettime", "set_robust_list"]


def test_syscalls_newer_than_the_profile_get_enosys(tmp_path):
    # the profile names nothing above statx (332): pidfd_open (434) is newer than it -> ENOSYS;
    # mkdir (83) is older and not allowed -> the default EPERM
    config = {"defaultAction": "SCMP_ACT_ERRNO",
              "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
              "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
              "syscalls": [{"names": ALLOWED, "action": "SCMP_ACT_ALLOW"}]}
    run = run_child(config, tmp_path)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["mkdir"] == errno.EPERM and out["pidfd_open"] == errno.ENOSYS and out["chmod"] == "ok"


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP", "SCMP_ACT_KILL"])
def test_fatal_actions_end_the_child(tmp_path, action):
    config = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getppid"], "action": action}]}
    run = run_child(config, tmp_path)
    assert json.loads(run.stdout)["Seccomp"] == "2"
    assert run.returncode == -signal.SIGSYS   # SCMP_ACT_KILL kills the thread: the only one here


def test_invalid_config_is_refused_before_loading(tmp_path):
    run = run_child({"defaultAction": "SCMP_ACT_NOTIFY"}, tmp_path)
    assert run.returncode == 1 and "seccomp agent" in run.stderr
