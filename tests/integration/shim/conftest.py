"""Fixtures of the shim contract suite: one suite, run once per OCI runtime.

``runtime`` is parametrized over runc, crun and gantry-oci.  A ``ShimEnv``
starts its shims one of two ways (``START_PATHS``): ``start`` runs
``gantry-shim start`` (a fresh interpreter, standalone use), ``template``
asks a ``gantry-shim template`` for a forked shim (gantryd's way); the
contract suite runs over both.  crun 1.8 refuses
this machine's hybrid cgroup layout, so its leg runs every shim (and the
template) in a private mount namespace with /sys/fs/cgroup/unified unmounted;
that changes nothing outside.  The gantry-oci leg fails at once, with the
reason, when ``gantry-oci run`` of a trivial bundle does not work (checked
once per session): a broken runtime must fail the suite, never skip it.
runc and crun are skipped only when the machine lacks them.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest
from gantry.highlevel import shimclient

from tests.fixtures import bundle as bundles

BIN = os.path.dirname(sys.executable)
SHIM = os.path.join(BIN, "gantry-shim")
GANTRY_OCI = os.path.join(BIN, "gantry-oci")
RUNTIMES = ["runc", "crun", "gantry-oci"]
START_PATHS = ["start", "template"]


def runtime_binary(name):
    return GANTRY_OCI if name == "gantry-oci" else shutil.which(name) or name


def _gantry_oci_problem(rootfs):
    """None when `gantry-oci run` of a trivial bundle works, else why not."""
    if not os.path.exists(GANTRY_OCI):
        return "gantry-oci is not installed"
    tmp = tempfile.mkdtemp(prefix="goci-probe-", dir="/tmp")
    try:
        b = bundles.write_bundle(os.path.join(tmp, "b"), rootfs, bundles.default_config(["/bin/sh", "-c", "echo probe-ok"]))
        try:
            out = subprocess.run([GANTRY_OCI, "--root", os.path.join(tmp, "root"), "run", "--bundle", b, "probe"],
                                 capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return "gantry-oci run of a trivial bundle timed out"
        if out.returncode != 0 or b"probe-ok" not in out.stdout:
            return "gantry-oci run of a trivial bundle does not work yet (exit %d: %s)" % (
                out.returncode, (out.stderr or out.stdout).decode("utf-8", "replace").strip()[-300:])
        return None
    finally:
        subprocess.run([GANTRY_OCI, "--root", os.path.join(tmp, "root"), "delete", "--force", "probe"],
                       capture_output=True, timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def gantry_oci_problem(busybox_rootfs):
    return _gantry_oci_problem(busybox_rootfs)


@pytest.fixture(params=RUNTIMES)
def runtime(request):
    if request.param == "gantry-oci":
        problem = request.getfixturevalue("gantry_oci_problem")
        if problem:
            pytest.fail("gantry-oci is broken: %s" % problem)
    elif not shutil.which(request.param):
        pytest.skip("%s is not installed (make install)" % request.param)
    return request.param


def shim_launcher(runtime_name, workdir):
    """The argv prefix that runs gantry-shim for this runtime's leg."""
    if runtime_name != "crun":
        return [SHIM]
    wrapper = os.path.join(workdir, "shim-crun")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\n# crun 1.8 refuses hybrid cgroups: private mount namespace without the unified mount\n"
                "exec unshare --mount --propagation private sh -c "
                "'umount /sys/fs/cgroup/unified 2>/dev/null; exec \"$0\" \"$@\"' %s \"$@\"\n" % SHIM)
    os.chmod(wrapper, 0o755)
    return [wrapper]


class ShimEnv:
    """Bundles, shims and their cleanup for one test and one runtime."""

    def __init__(self, runtime_name, rootfs, start_path="start", shim_env=None):
        """shim_env: variables added to the environment of this env's shims (and template)."""
        assert start_path in START_PATHS, start_path
        self.start_path = start_path
        self.shim_environ = dict(os.environ, **(shim_env or {}))
        self.template = None  # the Popen of this env's template, started on first use
        self.runtime_name = runtime_name
        self.runtime = runtime_binary(runtime_name)
        self.rootfs = rootfs
        self.dir = tempfile.mkdtemp(prefix="gs-", dir="/tmp")  # short: socket paths stay < 108 bytes
        self.runtime_root = os.path.join(self.dir, "rt")
        self.launcher = shim_launcher(runtime_name, self.dir)
        self.shims = []  # (id, state_dir, bundle)
        self.seq = 0

    def bundle(self, args, name=None, **process):
        name = name or "c%d" % (self.seq + 1)
        cfg = bundles.default_config(args, **process)
        return bundles.write_bundle(os.path.join(self.dir, name + ".b"), self.rootfs, cfg), cfg

    def write_bundle(self, name, cfg, rootfs=None):
        return bundles.write_bundle(os.path.join(self.dir, name + ".b"), rootfs or self.rootfs, cfg)

    def start_argv(self, cid, bundle_dir, log=True, terminal=False, stdin=False):
        state = os.path.join(self.dir, "s", cid)
        argv = self.launcher + ["start", "--id", cid, "--bundle", bundle_dir, "--runtime", self.runtime,
                                "--runtime-root", self.runtime_root, "--state-dir", state]
        if log:
            argv += ["--log-path", os.path.join(self.dir, cid + ".log")]
        return argv + (["--terminal"] if terminal else []) + (["--stdin"] if stdin else []), state

    def start(self, args=None, cid=None, cfg=None, log=True, terminal=False, stdin=False, rootfs=None):
        """Start a shim (not the container) and return (client, state_dir)."""
        self.seq += 1
        cid = cid or "c%d" % self.seq
        if cfg is None:
            bdir, _ = self.bundle(args or ["sleep", "1000"], name=cid, terminal=terminal)
        else:
            bdir = self.write_bundle(cid, cfg, rootfs)
        address, state = self.start_shim(cid, bdir, log, terminal, stdin)
        self.shims.append((cid, state, bdir))
        return shimclient.ShimClient(address, timeout=30), state

    def start_shim(self, cid, bundle_dir, log=True, terminal=False, stdin=False):
        """(address, state_dir) of the shim for cid, started the env's way (or found running)."""
        argv, state = self.start_argv(cid, bundle_dir, log, terminal, stdin)
        if self.start_path == "start":
            out = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=self.shim_environ)
            assert out.returncode == 0, out.stderr
            return out.stdout.strip(), state
        if self.template is None:
            self.template = shimclient.start_template(self.template_address(), executable=self.launcher[0],
                                                      env=self.shim_environ)
        r = shimclient.TemplateClient(self.template_address()).spawn(
            cid, bundle_dir, self.runtime, state, runtime_root=self.runtime_root,
            log_path=self.log_path(cid) if log else "", terminal=terminal, stdin=stdin)
        return r.address, state

    def template_address(self):
        return os.path.join(self.dir, "tpl.sock")

    def run(self, args, **kw):
        """Shim + created + started container; returns (client, state_dir)."""
        client, state = self.start(args, **kw)
        client.create()
        client.start()
        return client, state

    def log_path(self, cid):
        return os.path.join(self.dir, cid + ".log")

    def cleanup(self):
        if self.template is not None:
            self.template.kill()
            self.template.wait()
        for cid, state, _ in self.shims:
            address = os.path.join(state, "shim.sock")
            if os.path.exists(address):
                try:
                    shimclient.ShimClient(address, timeout=10).delete(force=True)
                except Exception:
                    pass
            pid_file = os.path.join(state, "shim.pid")
            if os.path.exists(pid_file):
                try:
                    os.kill(int(open(pid_file).read()), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            subprocess.run([self.runtime, "--root", self.runtime_root, "delete", "--force", cid],
                           capture_output=True, timeout=30)
        # never let rmtree walk into a mount (it would delete the mounted tree's source)
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4] for line in f]
        for point in sorted((p for p in points if p.startswith(self.dir + "/")), key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def shim_env(runtime, busybox_rootfs):
    env = ShimEnv(runtime, busybox_rootfs)
    yield env
    env.cleanup()


@pytest.fixture(params=START_PATHS)
def contract_env(request, runtime, busybox_rootfs):
    """A ShimEnv for the contract suite: each runtime leg runs once per start path."""
    env = ShimEnv(runtime, busybox_rootfs, request.param)
    yield env
    env.cleanup()


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(0.02)


def open_fds(pid):
    """{fd: what it points to} of pid; an fd closed between the listing and its readlink is left out (the
    process keeps running while we look)."""
    out = {}
    for f in os.listdir("/proc/%d/fd" % pid):
        try:
            out[f] = os.readlink("/proc/%d/fd/%s" % (pid, f))
        except FileNotFoundError:
            pass
    return out


def zombie_children(parent):
    """Zombies whose parent is parent (the machine is shared: other zombies are not ours)."""
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] == "Z" and int(fields[1]) == parent:
                out.append(int(pid))
    return out


def warm_children(shim_pid):
    """Pids of the shim's pre-started `gantry-oci warm` processes (shim/warmexec.py)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")[:-1]
        except OSError:
            continue
        if int(fields[1]) == shim_pid and fields[0] != "Z" and argv[-1:] == [b"warm"] and \
                any(a.endswith(b"gantry-oci") for a in argv):
            out.append(int(pid))
    return out
