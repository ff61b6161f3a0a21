"""Start-up paths of the container init: when gantry-oci clones it straight into its namespaces (parent.direct_flags)
and when stage 1 still does; the fallback when the kernel refuses clone3; rlimits through Syscalls."""
import errno

import pytest
from gantry.lowlevel.process import parent
from gantry.lowlevel.syscalls import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUTS,
    SyscallError,
)
from gantry.lowlevel.syscalls.fake import FakeSyscalls

MANAGER = object()   # direct_flags only asks whether there are cgroups


def ns(*kinds, **paths):
    return [{"type": k} for k in kinds] + [{"type": k, "path": p} for k, p in paths.items()]


COMMON = ns("pid", "network", "ipc", "uts", "mount")


@pytest.mark.parametrize("linux, manager, expected", [
    ({"namespaces": COMMON}, MANAGER, CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS),
    ({"namespaces": ns("pid")}, MANAGER, CLONE_NEWPID),
    ({"namespaces": COMMON}, None, None),                                  # no cgroups to place into
    ({"namespaces": ns("network", "mount")}, MANAGER, None),                # no pid ns: stage 1 is the init
    ({"namespaces": COMMON + ns("user")}, MANAGER, None),                   # id maps between the steps
    ({"namespaces": COMMON + ns("cgroup")}, MANAGER, None),                 # made from inside the cgroups
    ({"namespaces": COMMON + ns("time")}, MANAGER, None),                   # offsets before anyone enters
    ({"namespaces": ns("pid", "mount", network="/proc/1/ns/net")}, MANAGER, None),   # a namespace to join
    ({"namespaces": COMMON, "enterRoot": "/proc/1/root"}, MANAGER, None),
    ({}, MANAGER, None),
])
def test_direct_flags(linux, manager, expected):
    assert parent.direct_flags(linux, manager) == expected


class RefusingClone3(FakeSyscalls):
    def __init__(self, err):
        super().__init__()
        self.err = err

    def clone3(self, flags, cgroup_fd=-1, what=""):
        self._record("clone3", flags, what)
        raise SyscallError(self.err, "clone3")


@pytest.mark.parametrize("err", [errno.ENOSYS, errno.EINVAL, errno.E2BIG, errno.EPERM])
def test_clone_refused_falls_back_to_stage1(tmp_path, err):
    sys_ = RefusingClone3(err)
    assert parent._clone_init(sys_, CLONE_NEWPID, {"unified": str(tmp_path)}) is None
    assert sys_.calls == [("clone3", CLONE_NEWPID, str(tmp_path))]


def test_clone_other_errors_are_raised():
    with pytest.raises(OSError) as e:
        parent._clone_init(RefusingClone3(errno.ENOMEM), CLONE_NEWPID, {"unified": None})
    assert e.value.errno == errno.ENOMEM


def test_rlimits_go_through_syscalls_and_name_the_limit():
    from gantry.lowlevel.process import rlimits
    sys_ = FakeSyscalls()
    rlimits.apply(sys_, [{"type": "RLIMIT_NOFILE", "soft": 1000, "hard": 1024},
                         {"type": "RLIMIT_CORE", "soft": 2 ** 64 - 1, "hard": 2 ** 64 - 1}])
    assert sys_.calls == [("setrlimit", 7, 1000, 1024), ("setrlimit", 4, 2 ** 64 - 1, 2 ** 64 - 1)]

    class Refusing(FakeSyscalls):
        def setrlimit(self, resource, soft, hard, what=""):
            raise SyscallError(errno.EPERM, "setrlimit %s" % what)
    with pytest.raises(OSError, match="setrlimit RLIMIT_NOFILE 1:2: Operation not permitted "
                                      r"\(raising a hard limit needs CAP_SYS_RESOURCE\)"):
        rlimits.apply(Refusing(), [{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 2}])
