"""The container's root filesystem: mounts, /dev, pivot_root, masked and read-only paths.

Runs inside the new mount namespace, in two halves around the createContainer
hooks:  ``prepare()`` (host paths visible: bind sources, the rootfs) and
``finish()`` (after pivot_root: everything is a container path).  Every mount
destination is resolved inside the rootfs without following a symlink out
(paths.secure_join), then opened O_PATH|O_NOFOLLOW and mounted through
/proc/self/fd/N, so a symlink swapped in later cannot redirect the mount.
"""
import os
import stat

from . import mountopts
from .paths import secure_join, within
from .syscalls import (
    AT_EMPTY_PATH,
    AT_RECURSIVE,
    MNT_DETACH,
    MS_BIND,
    MS_MOVE,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    MS_SLAVE,
)

DEFAULT_DEVICES = (  # path, major, minor (character devices, mode 0666)
    ("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7),
    ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0),
)
DEV_SYMLINKS = (("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"),
                ("/proc/self/fd/1", "/dev/stdout"), ("/proc/self/fd/2", "/dev/stderr"))
# statvfs f_flag bits that a bind remount must keep (locked in a user namespace)
_LOCKED = {1: MS_RDONLY, 2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 1024: 0x400, 2048: 0x800, 4096: 0x200000}
_BIND_KEEP = MS_NOSUID | MS_NODEV | MS_NOEXEC


class MountContext:
    """What the mount steps need to know besides the config."""

    def __init__(self, rootfs, bundle, userns=False, cgroup_view=None, cgroupns=False):
        self.rootfs = rootfs
        self.bundle = bundle
        self.userns = userns
        # () -> {hierarchy mount dir: path of the container in it}; called once the init is in its cgroups
        self.cgroup_view = cgroup_view or dict
        self.cgroupns = cgroupns


def locked_flags(path):
    f = os.statvfs(path).f_flag
    flags = 0
    for bit, ms in _LOCKED.items():
        if f & bit:
            flags |= ms
    return flags


def open_inside(rootfs, host_path):
    """O_PATH fd of host_path, checked to be inside rootfs; returns (fd, /proc/self/fd/N)."""
    fd = os.open(host_path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    real = os.readlink("/proc/self/fd/%d" % fd)
    if not within(rootfs, real):
        os.close(fd)
        raise OSError(1, "mount destination %s resolves outside the rootfs (%s)" % (host_path, real))
    return fd, "/proc/self/fd/%d" % fd


def make_target(path, is_dir):
    if is_dir:
        os.makedirs(path, exist_ok=True)
    elif not os.path.lexists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))


def bind_remount(sys, target, flags):
    """Apply flags to a bind mount; in a user namespace the source's locked flags must stay."""
    try:
        sys.mount(None, target, None, MS_REMOUNT | MS_BIND | flags)
    except OSError as e:
        if e.errno != 1:
            raise
        sys.mount(None, target, None, MS_REMOUNT | MS_BIND | flags | locked_flags(target))


def mount_one(sys, m, ctx):
    opts = mountopts.parse(m.get("options"))
    fstype = m.get("type") or ""
    source = m.get("source") or ""
    dest = secure_join(ctx.rootfs, m["destination"])
    bind = opts.is_bind or fstype == "bind"
    if fstype == "cgroup" and not bind:
        return mount_cgroup(sys, m, ctx, opts, dest)
    if bind:
        if not source.startswith("/"):
            source = os.path.join(ctx.bundle, source)
        try:
            is_dir = stat.S_ISDIR(os.stat(source).st_mode)
        except OSError as e:
            raise OSError(e.errno, "bind mount %s to %s: source: %s" % (source, m["destination"], e.strerror)) from None
        make_target(dest, is_dir)
    else:
        make_target(dest, True)
    unsupported = opts.extra & {"idmap", "ridmap"}
    if unsupported:
        raise OSError(95, "mount %s: option %s is not supported" % (m["destination"], ",".join(sorted(unsupported))))
    fd, target = open_inside(ctx.rootfs, dest)
    try:
        if bind:
            sys.mount(source, target, None, MS_BIND | (opts.flags & MS_REC))
        else:
            sys.mount(source or fstype, target, fstype, opts.flags & ~MS_REMOUNT, opts.data or None)
        # the fd above names the directory under the new mount: reopen to reach the mount itself
        fd2, target = open_inside(ctx.rootfs, dest)
        if "tmpcopyup" in opts.extra and fstype == "tmpfs":
            copy_up("/proc/self/fd/%d" % fd, target)
    finally:
        os.close(fd)
    fd = fd2
    try:
        extra = opts.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)
        if bind and extra:
            bind_remount(sys, target, extra)
        for prop in opts.propagation:
            sys.mount(None, target, None, prop)
        if opts.rec_set or opts.rec_clr:
            sys.mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, opts.rec_set, opts.rec_clr)
    finally:
        os.close(fd)


def mount_cgroup(sys, m, ctx, opts, dest):
    """/sys/fs/cgroup: cgroup2 with a cgroup namespace, else a tmpfs of read-only binds of our own cgroups."""
    make_target(dest, True)
    flags = opts.flags & ~MS_REMOUNT
    view = ctx.cgroup_view()
    if list(view) == ["/sys/fs/cgroup"]:   # cgroup v2 only
        fd, target = open_inside(ctx.rootfs, dest)
        try:
            if ctx.cgroupns:
                sys.mount("cgroup2", target, "cgroup2", flags)
            else:
                sys.mount("/sys/fs/cgroup" + view["/sys/fs/cgroup"], target, None, MS_BIND | MS_REC)
        finally:
            os.close(fd)
        if not ctx.cgroupns:
            fd, target = open_inside(ctx.rootfs, dest)
            try:
                bind_remount(sys, target, flags | MS_NOSUID | MS_NODEV | MS_NOEXEC)
            finally:
                os.close(fd)
        return
    fd, target = open_inside(ctx.rootfs, dest)
    try:
        sys.mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755")
    finally:
        os.close(fd)
    for host_dir, path in view.items():
        name = os.path.basename(host_dir)
        sub = secure_join(ctx.rootfs, os.path.join(m["destination"], name))
        make_target(sub, True)
        src = os.path.join(host_dir, path.lstrip("/"))
        sfd, starget = open_inside(ctx.rootfs, sub)
        try:
            sys.mount(src, starget, None, MS_BIND | MS_REC)
        finally:
            os.close(sfd)
        sfd, starget = open_inside(ctx.rootfs, sub)
        try:
            bind_remount(sys, starget, (flags & ~MS_REC) | MS_NOSUID | MS_NODEV | MS_NOEXEC)
        finally:
            os.close(sfd)
    if flags & MS_RDONLY:
        fd, target = open_inside(ctx.rootfs, dest)
        try:
            sys.mount(None, target, None, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "mode=755")
        finally:
            os.close(fd)


def copy_up(lower, upper):
    """tmpcopyup: what the image had under a tmpfs destination is copied onto the tmpfs."""
    import shutil
    lower_fd = os.open(lower, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        st = os.fstat(lower_fd)
        os.chmod(upper, stat.S_IMODE(st.st_mode))
        os.chown(upper, st.st_uid, st.st_gid)
        src = "/proc/self/fd/%d" % lower_fd
        for name in os.listdir(src):
            s, d = os.path.join(src, name), os.path.join(upper, name)
            if os.path.isdir(s) and not os.path.islink(s):
                shutil.copytree(s, d, symlinks=True, copy_function=shutil.copy2)
            else:
                shutil.copy2(s, d, follow_symlinks=False)
    finally:
        os.close(lower_fd)


def make_devices(sys, devices, ctx):
    """Default devices plus linux.devices; bind-mounted from the host inside a user namespace."""
    old = os.umask(0)
    try:
        for d in devices:
            path = secure_join(ctx.rootfs, d["path"])
            kind = d.get("type", "c")
            if os.path.lexists(path):
                os.unlink(path)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            mode = d.get("fileMode", 0o666) & 0o7777
            if kind == "p":
                os.mkfifo(path, mode)
            elif ctx.userns:
                make_target(path, False)
                fd, target = open_inside(ctx.rootfs, path)
                try:
                    sys.mount(d.get("host", d["path"]), target, None, MS_BIND)
                finally:
                    os.close(fd)
                continue
            else:
                fmt = stat.S_IFBLK if kind == "b" else stat.S_IFCHR
                sys.mknod(path, fmt | mode, os.makedev(d["major"], d["minor"]))
            os.chown(path, d.get("uid", 0), d.get("gid", 0))
    finally:
        os.umask(old)


def setup_dev(sys, cfg, ctx):
    devs = [{"path": p, "type": "c", "major": a, "minor": b, "fileMode": 0o666} for p, a, b in DEFAULT_DEVICES]
    seen = {d["path"] for d in devs}
    for d in (cfg.get("linux") or {}).get("devices") or []:
        if d["path"] in seen:
            devs = [x for x in devs if x["path"] != d["path"]]
        devs.append(d)
    make_devices(sys, devs, ctx)
    links = list(DEV_SYMLINKS)
    if os.path.exists("/proc/kcore"):
        links.append(("/proc/kcore", "/dev/core"))
    if os.path.exists(secure_join(ctx.rootfs, "/dev/pts/ptmx")):
        links.append(("pts/ptmx", "/dev/ptmx"))
    for target, link in links:
        path = secure_join(ctx.rootfs, link)
        if os.path.lexists(path):
            if link != "/dev/ptmx":
                continue
            os.unlink(path)
        os.symlink(target, path)


def dev_is_bind(cfg):
    for m in cfg.get("mounts") or []:
        if os.path.normpath(m.get("destination", "")) == "/dev":
            return m.get("type") == "bind" or "bind" in (m.get("options") or []) or "rbind" in (m.get("options") or [])
    return False


def make_parent_private(sys, path):
    """pivot_root needs new_root's parent mount to be non-shared: the mount holding ``path`` (the rootfs
    itself when it is a mount point, as an overlay is, since its bind onto itself stacks on it) is made private."""
    best = ""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            if within(mp, path) and len(mp) > len(best):
                best = mp
    if best:
        sys.mount(None, best, None, MS_PRIVATE)


def prepare(sys, cfg, ctx):
    """Steps in the new mount namespace before pivot_root (host paths still visible)."""
    linux = cfg.get("linux") or {}
    # 1. stop mount events from reaching the host: everything becomes slave (or rootfsPropagation)
    prop = mountopts.PROPAGATION.get(linux.get("rootfsPropagation") or "", MS_SLAVE | MS_REC)
    sys.mount(None, "/", None, prop | MS_REC)
    # 2. the rootfs must be a mount point of its own for pivot_root
    make_parent_private(sys, ctx.rootfs)
    sys.mount(ctx.rootfs, ctx.rootfs, "bind", MS_BIND | MS_REC)
    # 3. config mounts, in order
    for m in cfg.get("mounts") or []:
        mount_one(sys, m, ctx)
    # 4. /dev: default devices and symlinks unless /dev is bound from the host
    if not dev_is_bind(cfg):
        setup_dev(sys, cfg, ctx)


def pivot(sys, rootfs):
    """pivot_root(".", "."): the old root is stacked under the new one, then lazily unmounted.

    No put_old directory is needed inside the rootfs (nothing to clean up, nothing a
    container could see).  The old root is made slave first so the detach does not
    propagate an unmount to the host.
    """
    old = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(new)
        sys.pivot_root(".", ".")
        os.fchdir(old)
        sys.mount(None, ".", None, MS_SLAVE | MS_REC)
        sys.umount2(".", MNT_DETACH)
    finally:
        os.close(old)
        os.close(new)
    os.chdir("/")


def move_root(sys, rootfs):
    """--no-pivot: move the rootfs over / and chroot (the old root stays reachable to CAP_SYS_ADMIN)."""
    os.chdir(rootfs)
    sys.mount(rootfs, "/", None, MS_MOVE)
    sys.chroot(".")
    os.chdir("/")


def chroot_only(sys, rootfs):
    """No mount namespace: the container shares the host's mounts, so only its root changes."""
    os.chdir(rootfs)
    sys.chroot(".")
    os.chdir("/")


def write_sysctls(sysctls):
    for key, value in (sysctls or {}).items():
        path = "/proc/sys/" + key.replace(".", "/")
        try:
            with open(path, "w") as f:
                f.write(str(value))
        except OSError as e:
            raise OSError(e.errno, "write sysctl %s: %s" % (key, e.strerror)) from None


def readonly_path(sys, path):
    try:
        sys.mount(path, path, None, MS_BIND | MS_REC)
    except OSError as e:
        if e.errno == 2:
            return
        raise
    bind_remount(sys, path, MS_RDONLY | MS_REC)


def mask_path(sys, path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        sys.mount("tmpfs", path, "tmpfs", MS_RDONLY)
        return
    # the container's /dev/null, checked to be the null device and bound through the descriptor that was
    # checked: a symlink or another file swapped in there (a shared rootfs, a bind-mounted /dev) must never
    # be bound over a masked path (the CVE-2025-31133 class)
    fd = os.open("/dev/null", os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        null = os.fstat(fd)
        if not stat.S_ISCHR(null.st_mode) or null.st_rdev != os.makedev(1, 3):
            raise OSError(1, "mask %s: /dev/null in the container is not the null device" % path)
        source = "/proc/self/fd/%d" % fd
        sys.mount(source if os.path.exists(source) else "/dev/null", path, None, MS_BIND)
    finally:
        os.close(fd)


def finish(sys, cfg):
    """Steps after pivot_root, with container paths."""
    linux = cfg.get("linux") or {}
    write_sysctls(linux.get("sysctl"))
    for p in linux.get("readonlyPaths") or []:
        readonly_path(sys, p)
    for p in linux.get("maskedPaths") or []:
        mask_path(sys, p)
    if (cfg.get("root") or {}).get("readonly"):
        bind_remount(sys, "/", MS_RDONLY)
    prop = linux.get("rootfsPropagation")
    if prop:   # the new root's own propagation (prepare() set the tree's before pivot_root)
        sys.mount(None, "/", None, mountopts.PROPAGATION[prop])
