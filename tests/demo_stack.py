"""`make demo`: the README's main job.  Everything goes through CRI, as a kubelet's calls would.

1. filesystems: gantryd's root must be able to hold overlay upper dirs (highlevel/fscheck.py);
   when it cannot, one line says what to do and nothing is started;
2. gantryd as a background service on its embedded defaults (no config file): the systemd unit
   (`gantryd --print-systemd-unit`) when systemd is PID 1, else a gantryd in its own session with a
   pid file and a log file; a gantryd already serving the socket is used as it is;
3. an image without internet: busybox pulled when a registry is configured for docker.io
   (<registry_config_dir>/docker.io/hosts.toml), else built from this machine's busybox as
   tests/fixtures builds images and imported with `gantryctl import`;
4. `gantryctl run --rm busybox ...` prints what the container sees (its output streams from the
   CRI log the shim writes), then `gantryctl run -d --name gantry-demo` leaves one running;
5. `gantryctl ps -a` and `gantryctl pods`, and what to type next (and how to stop gantryd).

gantryd stays running for the user.  `--address/--root/--state/--log-dir/--run-dir` point it all
into a scratch folder and `--stop` stops it at the end (tests/integration/test_demo.py does both).
Exit status 0 when every step worked and the container saw what it should.
"""
import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

from gantry.highlevel import fscheck
from gantry.highlevel.config import Config

DEMO_NAME = "gantry-demo"
IMAGE = "busybox"
PROBE = r"""
echo "hostname:  $(hostname)"
echo "pid:       $$"
echo "user:      $(id)"
echo "image:     $(cat /etc/gantry-demo)"
echo "rootfs:    $(awk '$5 == "/" {print $9}' /proc/self/mountinfo)"
echo "network:   $(ip -4 -o addr show eth0 2>/dev/null | awk '{print $4}')"
echo "to stderr" >&2
"""
TICKER = "i=0; while true; do i=$((i+1)); echo tick $i; sleep 2; done"
ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


def venv_bin(name):
    path = os.path.join(os.path.dirname(sys.executable), name)
    return path if os.path.exists(path) else shutil.which(name) or name


def step(text):
    print("\n== " + text, flush=True)


class Demo:
    def __init__(self, args):
        self.args = args
        self.address = args.address or Config.address
        self.root = args.root or Config.root
        self.state = args.state or Config.state
        self.run_dir = args.run_dir or self.state
        self.pid_file = os.path.join(self.run_dir, "gantryd.pid")
        self.log_file = args.gantryd_log or "/var/log/gantry/gantryd.log"
        self.ctl_argv = [venv_bin("gantryctl")] + (["--endpoint", args.address] if args.address else [])
        self.ctl_shown = "gantryctl" + (" --endpoint " + args.address if args.address else "")
        self.gantryd_flags = []
        for flag, value in (("--config", args.config), ("--address", args.address), ("--root", args.root),
                            ("--state", args.state)):
            if value:
                self.gantryd_flags += [flag, value]
        self.log_dir_flags = ["--log-dir", args.log_dir] if args.log_dir else []
        self.stop_hint = None

    # -- helpers --------------------------------------------------------------------------------
    def ctl(self, *argv, check=True, show=True, capture=False, timeout=120):
        if show:
            print("$ %s %s" % (self.ctl_shown, " ".join(_quote(a) for a in argv)), flush=True)
        out = subprocess.run(self.ctl_argv + list(argv), stdin=subprocess.DEVNULL, timeout=timeout,
                             capture_output=capture, text=True)
        if check and out.returncode != 0:
            raise DemoError("gantryctl %s exited with %d%s" % (argv[0], out.returncode,
                                                            (": " + out.stderr.strip()) if capture else ""))
        return out

    def serving(self):
        return self.ctl("version", check=False, show=False, capture=True, timeout=30).returncode == 0

    # -- 1 --------------------------------------------------------------------------------------
    def check_filesystems(self):
        step("1/5 filesystems: gantryd's root must be able to hold overlay upper dirs")
        problem = fscheck.overlay_problem(self.root)
        if problem:
            raise DemoError(problem)
        fstype = fscheck.fstype_of(fscheck.existing_ancestor(self.root), _mountinfo())
        print("root %s: on %s, fine for overlay snapshots" % (self.root, fstype))

    # -- 2 --------------------------------------------------------------------------------------
    def start_gantryd(self):
        step("2/5 gantryd as a background service (embedded defaults, no config file)")
        if self.serving():
            print("gantryd already serves %s: using it" % self.address)
            self.stop_hint = self._running_stop_hint()
            return
        if _systemd_is_init() and not self.args.no_systemd:
            self._start_systemd()
        else:
            self._start_daemonised()
        deadline = time.monotonic() + 60
        while not self.serving():
            if time.monotonic() > deadline:
                raise DemoError("gantryd did not serve %s within 60 s; its log: %s" % (self.address, self.log_file))
            time.sleep(0.2)
        self.ctl("version")

    def _running_stop_hint(self):
        try:
            with open(self.pid_file) as f:
                if "gantryd" in _cmdline(int(f.read().split()[0])):
                    return "kill $(cat %s)" % self.pid_file
        except (OSError, ValueError, IndexError):
            pass
        active = subprocess.run(["systemctl", "is-active", "--quiet", "gantryd"], check=False,
                                stderr=subprocess.DEVNULL).returncode == 0 if shutil.which("systemctl") else False
        return "systemctl stop gantryd" if active else "kill the gantryd serving %s" % self.address

    def _start_systemd(self):
        unit = "/etc/systemd/system/gantryd.service"
        text = subprocess.run([venv_bin("gantryd"), "--print-systemd-unit"] + self.gantryd_flags,
                              capture_output=True, text=True, check=True).stdout
        _write(unit, text)
        print("wrote %s (gantryd --print-systemd-unit; KillMode=process: a restart keeps containers)" % unit)
        for argv in (["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", "gantryd"]):
            print("$ " + " ".join(argv), flush=True)
            subprocess.run(argv, check=True, timeout=60)
        self.log_file = "journalctl -u gantryd"
        self.stop_hint = "systemctl stop gantryd"

    def _start_daemonised(self):
        os.makedirs(os.path.dirname(self.log_file), exist_ok=True)
        os.makedirs(self.run_dir, mode=0o711, exist_ok=True)
        argv = [venv_bin("gantryd")] + self.gantryd_flags
        print("$ %s >>%s 2>&1 &   (systemd is not PID 1: a daemonised gantryd)" % (" ".join(argv), self.log_file))
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                                    close_fds=True)
        _write(self.pid_file, "%d\n" % proc.pid)
        time.sleep(0.3)
        if proc.poll() is not None:
            raise DemoError("gantryd exited with %d at start: %s" % (proc.returncode, _tail(self.log_file)))
        print("gantryd pid %d (pid file %s), log %s" % (proc.pid, self.pid_file, self.log_file))
        self.stop_hint = "kill $(cat %s)" % self.pid_file

    # -- 3 --------------------------------------------------------------------------------------
    def make_image_available(self):
        step("3/5 an image without internet")
        if self.ctl("images", "-q", IMAGE, show=False, capture=True).stdout.strip():
            print("%s is already in gantryd's store" % IMAGE)
            self.ctl("images", IMAGE)
            return
        hosts = os.path.join(Config.registry_config_dir, "docker.io", "hosts.toml")
        if os.path.exists(hosts) and self.ctl("pull", IMAGE, check=False).returncode == 0:
            return
        print("no registry configured for docker.io (%s): building %s from this machine's %s"
              % (hosts, IMAGE, "/usr/bin/busybox"))
        from tests.fixtures import busybox, ociimage

        work = tempfile.mkdtemp(prefix="gantry-demo-image-")
        try:
            src = busybox.build_rootfs(os.path.join(work, "rootfs"))
            _write(os.path.join(src, "etc", "gantry-demo"), "built by make demo from this machine's busybox\n")
            image = ociimage.busybox_image(src, architecture=ARCH.get(platform.machine(), platform.machine()),
                                           env=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
            layout = ociimage.write_layout(os.path.join(work, IMAGE), {"latest": image})
            print("wrote an OCI image layout %s (%s)" % (layout, image.manifest_digest))
            self.ctl("import", layout)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self.ctl("images", IMAGE)

    # -- 4 --------------------------------------------------------------------------------------
    def run_containers(self):
        step("4/5 containers through CRI: gantryctl run (RunPodSandbox, CreateContainer, StartContainer...)")
        code = self.ctl("run", "--rm", *self.log_dir_flags, IMAGE, "sh", "-c", PROBE, check=False).returncode
        print("exit code %d" % code)
        if code != 0:
            raise DemoError("gantryctl run --rm %s exited with %d" % (IMAGE, code))
        for argv in (("rm", "-f", DEMO_NAME), ("rmp", "-f", DEMO_NAME)):    # a previous demo's
            self.ctl(*argv, check=False, show=False, capture=True)
        self.ctl("run", "-d", "--name", DEMO_NAME, *self.log_dir_flags, IMAGE, "sh", "-c", TICKER)

    # -- 5 --------------------------------------------------------------------------------------
    def show(self):
        step("5/5 what gantryd runs now")
        self.ctl("ps", "-a")
        self.ctl("pods")
        time.sleep(2.5)
        self.ctl("logs", "--tail", "2", DEMO_NAME)

    def next_steps(self):
        c = self.ctl_shown
        print("\ndemo OK: gantryd -> gantry-shim -> gantry-oci, all through CRI. gantryd keeps running:")
        for line in ("%s logs -f %s                 # follow its log (Ctrl-C stops following)" % (c, DEMO_NAME),
                     "%s exec -it %s sh              # a shell inside it" % (c, DEMO_NAME),
                     "%s run -it --rm %s sh              # a new container with a terminal" % (c, IMAGE),
                     "%s rm -f %s && %s rmp -f %s" % (c, DEMO_NAME, c, DEMO_NAME),
                     "crictl --runtime-endpoint unix://%s ps     # any CRI client" % self.address,
                     "%s      # stop gantryd (containers keep running)" % self.stop_hint):
            print("  " + line)

    def stop(self):
        """--stop: remove the demo's container and pod, stop the gantryd this demo started."""
        self.ctl("rm", "-f", DEMO_NAME, check=False)
        self.ctl("rmp", "-f", DEMO_NAME, check=False)
        if not os.path.exists(self.pid_file):
            return
        with open(self.pid_file) as f:
            pid = int(f.read().split()[0])
        subprocess.run(["kill", str(pid)], check=False)
        deadline = time.monotonic() + 30
        while os.path.exists("/proc/%d" % pid) and _cmdline(pid).find("gantryd") >= 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        os.unlink(self.pid_file)
        print("gantryd stopped")


class DemoError(Exception):
    pass


def _quote(arg):
    import shlex

    return shlex.quote(arg) if "\n" not in arg else "'...'"


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def _tail(path, lines=5):
    try:
        with open(path) as f:
            return " | ".join(f.read().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def _mountinfo():
    with open("/proc/self/mountinfo") as f:
        return f.read()


def _systemd_is_init():
    return os.path.isdir("/run/systemd/system") and _cmdline(1).split("\0")[0].endswith("systemd")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m tests.demo_stack", description=__doc__.splitlines()[0])
    p.add_argument("--config", help="a gantryd TOML file (default: none, gantryd's embedded defaults)")
    p.add_argument("--address", help="gantryd's socket (default: its own default)")
    p.add_argument("--root", help="gantryd's root (default: its own default)")
    p.add_argument("--state", help="gantryd's state dir (default: its own default)")
    p.add_argument("--log-dir", help="pod log directories (default: gantryctl run's)")
    p.add_argument("--run-dir", help="where the pid file goes (default: the state dir)")
    p.add_argument("--gantryd-log", help="gantryd's log file (default: /var/log/gantry/gantryd.log)")
    p.add_argument("--no-systemd", action="store_true", help="daemonise gantryd even when systemd is PID 1")
    p.add_argument("--stop", action="store_true", help="at the end, remove the demo's container and stop gantryd")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if os.geteuid() != 0:
        print("demo: needs root (namespaces, mounts, cgroups): sudo make demo")
        return 1
    demo = Demo(args)
    try:
        demo.check_filesystems()
        demo.start_gantryd()
        demo.make_image_available()
        demo.run_containers()
        demo.show()
        demo.next_steps()
        return 0
    except (DemoError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print("demo FAILED: %s" % exc, flush=True)
        return 1
    finally:
        if args.stop:
            demo.stop()


if __name__ == "__main__":
    sys.exit(main())
