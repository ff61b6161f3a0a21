"""The cgroup v2 device filter: an eBPF program built from the device rules.

cgroup v2 has no devices.allow; the kernel runs a BPF_PROG_TYPE_CGROUP_DEVICE
program attached to the cgroup for every device open and mknod.  Its context
is struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } with
access_type = access << 16 | type (type 1 block, 2 char; access 1 mknod,
2 read, 4 write).  It returns 1 to allow, 0 to deny.

``program(rules)`` is pure: rules (from devices.effective_rules) in, the
instruction bytes out.  Rules are tested from the last to the first, so the
last matching rule decides, and nothing matching means deny.  A rule that
matches everything ends the program early (rules before it cannot matter).

``attach(sys, cgroup_dir, rules)`` loads it and attaches it with
BPF_F_ALLOW_MULTI, then detaches the programs that were attached before (so
``update`` swaps the filter without a window where no filter applies).
"""
import struct

from .devices import WILDCARD

# instruction classes/opcodes used
LDXW = 0x61        # BPF_LDX | BPF_MEM | BPF_W      dst = *(u32 *)(src + off)
AND32_K = 0x54     # BPF_ALU | BPF_AND | BPF_K      dst &= imm (32-bit)
RSH32_K = 0x74     # BPF_ALU | BPF_RSH | BPF_K
MOV32_X = 0xbc     # BPF_ALU | BPF_MOV | BPF_X      dst = src (32-bit)
MOV64_K = 0xb7     # BPF_ALU64 | BPF_MOV | BPF_K    dst = imm
JNE_K = 0x55       # BPF_JMP | BPF_JNE | BPF_K      if dst != imm: pc += off
EXIT = 0x95        # BPF_JMP | BPF_EXIT

DEV_BLOCK, DEV_CHAR = 1, 2
ACC_MKNOD, ACC_READ, ACC_WRITE = 1, 2, 4
_TYPES = {"b": DEV_BLOCK, "c": DEV_CHAR}
_ACCESS = {"m": ACC_MKNOD, "r": ACC_READ, "w": ACC_WRITE}

BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 2
LICENSE = b"Apache-2.0"


def insn(code, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def _prologue():
    return [insn(LDXW, 2, 1, 0), insn(AND32_K, 2, imm=0xFFFF),      # r2 = type
            insn(LDXW, 3, 1, 0), insn(RSH32_K, 3, imm=16),          # r3 = access
            insn(LDXW, 4, 1, 4),                                     # r4 = major
            insn(LDXW, 5, 1, 8)]                                     # r5 = minor


def _block(rule):
    """Instructions for one rule; the jumps (JNE, off to be filled) skip to the next block."""
    allow, kind, major, minor, access = rule
    body = []
    if kind != "a":
        body.append((JNE_K, 2, _TYPES[kind]))
    mask = sum(_ACCESS[c] for c in access)
    if mask != 7:
        body.append(("mov", 1, 3))
        body.append((AND32_K, 1, ~mask & 7))
        body.append((JNE_K, 1, 0))
    if major != WILDCARD:
        body.append((JNE_K, 4, major))
    if minor != WILDCARD:
        body.append((JNE_K, 5, minor))
    out = []
    length = len(body) + 2
    for i, (code, reg, imm) in enumerate(body):
        if code == "mov":
            out.append(insn(MOV32_X, reg, 3))
        elif code == JNE_K:
            out.append(insn(JNE_K, reg, off=length - i - 1, imm=imm))
        else:
            out.append(insn(code, reg, imm=imm))
    out.append(insn(MOV64_K, 0, imm=1 if allow else 0))
    out.append(insn(EXIT))
    return out, not body


def program(rules):
    """Instruction bytes of the device filter for ``rules`` (last match wins, default deny)."""
    code = _prologue()
    for rule in reversed(list(rules)):
        block, matches_all = _block(rule)
        code += block
        if matches_all:
            return b"".join(code)
    code += [insn(MOV64_K, 0, imm=0), insn(EXIT)]
    return b"".join(code)


def evaluate(rules, kind, major, minor, access):
    """What the program decides for one access (reference semantics for tests): True = allow."""
    for allow, r_kind, r_major, r_minor, r_access in reversed(list(rules)):
        if r_kind != "a" and r_kind != kind:
            continue
        if set(access) - set(r_access):
            continue
        if r_major != WILDCARD and r_major != major:
            continue
        if r_minor != WILDCARD and r_minor != minor:
            continue
        return allow
    return False


def attach(sys, cgroup_dir, rules):
    """Load the filter for ``rules`` and make it the only device program on ``cgroup_dir``."""
    import os
    insns = program(rules)
    fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        old = sys.bpf_prog_query(fd, BPF_CGROUP_DEVICE)
        prog = sys.bpf_prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, insns, LICENSE)
        try:
            sys.bpf_prog_attach(fd, prog, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI)
        finally:
            os.close(prog)
        for prog_id in old:
            old_fd = sys.bpf_prog_get_fd_by_id(prog_id)
            try:
                sys.bpf_prog_detach(fd, old_fd, BPF_CGROUP_DEVICE)
            finally:
                os.close(old_fd)
    finally:
        os.close(fd)
