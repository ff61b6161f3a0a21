"""The streaming server driven by the real client: crictl (client-go's SPDY and WebSocket code).

A small CRI endpoint in this process answers only what crictl needs here
(ImageFsInfo for its connection check, Version, Exec, Attach, PortForward)
with the StreamingServer's URLs; the containers are real (shim → gantry-oci).
"""
import fcntl
import os
import pty
import socket
import struct
import subprocess
import termios
import threading
import time
from concurrent import futures

import grpc
import pytest
from gantry.api import cri_pb2, cri_pb2_grpc
from gantry.highlevel.streaming.backend import PodRef

pytestmark = [pytest.mark.root]

CRICTL = "/work/suites/bin/crictl"
TRANSPORTS = ["spdy", "websocket"]


class _Runtime(cri_pb2_grpc.RuntimeServiceServicer):
    def __init__(self, server):
        self.server = server

    def Version(self, request, context):
        return cri_pb2.VersionResponse(version="0.1.0", runtime_name="gantry", runtime_version="0.1.0",
                                       runtime_api_version="v1")

    def Exec(self, request, context):
        return cri_pb2.ExecResponse(url=self.server.get_exec(request))

    def Attach(self, request, context):
        return cri_pb2.AttachResponse(url=self.server.get_attach(request))

    def PortForward(self, request, context):
        return cri_pb2.PortForwardResponse(url=self.server.get_port_forward(request))


class _Images(cri_pb2_grpc.ImageServiceServicer):
    def ImageFsInfo(self, request, context):
        return cri_pb2.ImageFsInfoResponse()


@pytest.fixture
def crictl(stack, tmp_path):
    if not os.path.exists(CRICTL):
        pytest.skip("%s is not built (see /work/shared/conformance/README.md)" % CRICTL)
    sock = str(tmp_path / "cri.sock")
    grpc_server = grpc.server(futures.ThreadPoolExecutor(4))
    cri_pb2_grpc.add_RuntimeServiceServicer_to_server(_Runtime(stack.server), grpc_server)
    cri_pb2_grpc.add_ImageServiceServicer_to_server(_Images(), grpc_server)
    grpc_server.add_insecure_port("unix://" + sock)
    grpc_server.start()
    config = tmp_path / "crictl.yaml"
    config.write_text("runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 10\n" % (sock, sock))

    def run(*args, stdin=b"", timeout=30):
        return subprocess.run([CRICTL, "--config", str(config), *args], input=stdin, capture_output=True,
                              timeout=timeout)

    run.config = str(config)
    yield run
    grpc_server.stop(0)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_crictl_exec(stack, crictl, transport):
    ref, _ = stack.container(["sleep", "1000"])
    out = crictl("exec", "--transport", transport, ref.id, "sh", "-c", "echo out; echo err >&2")
    assert (out.returncode, out.stdout, out.stderr.splitlines()[-1:]) == (0, b"out\n", [b"err"])
    out = crictl("exec", "--transport", transport, ref.id, "sh", "-c", "exit 3")
    assert out.returncode == 1 and b"command terminated with exit code 3" in out.stderr
    out = crictl("exec", "--transport", transport, ref.id, "no-such-binary")
    assert out.returncode == 1 and b"exit code 127" in out.stderr
    out = crictl("exec", "--transport", transport, "-i", ref.id, "sh", "-c", "cat; echo end", stdin=b"piped\n")
    assert (out.returncode, out.stdout) == (0, b"piped\nend\n")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_crictl_attach(stack, crictl, transport):
    ref, client = stack.container(["sh", "-c", "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.1; done"])
    proc = subprocess.Popen([CRICTL, "--config", crictl.config, "attach", "--transport", transport, ref.id],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = proc.stdout.readline()
        assert line.startswith(b"tick-")
        client.kill(9)
        proc.wait(timeout=20)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def _echo_roundtrip(port, message):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(message)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_crictl_port_forward(stack, crictl, pod_netns, transport):
    pod_port = pod_netns.serve("echo")
    stack.pods["pod1"] = PodRef("pod1", pod_netns.path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        local = probe.getsockname()[1]
    proc = subprocess.Popen([CRICTL, "--config", crictl.config, "port-forward", "--transport", transport, "pod1",
                             "%d:%d" % (local, pod_port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert b"Forwarding from" in proc.stdout.readline()
        results = {}
        threads = [threading.Thread(target=lambda i=i: results.setdefault(i, _echo_roundtrip(local, b"m%d" % i * 1000)))
                   for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert results == {0: b"m0" * 1000, 1: b"m1" * 1000}
        assert _echo_roundtrip(local, b"again") == b"again"  # the session lives on after both ended
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
    deadline = time.monotonic() + 15
    while stack.server.active_connections() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stack.server.active_connections() == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_crictl_exec_tty(stack, crictl, transport):
    """crictl exec -it on a terminal of 33x101: the process sees that size, typed input, and its exit code."""
    ref, _ = stack.container(["sleep", "1000"])
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
    proc = subprocess.Popen([CRICTL, "--config", crictl.config, "exec", "-it", "--transport", transport, ref.id,
                             "sh", "-c", "read line; stty size; echo got-$line; exit 5"],
                            stdin=slave, stdout=slave, stderr=subprocess.PIPE, start_new_session=True)
    os.close(slave)
    try:
        time.sleep(1)
        os.write(master, b"hello\r")
        output = b""
        deadline = time.monotonic() + 20
        while b"got-hello" not in output and time.monotonic() < deadline:
            try:
                output += os.read(master, 4096)
            except OSError:
                break
        proc.wait(20)
        assert b"33 101" in output and b"got-hello" in output, output
        assert proc.returncode == 1 and b"exit code 5" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
        os.close(master)
