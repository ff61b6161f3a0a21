"""Helpers for gantry-oci integration tests: a runner bound to a temp --root, bundles, and an in-container probe.

The probe is a busybox shell script that prints ``key=value`` lines about what
the container sees; ``probe_values(stdout)`` turns them into a dict.
"""
import os
import subprocess
import sys
import uuid

from tests.fixtures import bundle

OCI = os.path.join(os.path.dirname(sys.executable), "gantry-oci")

PROBE = r"""
echo "hostname=$(hostname)"
echo "domainname=$(cat /proc/sys/kernel/domainname)"
echo "pid=$$"
echo "uid=$(id -u)"
echo "gid=$(id -g)"
echo "groups=$(id -G)"
echo "cwd=$(pwd)"
echo "fds=$(ls /proc/self/fd | tr '\n' ' ')"
echo "capeff=$(grep CapEff /proc/self/status | cut -f2)"
echo "capbnd=$(grep CapBnd /proc/self/status | cut -f2)"
echo "nnp=$(grep NoNewPrivs /proc/self/status | cut -f2)"
echo "sigign=$(grep SigIgn /proc/self/status | cut -f2)"
echo "sigblk=$(grep SigBlk /proc/self/status | cut -f2)"
echo "nofile=$(ulimit -n)"
echo "umask=$(umask)"
echo "env_foo=$FOO"
echo "home=$HOME"
for ns in pid net ipc uts mnt user cgroup; do echo "ns_$ns=$(readlink /proc/self/ns/$ns)"; done
echo "mounts=$(awk '{print $5":"$9":"$6}' /proc/self/mountinfo | tr '\n' ' ')"
echo "kcore=$(wc -c < /proc/kcore 2>&1)"
echo "sysrq=$( (echo h > /proc/sysrq-trigger) 2>/dev/null && echo writable || echo denied)"
echo "devices=$(ls /dev | tr '\n' ' ')"
echo "null=$(echo x > /dev/null && echo ok)"
echo "lo=$(cat /sys/class/net/lo/operstate 2>/dev/null)"
"""


def probe_values(text):
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key and " " not in key:
            values[key] = value.strip()
    return values


def host_ns(kind):
    return os.readlink("/proc/self/ns/%s" % kind)


class Runtime:
    """gantry-oci with its own --root; remembers containers to force-delete at the end."""

    def __init__(self, root, binary=OCI):
        self.root = root
        self.binary = binary
        self.ids = []

    def __call__(self, *args, check=True, timeout=60, stdin=subprocess.DEVNULL, detached=False, **kw):
        argv = [self.binary, "--root", self.root] + list(args)
        if detached:   # the container inherits our stdio: a file, or reading pipes never ends
            log = os.path.join(self.root + ".log")
            with open(log, "w+") as f:
                run = subprocess.run(argv, stdout=f, stderr=f, text=True, timeout=timeout, stdin=stdin, **kw)
                f.seek(0)
                run.stdout = run.stderr = f.read()
        else:
            run = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=stdin, **kw)
        if check:
            assert run.returncode == 0, (args, run.returncode, run.stdout, run.stderr)
        return run

    def new_id(self):
        cid = "t" + uuid.uuid4().hex[:10]
        self.ids.append(cid)
        return cid

    def cleanup(self):
        for cid in self.ids:
            self("delete", "--force", cid, check=False)


def make_bundle(tmp_path, rootfs, args, name="bundle", copy_rootfs=False, **edits):
    cfg = bundle.default_config(args)
    for key, value in edits.items():
        section, _, field = key.partition("__")
        if field:
            cfg.setdefault(section, {})[field] = value
        else:
            cfg[section] = value
    path = str(tmp_path / name)
    bundle.write_bundle(path, rootfs, cfg, copy_rootfs=copy_rootfs)
    return path, cfg
