"""The RuntimeDefault seccomp profile, as data (pure).

    profile_for(capabilities, machine="x86_64") -> OCI ``linux.seccomp`` dict

Like the default profile Docker and containerd ship: every syscall not listed
fails with EPERM (``SCMP_ACT_ERRNO``); the common syscalls are allowed; a few
are allowed only when the container holds the capability that makes them
meaningful (``mount``, ``unshare``, ``setns``... with CAP_SYS_ADMIN; ``ptrace``
stays allowed as on kernels >= 4.8, where seccomp can no longer be bypassed
through it).  Without CAP_SYS_ADMIN, ``clone`` is allowed only without
namespace flags and ``clone3`` answers ENOSYS so that libcs fall back to
``clone``.  ``socket`` is allowed for every address family but AF_ALG and
AF_VSOCK; ``personality`` only for the harmless personas.
"""
import errno

ALLOW = "SCMP_ACT_ALLOW"
ERRNO = "SCMP_ACT_ERRNO"

# Allowed for every container.  A name unknown to the running architecture is
# skipped by the runtime (gantry-oci and runc both do), so 32-bit variants
# can stay in the list.
ALLOWED = """
    _llseek _newselect accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir
    chmod chown chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
    clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range
    creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2
    epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2
    fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32
    fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat
    fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64
    futex_wait futex_waitv futex_wake futimesat get_robust_list get_thread_area getcpu getcwd
    getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32
    getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid getresgid32
    getresuid getresuid32 getrlimit getrusage getsid getsockname getsockopt gettid gettimeofday
    getuid getuid32 getxattr getxattrat inotify_add_watch inotify_init inotify_init1
    inotify_rm_watch io_cancel io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_setup
    io_submit ioctl ioprio_get ioprio_set ipc kill landlock_add_rule landlock_create_ruleset
    landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listmount listxattr
    listxattrat llistxattr lremovexattr lseek lsetxattr lsm_get_self_attr lsm_list_modules
    lsm_set_self_attr lstat lstat64 madvise map_shadow_stack membarrier memfd_create memfd_secret
    mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr
    mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64
    mq_unlink mremap mseal msgctl msgget msgrcv msgsnd msync munlock munlockall munmap
    name_to_handle_at nanosleep newfstatat open openat openat2 pause pidfd_open pidfd_send_signal
    pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv
    preadv2 prlimit64 process_mrelease process_vm_readv process_vm_writev pselect6 pselect6_time64
    ptrace pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg
    recvmmsg_time64 recvmsg remap_file_pages removexattr removexattrat rename renameat renameat2
    restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo
    rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo
    sched_get_priority_max sched_get_priority_min sched_getaffinity sched_getattr sched_getparam
    sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity
    sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl semget semop
    semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto set_robust_list
    set_thread_area set_tid_address setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32
    setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid setresgid32
    setresuid setresuid32 setreuid setreuid32 setrlimit setsid setsockopt setuid setuid32 setxattr
    setxattrat shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask
    sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statmount statx symlink
    symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete
    timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create
    timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate
    truncate64 ugetrlimit umask uname unlink unlinkat uretprobe utime utimensat utimensat_time64
    utimes vfork vmsplice wait4 waitid waitpid write writev
""".split()

# Allowed only when the container's bounding set holds the capability.
BY_CAPABILITY = {
    "CAP_DAC_READ_SEARCH": ["open_by_handle_at"],
    "CAP_SYS_ADMIN": [
        "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
        "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open",
        "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount",
        "umount2", "unshare",
    ],
    "CAP_SYS_BOOT": ["reboot"],
    "CAP_SYS_CHROOT": ["chroot"],
    "CAP_SYS_MODULE": ["delete_module", "init_module", "finit_module"],
    "CAP_SYS_PACCT": ["acct"],
    "CAP_SYS_PTRACE": ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"],
    "CAP_SYS_RAWIO": ["iopl", "ioperm"],
    "CAP_SYS_TIME": ["settimeofday", "stime", "clock_settime", "clock_settime64"],
    "CAP_SYS_TTY_CONFIG": ["vhangup"],
    "CAP_SYS_NICE": ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"],
    "CAP_SYSLOG": ["syslog"],
    "CAP_BPF": ["bpf"],
    "CAP_PERFMON": ["perf_event_open"],
}

# Per machine (os.uname().machine): the seccomp architectures a filter covers and
# the syscalls only that machine has.
MACHINES = {
    "x86_64": (["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], ["arch_prctl", "modify_ldt"]),
    "aarch64": (["SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64"],
                ["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush",
                 "set_tls"]),
    "s390x": (["SCMP_ARCH_S390", "SCMP_ARCH_S390X"], ["s390_pci_mmio_read", "s390_pci_mmio_write",
                                                      "s390_runtime_instr"]),
    "ppc64le": (["SCMP_ARCH_PPC64LE"], ["sync_file_range2", "swapcontext"]),
    "riscv64": (["SCMP_ARCH_RISCV64"], ["riscv_flush_icache", "riscv_hwprobe"]),
}

AF_ALG = 38
AF_VSOCK = 40
# personality(2) values a container may set: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, query
PERSONAS = [0x0, 0x0008, 0x20000, 0x20008, 0xFFFFFFFF]
# clone flags that create namespaces: CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000


def _rule(names, action=ALLOW, args=None, errno_ret=None):
    rule = {"names": list(names), "action": action}
    if args:
        rule["args"] = args
    if errno_ret is not None:
        rule["errnoRet"] = errno_ret
    return rule


def _arg(index, op, value, value_two=None):
    arg = {"index": index, "value": value, "op": op}
    if value_two is not None:
        arg["valueTwo"] = value_two
    return arg


def profile_for(capabilities, machine="x86_64"):
    """The RuntimeDefault ``linux.seccomp`` for a process whose bounding set is ``capabilities``."""
    caps = set(capabilities or ())
    if machine not in MACHINES:
        raise ValueError("seccomp RuntimeDefault: machine %r is not supported" % machine)
    architectures, machine_calls = MACHINES[machine]
    rules = [_rule(ALLOWED + machine_calls)]
    # Each socket rule tests argument 0 once: three ranges leave out exactly AF_ALG and AF_VSOCK
    # (conditions on one argument within a rule are alternatives for runc and gantry-oci).
    rules.append(_rule(["socket"], args=[_arg(0, "SCMP_CMP_LT", AF_ALG)]))
    rules.append(_rule(["socket"], args=[_arg(0, "SCMP_CMP_EQ", AF_ALG + 1)]))
    rules.append(_rule(["socket"], args=[_arg(0, "SCMP_CMP_GT", AF_VSOCK)]))
    for persona in PERSONAS:
        rules.append(_rule(["personality"], args=[_arg(0, "SCMP_CMP_EQ", persona)]))
    for cap, names in BY_CAPABILITY.items():
        if cap in caps:
            rules.append(_rule(names))
    if "CAP_SYS_ADMIN" not in caps:
        index = 1 if machine == "s390x" else 0       # s390's clone takes the flags second
        rules.append(_rule(["clone"], args=[_arg(index, "SCMP_CMP_MASKED_EQ", CLONE_NAMESPACE_FLAGS, 0)]))
        rules.append(_rule(["clone3"], action=ERRNO, errno_ret=errno.ENOSYS))
    return {"defaultAction": ERRNO, "architectures": list(architectures), "syscalls": rules}
