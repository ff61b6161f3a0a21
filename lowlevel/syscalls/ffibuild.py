"""The only place where gantry-oci declares C functions (cffi, ABI out-of-line).

Regenerate the committed module after editing a section:

    .venv/bin/python -m gantry.lowlevel.syscalls.ffibuild

That writes ``_ffi.py`` beside this file.  At run time only ``_ffi.py`` is
imported (no C parsing, no compiler): the declarations were parsed here, once.
tests/unit/lowlevel/test_syscalls.py fails when ``_ffi.py`` is stale.

Sections are separated by banner comments; add new ones at the marked place.
"""
import os

import cffi

# ---------------------------------------------------------------- libc: mounts
MOUNTS = """
int mount(const char *source, const char *target, const char *filesystemtype,
          unsigned long mountflags, const void *data);
int umount2(const char *target, int flags);
int chroot(const char *path);
struct mount_attr { uint64_t attr_set; uint64_t attr_clr; uint64_t propagation; uint64_t userns_fd; };
"""

# ------------------------------------------------------- libc: namespaces, ids
NAMESPACES = """
int unshare(int flags);
int setns(int fd, int nstype);
int sethostname(const char *name, size_t len);
int setdomainname(const char *name, size_t len);
int setgroups(size_t size, const uint32_t *list);
long syscall(long number, ...);
"""

# ------------------------------------------------ libc: sockets (loopback up)
NETWORK = """
struct ifreq_flags { char name[16]; short flags; char pad[22]; };
int socket(int domain, int type, int protocol);
int ioctl(int fd, unsigned long request, ...);
int close(int fd);
"""

# ------------------------------------------------------- libc: process control
PROCESS = """
int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5);
int mknod(const char *pathname, uint32_t mode, uint64_t dev);
int personality(unsigned long persona);
struct rlimit64_t { uint64_t cur; uint64_t max; };
int setrlimit(int resource, const struct rlimit64_t *rlim);
"""

# ------------------------------------------------- libc: capabilities (raw API)
CAPABILITIES = """
typedef struct { uint32_t version; int pid; } cap_header_t;
typedef struct { uint32_t effective; uint32_t permitted; uint32_t inheritable; } cap_data_t;
int capget(cap_header_t *hdrp, cap_data_t *datap);
int capset(cap_header_t *hdrp, const cap_data_t *datap);
"""

# ------------------------------------------------------------------- seccomp
# (helper B) libseccomp 2.5 API, loaded lazily with ffi.dlopen("libseccomp.so.2")
# by filters.py only when a config has linux.seccomp.  Enums are passed as int.
SECCOMP = """
typedef void *scmp_filter_ctx;
struct scmp_arg_cmp { unsigned int arg; int op; uint64_t datum_a; uint64_t datum_b; };
struct scmp_version { unsigned int major; unsigned int minor; unsigned int micro; };
const struct scmp_version *seccomp_version(void);
scmp_filter_ctx seccomp_init(uint32_t def_action);
void seccomp_release(scmp_filter_ctx ctx);
uint32_t seccomp_arch_resolve_name(const char *arch_name);
uint32_t seccomp_arch_native(void);
int seccomp_arch_add(scmp_filter_ctx ctx, uint32_t arch_token);
int seccomp_attr_set(scmp_filter_ctx ctx, int attr, uint32_t value);
int seccomp_syscall_resolve_name(const char *name);
int seccomp_syscall_resolve_name_arch(uint32_t arch_token, const char *name);
struct sock_fprog { unsigned short len; void *filter; };
int seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action, int syscall,
                           unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array);
int seccomp_load(const scmp_filter_ctx ctx);
int seccomp_export_bpf(const scmp_filter_ctx ctx, int fd);
"""

# ------------------------------------------------------------------- bpf
# (helper B) bpf(2) attributes for the cgroup v2 device program: the parts of
# union bpf_attr that BPF_PROG_LOAD, BPF_PROG_ATTACH/DETACH, BPF_PROG_QUERY and
# BPF_PROG_GET_FD_BY_ID read.  Called through syscall(SYS_bpf, cmd, &attr, size).
BPF = """
struct bpf_load_attr { uint32_t prog_type; uint32_t insn_cnt; uint64_t insns; uint64_t license;
                       uint32_t log_level; uint32_t log_size; uint64_t log_buf; uint32_t kern_version;
                       uint32_t prog_flags; char prog_name[16]; uint32_t prog_ifindex;
                       uint32_t expected_attach_type; };
struct bpf_attach_attr { uint32_t target_fd; uint32_t attach_bpf_fd; uint32_t attach_type;
                         uint32_t attach_flags; uint32_t replace_bpf_fd; };
struct bpf_query_attr { uint32_t target_fd; uint32_t attach_type; uint32_t query_flags;
                        uint32_t attach_flags; uint64_t prog_ids; uint32_t prog_cnt; };
struct bpf_id_attr { uint32_t prog_id; uint32_t next_id; uint32_t open_flags; };
"""

# ------------------------------------------------------ add new sections here

SECTIONS = (MOUNTS, NAMESPACES, NETWORK, PROCESS, CAPABILITIES, SECCOMP, BPF)
MODULE = "_ffi"
OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), MODULE + ".py")


def build_ffi():
    ffi = cffi.FFI()
    ffi.cdef("\n".join(SECTIONS))
    ffi.set_source(MODULE, None)
    return ffi


def generated_source():
    """Text of the out-of-line module for the current declarations."""
    import io
    buf = io.StringIO()
    build_ffi().emit_python_code(buf)
    return buf.getvalue()


def main():
    with open(OUTPUT, "w") as f:
        f.write(generated_source())
    print("wrote", OUTPUT)


if __name__ == "__main__":
    main()
