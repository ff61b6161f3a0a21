"""Fixtures for the streaming server against real containers: shim → gantry-oci on busybox.

``stack`` gives a StreamingServer over a ShimBackend whose lookups answer for
the containers and pods the test registers (the lead's RuntimeService will
answer them from its store).  ``pod_netns`` makes a network namespace with a
TCP server in it (echo, or a flood of N bytes), as a pod's would be.
"""
import os
import subprocess
import sys
import threading
import uuid

import pytest
from gantry.highlevel import errors
from gantry.highlevel.streaming.backend import ContainerRef, ShimBackend
from gantry.highlevel.streaming.server import StreamingServer

from tests.integration.shim.conftest import ShimEnv, _gantry_oci_problem

SERVER = r"""
import os, socket, sys, threading
mode, total = sys.argv[1], int(sys.argv[2])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(16)
print(srv.getsockname()[1], flush=True)
def echo(c):
    while True:
        d = c.recv(65536)
        if not d: break
        c.sendall(d)
    if mode == "hold":  # a server that keeps the connection after the client's EOF
        threading.Event().wait()
    c.close()
def flood(c):
    sent, chunk = 0, b"x" * 65536
    try:
        while sent < total:
            c.sendall(chunk); sent += len(chunk)
            with open(sys.argv[3] + ".tmp", "w") as f: f.write(str(sent))
            os.replace(sys.argv[3] + ".tmp", sys.argv[3])
    except OSError:
        pass
    c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=flood if mode == "flood" else echo, args=(c,), daemon=True).start()
"""


@pytest.fixture(scope="session")
def oci_runtime(busybox_rootfs):
    problem = _gantry_oci_problem(busybox_rootfs)
    if problem:
        pytest.skip(problem)
    return "gantry-oci"


class Stack:
    def __init__(self, runtime, rootfs):
        self.env = ShimEnv(runtime, rootfs, "template")
        self.containers = {}
        self.pods = {}
        self.backend = ShimBackend(self.lookup_container, self.lookup_pod)
        self.server = StreamingServer(self.backend)
        self.server.start()

    def lookup_container(self, cid):
        try:
            return self.containers[cid]
        except KeyError:
            raise errors.NotFound("container %s not found" % cid) from None

    def lookup_pod(self, pid):
        try:
            return self.pods[pid]
        except KeyError:
            raise errors.NotFound("pod %s not found" % pid) from None

    def container(self, args, tty=False, stdin=False, stdin_once=False):
        """Run a container; returns (ContainerRef, ShimClient)."""
        cid = "s%s" % uuid.uuid4().hex[:8]
        _, cfg = self.env.bundle(args, name=cid, terminal=tty)
        client, _ = self.env.start(cfg=cfg, cid=cid, terminal=tty, stdin=stdin)
        client.create(terminal=tty, stdin=stdin)
        client.start()
        ref = ContainerRef(id=cid, shim_address=client.address, tty=tty, stdin=stdin, stdin_once=stdin_once,
                           running=True, process=cfg["process"])
        self.containers[cid] = ref
        return ref, client

    def close(self):
        self.server.stop()
        self.env.cleanup()


@pytest.fixture
def stack(oci_runtime, busybox_rootfs):
    s = Stack(oci_runtime, busybox_rootfs)
    yield s
    s.close()


class PodNetns:
    def __init__(self, name):
        self.name = name
        self.path = "/run/netns/" + name
        self.procs = []
        subprocess.run(["ip", "netns", "add", name], check=True)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)

    def serve(self, mode="echo", total=0, progress="/dev/null"):
        """Start a server inside (echo; hold: echo, then keep the connection; flood: send total bytes);
        returns its port."""
        proc = subprocess.Popen(["ip", "netns", "exec", self.name, sys.executable, "-c", SERVER, mode, str(total),
                                 progress], stdout=subprocess.PIPE, text=True)
        self.procs.append(proc)
        return int(proc.stdout.readline())

    def close(self):
        for proc in self.procs:
            proc.kill()
            proc.wait()
            proc.stdout.close()
        subprocess.run(["ip", "netns", "delete", self.name], check=False)


@pytest.fixture
def pod_netns():
    ns = PodNetns("gs-pf-%s" % uuid.uuid4().hex[:8])
    yield ns
    ns.close()


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def thread_names():
    return sorted(t.name for t in threading.enumerate())
