"""`podman build` as a peer, offline, on a private storage root: the base image is copied in with skopeo
from its OCI layout (containers-storage transport), RUN steps use runc (crun refuses this hybrid cgroup
host), network none, and the result is pushed to an OCI layout for umoci."""
import os
import shutil
import subprocess
import tempfile
import time


class Podman:
    def __init__(self):
        # podman refuses a runroot longer than 50 characters: a short private dir under /tmp
        self.workdir = tempfile.mkdtemp(prefix="pm-", dir="/tmp")
        self.root = os.path.join(self.workdir, "root")
        self.runroot = os.path.join(self.workdir, "run")
        self.base = ["podman", "--root", self.root, "--runroot", self.runroot, "--storage-driver", "overlay",
                     "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "none"]

    @staticmethod
    def available():
        return all(shutil.which(b) for b in ("podman", "skopeo", "runc", "umoci"))

    def load(self, layout, tag, name):
        dest = "containers-storage:[overlay@%s+%s]%s" % (self.root, self.runroot, name)
        _run(["skopeo", "copy", "--quiet", "oci:%s:%s" % (layout, tag), dest])

    def build(self, context, tag, *extra):
        """Build and return the seconds it took."""
        started = time.monotonic()
        _run(self.base + ["build", "--pull=never", "--network=none", "--layers", "-t", tag, *extra, context])
        return time.monotonic() - started

    def export(self, tag, layout, layout_tag):
        _run(self.base + ["push", "--quiet", tag, "oci:%s:%s" % (layout, layout_tag)])

    def run(self, image, *cmd):
        """`podman run --rm` (network none; nofile and nproc 1024: podman's defaults are above this host's hard limits); its stdout."""
        return _run(self.base + ["run", "--rm", "--network=none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", image, *cmd]).stdout

    def remove_all(self):
        subprocess.run(self.base + ["system", "reset", "--force"], capture_output=True, timeout=120)
        subprocess.run(["umount", "-R", self.root], capture_output=True)     # in case reset left one
        shutil.rmtree(self.workdir, ignore_errors=True)


def _run(argv, timeout=600):
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv[:6]), proc.returncode, proc.stderr.strip()[-2000:]))
    return proc
