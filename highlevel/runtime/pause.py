"""The pod's pause process, built in: a 283-byte static x86-64 ELF written from Python.

A pod that shares one PID namespace between its containers (PodSandboxConfig
namespace_options.pid = POD) needs a pid 1 that is not one of its containers:
it reaps the orphans the containers leave, and holds the namespace while
containers come and go.  Kubernetes ships that as the pause image; gantryd
needs no image from a registry for it, so it writes the program itself into a
tiny read-only rootfs (``write_rootfs``) and runs it as the pod's infra
container through the shim, like any container.

What the program does (assembled from this listing; all of it is below)::

    rt_sigaction(SIGCHLD, {SIG_IGN}, NULL, 8)     exited children are reaped by the kernel
    rt_sigaction(SIGTERM, {bye, SA_RESTORER}, ...)  SIGTERM and SIGINT: exit(0)
    rt_sigaction(SIGINT,  {bye, SA_RESTORER}, ...)
    wait: pause(); jmp wait
    bye:  exit(0)

Other architectures: ``elf()`` raises Unimplemented, and a pod asking for a
shared PID namespace there gets that error (write an image-based infra then).
"""
import os
import platform
import struct

from .. import errors

BASE = 0x400000
HEADERS = 64 + 56                     # ELF header + one program header; the code follows them
SA_RESTORER = 0x04000000
BYE_OFFSET = 0x5A                     # offset of "bye" in the code
_CODE = bytes.fromhex(
    "b80d000000"          # mov eax, 13           rt_sigaction
    "bf11000000"          # mov edi, 17           SIGCHLD
    "488d3552000000"      # lea rsi, [rip+ign]
    "31d2"                # xor edx, edx
    "41ba08000000"        # mov r10d, 8
    "0f05"                # syscall
    "b80d000000"          # mov eax, 13
    "bf0f000000"          # mov edi, 15           SIGTERM
    "488d3557000000"      # lea rsi, [rip+quit]
    "31d2" "41ba08000000" "0f05"
    "b80d000000"          # mov eax, 13
    "bf02000000"          # mov edi, 2            SIGINT
    "488d353c000000"      # lea rsi, [rip+quit]
    "31d2" "41ba08000000" "0f05"
    "b822000000"          # wait: mov eax, 34     pause
    "0f05"                # syscall
    "ebf7"                # jmp wait
    "b83c000000"          # bye: mov eax, 60      exit
    "31ff"                # xor edi, edi
    "0f05"                # syscall
)
PROGRAM = "/pause"


def elf(machine=None):
    """The program's bytes for this machine."""
    machine = machine or platform.machine()
    if machine not in ("x86_64", "amd64"):
        raise errors.Unimplemented("pod pause process: no built-in program for %s; a pod sharing its PID "
                                   "namespace cannot be made on this architecture" % machine)
    entry = BASE + HEADERS
    bye = entry + BYE_OFFSET
    code = _CODE + struct.pack("<4Q", 1, 0, 0, 0) + struct.pack("<4Q", bye, SA_RESTORER, bye, 0)
    size = HEADERS + len(code)
    header = struct.pack("<4sBBBBB7sHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, bytes(7),
                         2, 0x3E, 1, entry, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    program_header = struct.pack("<IIQQQQQQ", 1, 5, 0, BASE, BASE, size, size, 0x1000)
    return header + program_header + code


def write_rootfs(path):
    """A rootfs holding only the pause program (and the mount points a runtime needs)."""
    os.makedirs(path, mode=0o755, exist_ok=True)
    for d in ("proc", "dev", "sys", "etc"):
        os.makedirs(os.path.join(path, d), mode=0o755, exist_ok=True)
    target = os.path.join(path, PROGRAM.lstrip("/"))
    tmp = target + ".tmp"
    with open(tmp, "wb") as f:
        f.write(elf())
    os.chmod(tmp, 0o555)
    os.rename(tmp, target)
    return path
