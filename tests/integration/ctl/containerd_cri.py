"""A private containerd 1.6 with its CRI plugin, as a second CRI endpoint for gantryctl's tests.

Everything is its own (shared/conformance/README.md, "containerd 1.6 as the CRI peer"): config,
root, state, socket, runc root, a hosts.toml dir for the test registry, a CNI conf dir holding one
bridge network of its own (a bridge named here, a /24 of 10.x no route uses, no masquerade and no
portmap: containerd needs the pod's eth0 address, and nothing is written to iptables), the pause
image from the test registry.  ``stop`` removes every pod over CRI first, then stops containerd,
unmounts and deletes the bridge.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import grpc
from gantry.api import cri_pb2, cri_pb2_grpc

CONFIG = """\
version = 2
root = "{d}/root"
state = "{d}/state"
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
  enable_selinux = false
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  sandbox_image = "{pause}"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{d}/runc"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{d}/certs.d"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{d}/cni"
"""


class Containerd:
    def __init__(self, base, registry_host, pause_ref, bridge=None):
        self.base, self.bridge = base, bridge or "gctl%x" % (os.getpid() & 0xffffff)
        # unix socket paths are limited to 107 bytes: the socket lives in a short private dir
        self.sockdir = tempfile.mkdtemp(prefix="ctd-", dir="/tmp")
        self.address = os.path.join(self.sockdir, "c.sock")
        for sub in ("cni", "certs.d/" + registry_host):
            os.makedirs(os.path.join(base, sub), exist_ok=True)
        with open(os.path.join(base, "certs.d", registry_host, "hosts.toml"), "w") as f:
            f.write('server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n'
                    % (registry_host, registry_host))
        with open(os.path.join(base, "cni", "10-ctl.conflist"), "w") as f:
            net = {"type": "bridge", "bridge": self.bridge, "isGateway": True, "ipMasq": False,
                   "ipam": {"type": "host-local", "dataDir": os.path.join(base, "ipam"),
                            "ranges": [[{"subnet": free_subnet()}]]}}
            json.dump({"cniVersion": "0.4.0", "name": "gantryctl-test", "plugins": [net]}, f)
        with open(os.path.join(base, "config.toml"), "w") as f:
            f.write(CONFIG.format(d=base, sock=self.address, pause=pause_ref))
        self.proc = self.channel = None

    def start(self, timeout=30):
        self._log = open(os.path.join(self.base, "containerd.log"), "ab")
        self.proc = subprocess.Popen(["containerd", "--config", os.path.join(self.base, "config.toml")],
                                     stdout=self._log, stderr=self._log, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        self.channel = grpc.insecure_channel("unix:" + self.address)
        self.runtime = cri_pb2_grpc.RuntimeServiceStub(self.channel)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("containerd exited with %s:\n%s" % (self.proc.returncode, self.log_text()))
            try:
                st = self.runtime.Status(cri_pb2.StatusRequest(), timeout=2)
                if all(c.status for c in st.status.conditions):
                    return self
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("containerd's CRI was not ready within %ss:\n%s" % (timeout, self.log_text()))
            time.sleep(0.1)

    def log_text(self):
        with open(os.path.join(self.base, "containerd.log"), errors="replace") as f:
            return f.read()[-4000:]

    def remove_all_pods(self):
        for pod in self.runtime.ListPodSandbox(cri_pb2.ListPodSandboxRequest(), timeout=30).items:
            self.runtime.StopPodSandbox(cri_pb2.StopPodSandboxRequest(pod_sandbox_id=pod.id), timeout=60)
            self.runtime.RemovePodSandbox(cri_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod.id), timeout=60)

    def stop(self):
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.remove_all_pods()
        finally:
            if self.channel is not None:
                self.channel.close()
            if self.proc is not None:
                if self.proc.poll() is None:
                    self.proc.send_signal(signal.SIGTERM)
                    try:
                        self.proc.wait(20)
                    except subprocess.TimeoutExpired:
                        self.proc.kill()
                        self.proc.wait()
                self._log.close()
            for sub in ("state", "root"):
                subprocess.run(["umount", "-R", os.path.join(self.base, sub)], capture_output=True)
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
            shutil.rmtree(self.sockdir, ignore_errors=True)


def free_subnet():
    """A 10.x.y.0/24 that no route on this machine covers."""
    import ipaddress

    routes = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True).stdout
    used = []
    for line in routes.splitlines():
        word = line.split()[0] if line.split() else ""
        word = line.split()[1] if word in ("local", "broadcast", "unicast") and len(line.split()) > 1 else word
        try:
            used.append(ipaddress.ip_network(word if "/" in word else word + "/32", strict=False))
        except ValueError:
            continue
    for third in range(200, 255):
        net = ipaddress.ip_network("10.231.%d.0/24" % third)
        if not any(net.overlaps(u) for u in used):
            return str(net)
    raise RuntimeError("no free 10.231.x.0/24 for the containerd test network")
