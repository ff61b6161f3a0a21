"""A pod's namespaces, pinned to files (the way CRI-O's pinns does), no pause image needed.

    paths = pin(ns_dir, kinds=("network", "ipc", "uts"), hostname="web-0", sysctls={...})
        -> {"network": "<ns_dir>/net", "ipc": "<ns_dir>/ipc", "uts": "<ns_dir>/uts"}
    unpin(paths)          # idempotent: unmounts and removes whatever is still there

util-linux ``unshare --net=FILE --ipc=FILE --uts=FILE`` makes the namespaces and
bind-mounts each onto its file, so it lives as long as the mount, with no
process in it; inside them a shell brings loopback up, sets the hostname and
writes the pod's namespaced sysctls (a file under /proc/sys shows the
namespace of the process that opens it).  gantryd is threaded and must not
fork, so all of it runs as one child process.  Sysctl names are checked before
(podspec.sysctls_by_namespace: namespaced ones only, of the pod's own
namespaces) and again here for their shape; values reach the shell as
arguments, never as code.
"""
import os
import re
import subprocess

from .. import errors, mounts

NS_FILES = {"network": "net", "ipc": "ipc", "uts": "uts"}
_FLAGS = {"network": "--net", "ipc": "--ipc", "uts": "--uts"}
_SCRIPT = r"""
set -e
if [ -n "$1" ]; then ip link set lo up; fi
if [ -n "$2" ]; then printf '%s' "$2" > /proc/sys/kernel/hostname; fi
shift 2
while [ $# -gt 0 ]; do
    printf '%s' "$2" > "/proc/sys/$1" || { echo "sysctl $1=$2 failed" >&2; exit 1; }
    shift 2
done
"""
_SYSCTL_NAME = re.compile(r"[a-z0-9_]+([./][a-z0-9_\-]+)+\Z")


def pin(ns_dir, kinds, hostname="", sysctls=None, runner=subprocess.run):
    """Make the namespaces ``kinds`` (a subset of network, ipc, uts) bound to files in ns_dir."""
    sysctls = dict(sysctls or {})      # already checked: podspec.sysctls_by_namespace
    for name in sysctls:
        if not _SYSCTL_NAME.match(name):
            raise errors.InvalidArgument("RunPodSandbox linux.sysctls: %r is not a sysctl name" % name)
    paths = {k: os.path.join(ns_dir, NS_FILES[k]) for k in kinds}
    if not paths:
        return {}
    os.makedirs(ns_dir, mode=0o711, exist_ok=True)
    for path in paths.values():
        with open(path, "a"):
            pass
    argv = ["unshare"] + ["%s=%s" % (_FLAGS[k], p) for k, p in paths.items()]
    argv += ["--", "sh", "-c", _SCRIPT, "pinns", "1" if "network" in kinds else "",
             hostname if "uts" in kinds else ""]
    for name, value in sorted(sysctls.items()):
        argv += [name.replace(".", "/") if "/" not in name else name, value]
    proc = runner(argv, capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        unpin(paths)
        raise errors.Internal("pin pod namespaces in %s: %s" % (ns_dir, (proc.stderr or proc.stdout).strip()))
    return paths


def unpin(paths):
    """Unmount and remove the namespace files (each may be gone already)."""
    failed = []
    for path in paths.values():
        if not os.path.lexists(path):
            continue
        if os.path.ismount(path) or _is_nsfs(path):
            try:
                mounts.umount(path)
            except OSError as exc:
                if _is_nsfs(path):
                    failed.append("%s: %s" % (path, exc.strerror))
                    continue
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    if failed:
        raise errors.Internal("unpin pod namespaces: " + "; ".join(failed))


def _is_nsfs(path):
    try:
        return os.stat(path).st_dev != os.stat(os.path.dirname(path)).st_dev
    except OSError:
        return False
