"""Run gantryd as a real subprocess for tests: temp socket, root, state; stopped with SIGTERM.

    with GantrydProcess(workdir, registry_config_dir=...) as gd:
        gd.runtime.Version(cri_pb2.VersionRequest())      # gRPC stubs on gd.address
        gd.ctl("images")                                   # gantryctl against it
    gd.returncode, gd.log_text()                           # after stop
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import grpc
from gantry.api import cri_pb2, cri_pb2_grpc

START_TIMEOUT = 15.0


class GantrydProcess:
    def __init__(self, workdir, registry_config_dir=None, extra_args=(), config_text=None):
        self.workdir = workdir
        self.root = os.path.join(workdir, "root")
        self.state = os.path.join(workdir, "state")
        self.registry_config_dir = registry_config_dir or os.path.join(workdir, "certs.d")
        self.log_path = os.path.join(workdir, "gantryd.log")
        config_args = []
        if config_text is not None:
            os.makedirs(workdir, exist_ok=True)
            path = os.path.join(workdir, "gantryd.toml")
            with open(path, "w") as f:
                f.write(config_text)
            config_args = ["--config", path]
        # unix socket paths are limited to 107 bytes: keep the socket in a short private dir
        # (created last: cleanup() removes it)
        self.sockdir = tempfile.mkdtemp(prefix="gd-", dir="/tmp")
        self.address = os.path.join(self.sockdir, "gantryd.sock")
        self.args = [*config_args, "--address", self.address, "--root", self.root, "--state", self.state,
                     "--registry-config-dir", self.registry_config_dir, "--log-level", "debug", *extra_args]
        self.proc = None
        self.channel = None
        self.returncode = None

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "gantry.highlevel.daemon", *self.args],
                                     stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.channel = grpc.insecure_channel("unix:" + self.address)
        self.runtime = cri_pb2_grpc.RuntimeServiceStub(self.channel)
        self.images = cri_pb2_grpc.ImageServiceStub(self.channel)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("gantryd exited with %s during start:\n%s" % (self.proc.returncode, self.log_text()))
            if os.path.exists(self.address):
                try:
                    self.runtime.Version(cri_pb2.VersionRequest(), timeout=2)
                    return self
                except grpc.RpcError:
                    pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("gantryd did not answer within %ss:\n%s" % (START_TIMEOUT, self.log_text()))
            time.sleep(0.05)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Signal gantryd and wait; returns its exit status."""
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise
        if self.proc is not None:
            self.returncode = self.proc.returncode
            self._log.close()
        return self.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.sockdir, ignore_errors=True)

    def log_text(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def ctl(self, *args, timeout=120):
        """Run gantryctl against this gantryd; returns the CompletedProcess."""
        return subprocess.run([sys.executable, "-m", "gantry.highlevel.ctl", "--address", self.address, *args],
                              capture_output=True, text=True, timeout=timeout)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            self.cleanup()


def write_hosts(registry_config_dir, host, scheme="http", ca=None):
    """hosts.toml (containerd layout) for a loopback test registry: plain HTTP, or HTTPS with a CA file."""
    d = os.path.join(registry_config_dir, host)
    os.makedirs(d, exist_ok=True)
    text = 'server = "%s://%s"\ncapabilities = ["pull", "resolve"]\n' % (scheme, host)
    if ca:
        text += 'ca = "%s"\n' % ca
    with open(os.path.join(d, "hosts.toml"), "w") as f:
        f.write(text)
