"""Gathering the CRI metrics of every ready pod: shims, /proc, /sys and the snapshot store.

    list_pod_metrics(ctx) -> [cri PodSandboxMetrics]

Per running container: the shim's Stats (its cgroup) and Pids; from those
pids /proc/<pid>/fd (descriptors, sockets) and /proc/<pid>/task (threads);
the init's /proc/<pid>/limits; the writable layer's usage from the snapshot
store and its filesystem's size from statvfs.  Per pod: the counters of its
network namespace, read from /proc/<pid>/net/dev of a process inside it.
A container whose shim does not answer (it exited a moment ago) is left out.
metrics.py turns the samples into cri Metrics; the helpers here that only
parse text are pure and unit-tested.
"""
import os
import time

from gantry.api import cri_pb2

from .. import errors
from . import metrics, stats

# /proc/<pid>/limits row -> cAdvisor's ulimit name
ULIMITS = {"Max open files": "max_open_files"}


# -- pure helpers -------------------------------------------------------------------------------
def parse_limits(text):
    """/proc/<pid>/limits -> {ulimit name: soft value} for the rows in ULIMITS ("unlimited" skipped)."""
    out = {}
    for line in text.splitlines():
        for row, name in ULIMITS.items():
            if line.startswith(row):
                soft = line[len(row):].split()[:1]
                if soft and soft[0].isdigit():
                    out[name] = int(soft[0])
    return out


def parse_uevent_devname(text):
    """/sys/dev/block/M:m/uevent -> "/dev/<DEVNAME>", or None."""
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "DEVNAME" and value:
            return "/dev/" + value
    return None


def mount_source(mountinfo_text, major, minor):
    """The source of the first mount of device major:minor in a mountinfo text, or None."""
    want = "%d:%d" % (major, minor)
    for line in mountinfo_text.splitlines():
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) > 2 and fields[2] == want and len(rfields) > 1:
            return rfields[1]
    return None


# -- /proc and /sys ---------------------------------------------------------------------------
def _read(path):
    with open(path) as f:
        return f.read()


def count_processes(pids, proc="/proc"):
    """(processes, threads, fds, sockets) of ``pids``; a pid gone meanwhile counts for nothing."""
    processes = threads = fds = sockets = 0
    for pid in pids:
        base = os.path.join(proc, str(pid))
        try:
            tasks = len(os.listdir(os.path.join(base, "task")))
            fd_dir = os.path.join(base, "fd")
            links = []
            for fd in os.listdir(fd_dir):
                try:
                    links.append(os.readlink(os.path.join(fd_dir, fd)))
                except OSError:
                    pass        # closed meanwhile
        except OSError:
            continue
        processes, threads = processes + 1, threads + tasks
        fds += len(links)
        sockets += sum(1 for link in links if link.startswith("socket:"))
    return processes, threads, fds, sockets


def block_device_names(keys, sysfs="/sys"):
    """{(major, minor): "/dev/name"} for the devices sysfs knows."""
    out = {}
    for major, minor in keys:
        try:
            name = parse_uevent_devname(_read(os.path.join(sysfs, "dev/block/%d:%d/uevent" % (major, minor))))
        except OSError:
            continue
        if name:
            out[(major, minor)] = name
    return out


def filesystem_of(path):
    """(device, size bytes, inodes total, inodes free) of the filesystem holding ``path``."""
    st, vfs = os.stat(path), os.statvfs(path)
    try:
        device = mount_source(_read("/proc/self/mountinfo"), os.major(st.st_dev), os.minor(st.st_dev))
    except OSError:
        device = None
    return (device or "%d:%d" % (os.major(st.st_dev), os.minor(st.st_dev)),
            vfs.f_blocks * vfs.f_frsize, vfs.f_files, vfs.f_ffree)


# -- samples ----------------------------------------------------------------------------------
def _fs_usage(ctx, ctr, fs):
    usage = metrics.FsUsage(device=fs[0], limit_bytes=fs[1], inodes_total=fs[2], inodes_free=fs[3])
    snaps = ctx.image_store.snapshots
    if ctr.snapshot_key and snaps.exists(ctr.snapshot_key):
        try:
            usage.usage_bytes, usage.inodes_used = snaps.usage(ctr.snapshot_key)
        except (OSError, errors.GantryError):
            pass
    return usage


def container_sample(ctx, ctr, ident, fs):
    """The sample of a running container, or None when its shim no longer answers."""
    try:
        client = ctx.shims.client(ctr.shim_address, timeout=5)
        st = client.stats()
        pids = [pid for pid, _ in client.pids()]
    except errors.GantryError:
        return None
    processes, threads, fds, sockets = count_processes(pids)
    try:
        ulimits = parse_limits(_read("/proc/%d/limits" % ctr.pid)) if ctr.pid else {}
    except OSError:
        ulimits = {}
    return metrics.ContainerSample(
        ident=ident, stats=st, processes=processes, threads=threads, fds=fds, sockets=sockets,
        fs=_fs_usage(ctx, ctr, fs), devices=block_device_names((d.major, d.minor) for d in st.block_devices),
        started_ns=ctr.started_ns, ulimits=ulimits)


def _same_file(a, b):
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def pod_net_pid(pod, running):
    """A live process in the pod's pinned network namespace (the pause, else a running container), or 0.

    The namespace is compared, not assumed: a recorded pid may have exited and been reused."""
    netns = pod.namespaces.get("network")
    if not netns:
        return 0            # the host's network: not the pod's to report
    for pid in [pod.infra.get("pid")] + [c.pid for c in running]:
        if pid and _same_file("/proc/%d/ns/net" % pid, netns):
            return pid
    return 0


def pod_sandbox_metrics(ctx, pod, fs):
    md = cri_pb2.PodSandboxConfig.FromString(pod.config).metadata
    running = [c for c in ctx.store.containers(pod.id) if c.state == "running"]
    out = cri_pb2.PodSandboxMetrics(pod_sandbox_id=pod.id)
    pid = pod_net_pid(pod, running)
    if pid:
        try:
            interfaces = stats.net_dev_counters(_read("/proc/%d/net/dev" % pid))
        except OSError:
            interfaces = {}
        out.metrics.extend(metrics.pod_metrics(
            (metrics.POD_CONTAINER, pod.id, "", pod.id, md.namespace, md.name), interfaces, time.time_ns()))
    for ctr in running:
        cfg = cri_pb2.ContainerConfig.FromString(ctr.config)
        ident = (cfg.metadata.name, ctr.id, cfg.image.image or ctr.image_ref, ctr.id, md.namespace, md.name)
        sample = container_sample(ctx, ctr, ident, fs)
        if sample is not None:
            ts = sample.stats.timestamp_ns or time.time_ns()
            out.container_metrics.add(container_id=ctr.id, metrics=metrics.container_metrics(sample, ts))
    return out


def list_pod_metrics(ctx):
    try:
        fs = filesystem_of(ctx.image_store.snapshots.root)
    except OSError:
        fs = ("", 0, 0, 0)
    return [pod_sandbox_metrics(ctx, pod, fs) for pod in ctx.store.pods() if pod.state == "ready"]
