"""bench/cri's peers: the images, a private containerd 1.6 with its CRI plugin, and gantryd.

Both daemons are started on their own directories and sockets and torn down completely
(pods removed over CRI, mounts, the CNI bridge and portmap chains, cgroups), as
/work/shared/conformance/README.md ("containerd 1.6 as the CRI peer") says.
"""
import ipaddress
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time

import grpc
from gantry.api import cri_pb2, cri_pb2_grpc
from gantry.highlevel.runtime import pause

from tests.fixtures import busybox
from tests.fixtures import ociimage as oi
from tests.integration.gantryd_proc import GantrydProcess, write_hosts

BUSYBOX_REPO, PAUSE_REPO, TAG = "bench/busybox", "bench/pause", "1"
PORTMAP_CHAINS = ("CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-SNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK")


# -- images -------------------------------------------------------------------------------------
def push_images(reg, workdir):
    """Build busybox (Debian's busybox) and a pause image (gantryd's 283-byte pause program as
    /pause: the bench builds it, no image from the internet) and push both; returns their refs."""
    rootfs = busybox.cached_rootfs(workdir)
    pause_layer = oi.Layer([oi.File("pause", pause.elf(), mode=0o755)])
    images = {BUSYBOX_REPO: oi.busybox_image(rootfs),
              PAUSE_REPO: oi.Image([pause_layer], entrypoint=["/pause"])}
    refs = {}
    for repo, img in images.items():
        layout = os.path.join(workdir, "layout-" + repo.replace("/", "-"))
        shutil.rmtree(layout, ignore_errors=True)
        oi.write_layout(layout, {TAG: img})
        reg.push(layout, repo, TAG)
        refs[repo] = "%s/%s:%s" % (reg.host, repo, TAG)
    return refs[BUSYBOX_REPO], refs[PAUSE_REPO]


# -- processes ----------------------------------------------------------------------------------
def lean_launcher_problem():
    """Why the venv's gantry-oci is not the lean launcher `make venv` writes, or None.  A later
    `pip install -e .` puts pip's console script back, whose site processing costs every runtime
    command ~20 ms here: a gantry-oci column measured so says nothing about gantry-oci."""
    path = os.path.join(os.path.dirname(sys.executable), "gantry-oci")
    try:
        with open(path) as f:
            first = f.readline()
    except OSError as exc:
        return "%s: %s" % (path, exc.strerror)
    if not first.rstrip().endswith(" -IS"):
        return ("%s is pip's console script, not the lean launcher (python -IS): run "
                "`%s -m gantry.lowlevel.launcher` (or make venv) first" % (path, sys.executable))
    return None


def smaps(pid):
    """(PSS, RSS) in bytes of a process, from /proc/PID/smaps_rollup."""
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Pss", "Rss"):
                out[k] = int(v.split()[0]) * 1024
    return out["Pss"], out["Rss"]


def processes():
    """{pid: (ppid, comm, cmdline bytes)} of every process readable now."""
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                stat = f.read()
            with open("/proc/%s/cmdline" % p, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        out[int(p)] = (ppid, comm, cmd)
    return out


def rmdir_cgroup(parent):
    """Remove the cgroup directory ``parent`` (and empty ones below it) in every hierarchy."""
    for hier in _cgroup_hierarchies():
        top = os.path.join(hier, parent.strip("/"))
        if not os.path.isdir(top):
            continue
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda t: -len(t[0])):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


def _cgroup_hierarchies():
    with open("/proc/self/mounts") as f:
        return [line.split()[1] for line in f if line.split()[2] in ("cgroup", "cgroup2")]


CPUACCT = "/sys/fs/cgroup/cpuacct"


class CpuMeter:
    """CPU time of a daemon and everything it starts: the daemon is moved into a cpuacct (v1)
    cgroup of its own, which its shims and the runtime commands they run inherit; the pods'
    cgroup parent is counted too (containers, and a runtime's work once it moved into them).
    A v1 parent keeps its children's charges when they are removed, so deltas of the sum are
    the CPU a cycle cost, whatever else runs on the machine."""

    def __init__(self, name, pods_parent):
        self.dirs = [os.path.join(CPUACCT, name), os.path.join(CPUACCT, pods_parent.strip("/"))]
        self.ok = os.path.isdir(CPUACCT)
        if self.ok:
            for d in self.dirs:
                os.makedirs(d, exist_ok=True)

    def adopt(self, pid):
        if self.ok:
            with open(os.path.join(self.dirs[0], "cgroup.procs"), "w") as f:
                f.write(str(pid))

    def seconds(self):
        """CPU seconds used so far (nan without cpuacct)."""
        if not self.ok:
            return float("nan")
        total = 0
        for d in self.dirs:
            with open(os.path.join(d, "cpuacct.usage")) as f:
                total += int(f.read())
        return total / 1e9

    def close(self):
        """Move whatever is left in the daemon's group out (to the root) and remove the group."""
        if not self.ok or not os.path.isdir(self.dirs[0]):
            return
        with open(os.path.join(self.dirs[0], "cgroup.procs")) as f:
            left = f.read().split()
        for pid in left:
            try:
                with open(os.path.join(CPUACCT, "cgroup.procs"), "w") as f:
                    f.write(pid)
            except OSError:
                pass
        try:
            os.rmdir(self.dirs[0])
        except OSError:
            pass


# -- a CRI peer -----------------------------------------------------------------------------------
class CriPeer:
    """What the bench needs of a daemon: stubs on one long-lived channel, its pid, its
    runtime processes, and a cleanup that removes every pod."""
    name = ""
    cgroup_parent = ""
    host_network = False      # pods in the host's network namespace (no pod network set up)

    def remove_all_pods(self):
        for pod in self.runtime.ListPodSandbox(cri_pb2.ListPodSandboxRequest(), timeout=60).items:
            self.runtime.StopPodSandbox(cri_pb2.StopPodSandboxRequest(pod_sandbox_id=pod.id), timeout=120)
            self.runtime.RemovePodSandbox(cri_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod.id), timeout=120)

    def pull(self, ref):
        return self.images.PullImage(cri_pb2.PullImageRequest(image=cri_pb2.ImageSpec(image=ref)), timeout=300).image_ref


class Containerd(CriPeer):
    """containerd 1.6 (Debian) + runc, CRI plugin on, everything private under ``base``."""
    name = "containerd"
    cgroup_parent = "/bench-cri-containerd-%d" % os.getpid()   # per bench process: two benches may run at once

    def __init__(self, base, registry_host, pause_ref, bridge=None, subnet=None):
        self.base, self.bridge = base, bridge or "gbc%d" % (os.getpid() % 1000000)
        self.subnet = subnet or free_subnet()
        self.sock = os.path.join(base, "c.sock")
        os.makedirs(base, exist_ok=True)
        self._chains_before = set(nat_chains())
        self._write_config(registry_host, pause_ref)
        self.proc = self.channel = None

    def _write_config(self, registry_host, pause_ref):
        d = self.base
        for sub in ("cni", "certs.d/" + registry_host):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        with open(os.path.join(d, "certs.d", registry_host, "hosts.toml"), "w") as f:
            f.write('server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n'
                    % (registry_host, registry_host))
        write_conflist(os.path.join(d, "cni"), self.bridge, self.subnet, os.path.join(d, "ipam"))
        with open(os.path.join(d, "config.toml"), "w") as f:
            f.write(CONTAINERD_CONFIG.format(d=d, pause=pause_ref))

    def start(self, timeout=30):
        self.log = open(os.path.join(self.base, "containerd.log"), "ab")
        self.proc = subprocess.Popen(["containerd", "--config", os.path.join(self.base, "config.toml")],
                                     stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        self.pid = self.proc.pid
        self.cpu = CpuMeter("bench-cri-containerd-daemon-%d" % os.getpid(), self.cgroup_parent)
        self.cpu.adopt(self.pid)
        self.channel = grpc.insecure_channel("unix:" + self.sock)
        self.runtime = cri_pb2_grpc.RuntimeServiceStub(self.channel)
        self.images = cri_pb2_grpc.ImageServiceStub(self.channel)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("containerd exited with %s (log %s/containerd.log)" % (self.proc.returncode, self.base))
            try:
                st = self.runtime.Status(cri_pb2.StatusRequest(), timeout=2)
                if all(c.status for c in st.status.conditions):
                    return self
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("containerd's CRI not ready within %ss (log %s/containerd.log)" % (timeout, self.base))
            time.sleep(0.1)

    def runtime_processes(self):
        """{"shim": [pid], "pause": [pid]}: the shims of this containerd (their cmdline names its
        socket) and the pause processes they run."""
        procs = processes()
        shims = [p for p, (_pp, comm, cmd) in procs.items()
                 if comm.startswith("containerd-shim") and self.sock.encode() in cmd]
        pauses = [p for p, (pp, comm, _cmd) in procs.items() if pp in shims and comm == "pause"]
        return {"shim": shims, "pause": pauses}

    def stop(self):
        """Pods removed, containerd stopped, its mounts, bridge, portmap chains and cgroups gone."""
        try:
            if self.channel is not None and self.proc.poll() is None:
                self.remove_all_pods()
        finally:
            if self.channel is not None:
                self.channel.close()
            if self.proc is not None and self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(20)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            if self.proc is not None:
                self.log.close()
            for pid in self.runtime_processes()["shim"]:      # only if a pod could not be removed
                os.kill(pid, signal.SIGKILL)
            for sub in ("state", "root"):
                subprocess.run(["umount", "-R", os.path.join(self.base, sub)], capture_output=True)
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
            remove_portmap_chains(self._chains_before)
            if self.proc is not None:
                self.cpu.close()
            rmdir_cgroup(self.cgroup_parent)
            shutil.rmtree(self.base, ignore_errors=True)


CONTAINERD_CONFIG = """version = 2
root = "{d}/root"
state = "{d}/state"
[grpc]
  address = "{d}/c.sock"
[ttrpc]
  address = "{d}/c.sock.ttrpc"
[metrics]
  address = ""
[debug]
  level = "info"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
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
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{d}/cni"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{d}/certs.d"
"""


def write_conflist(conf_dir, bridge, subnet, ipam_dir):
    """The CNI network of a bench peer: bridge (its own name and /24, host-local IPAM in a dir of
    its own, no masquerade) + portmap, as /work/shared/conformance/README.md describes."""
    os.makedirs(conf_dir, exist_ok=True)
    plugins = [{"type": "bridge", "bridge": bridge, "isGateway": True, "ipMasq": False,
                "ipam": {"type": "host-local", "dataDir": ipam_dir,
                         "ranges": [[{"subnet": subnet}]], "routes": [{"dst": "0.0.0.0/0"}]}},
               {"type": "portmap", "capabilities": {"portMappings": True}}]
    with open(os.path.join(conf_dir, "10-bench.conflist"), "w") as f:
        json.dump({"cniVersion": "0.4.0", "name": "bench-cri", "plugins": plugins}, f, indent=1)


def nat_chains():
    out = subprocess.run(["iptables", "-t", "nat", "-S"], capture_output=True, text=True).stdout
    return [line.split()[1] for line in out.splitlines() if line.startswith("-N ")]


def remove_portmap_chains(before):
    """Delete the portmap plugin's top-level nat chains that were not there before the bench, unless
    another CNI user on this machine has started using them meanwhile (a per-pod chain of its own,
    or a rule in CNI-HOSTPORT-DNAT: our pods are gone, so such rules are someone else's)."""
    rules = subprocess.run(["iptables", "-t", "nat", "-S"], capture_output=True, text=True).stdout.splitlines()
    chains = [line.split()[1] for line in rules if line.startswith("-N ")]
    in_use = any(c.startswith(("CNI-DN-", "CNI-SN-")) for c in chains) or \
        any(line.startswith("-A CNI-HOSTPORT-DNAT ") for line in rules)
    if in_use:
        return
    for chain in PORTMAP_CHAINS:
        if chain not in before and chain in chains:
            _unhook_and_delete(chain)


def _unhook_and_delete(chain):
    """Delete the rules of other nat chains that jump to ``chain``, then the chain."""
    out = subprocess.run(["iptables", "-t", "nat", "-S"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = shlex.split(line)
        if parts[:1] == ["-A"] and "-j" in parts and parts[parts.index("-j") + 1] == chain:
            subprocess.run(["iptables", "-t", "nat", "-D", *parts[1:]], capture_output=True)
    subprocess.run(["iptables", "-t", "nat", "-F", chain], capture_output=True)
    subprocess.run(["iptables", "-t", "nat", "-X", chain], capture_output=True)


def free_subnet(exclude=()):
    """A 10.231.x.0/24 that no route on this machine covers (nor one in ``exclude``)."""
    out = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True).stdout
    taken = [ipaddress.ip_network(x) for x in exclude]
    for line in out.splitlines():
        word = line.split()[0] if line.split() else ""
        if word.startswith("local") or word.startswith("broadcast"):
            word = line.split()[1]
        try:
            taken.append(ipaddress.ip_network(word, strict=False))
        except ValueError:
            continue
    for third in range(77, 250):
        net = ipaddress.ip_network("10.231.%d.0/24" % third)
        if not any(net.overlaps(t) for t in taken if t.prefixlen > 0):
            return str(net)
    raise RuntimeError("no free 10.231.x.0/24 for the bench's CNI bridge")


class Gantryd(CriPeer):
    """gantryd (python -m gantry.highlevel.daemon) on temp dirs, through tests/integration/gantryd_proc."""
    name = "gantryd"
    cgroup_parent = "/bench-cri-gantryd-%d" % os.getpid()

    def __init__(self, base, registry_host, log_level="info", net="bridge", subnet=None, bridge=None):
        """net: gantryd's network mode: "bridge" (built in), "cni" (the same conflist as
        containerd's, on a bridge and /24 of its own) or "none" (loopback only)."""
        self.base, self.net = base, net
        self.bridge = bridge or "gbg%d" % (os.getpid() % 1000000)
        self.subnet = subnet or free_subnet()
        certs = os.path.join(base, "certs.d")
        write_hosts(certs, registry_host)
        self._chains_before = set(nat_chains())
        config = '[network]\nmode = "%s"\n' % net
        if net == "bridge":
            config += 'bridge = "%s"\npod_cidr = "%s"\n' % (self.bridge, self.subnet)
        elif net == "cni":
            write_conflist(os.path.join(base, "cni"), self.bridge, self.subnet, os.path.join(base, "ipam"))
            config += 'cni_conf_dir = "%s"\ncni_bin_dirs = ["/usr/lib/cni"]\n' % os.path.join(base, "cni")
        self.gd = GantrydProcess(base, registry_config_dir=certs, extra_args=("--log-level", log_level),
                                 config_text=config)

    def start(self):
        self.gd.__enter__()
        self.runtime, self.images = self.gd.runtime, self.gd.images
        self.pid = self.gd.proc.pid
        self.cpu = CpuMeter("bench-cri-gantryd-daemon-%d" % os.getpid(), self.cgroup_parent)
        self.cpu.adopt(self.pid)     # before its first spawn: the shim template starts with the first pod
        return self

    def runtime_processes(self):
        """{"template": [pid], "shim": [pid], "pause": [pid]}: gantryd's shim template (its child),
        the shims it forked (same command line, naming this gantryd's template socket), and the
        pause processes those run (only pods sharing a PID namespace have one)."""
        procs = processes()
        sock = os.path.join(self.gd.state, "shim-template.sock").encode()
        mine = [p for p, (_pp, _c, cmd) in procs.items() if sock in cmd]
        template = [p for p in mine if procs[p][0] == self.pid]
        shims = [p for p in mine if p not in template]
        pauses = [p for p, (pp, comm, _cmd) in procs.items() if pp in shims and comm == "pause"]
        return {"template": template, "shim": shims, "pause": pauses}

    def log_text(self):
        return self.gd.log_text()

    def stop(self):
        try:
            if self.gd.proc is not None and self.gd.proc.poll() is None:
                self.remove_all_pods()
        finally:
            try:
                self.gd.__exit__(None, None, None)
            finally:
                for sub in ("state", "root"):
                    subprocess.run(["umount", "-R", os.path.join(self.base, sub)], capture_output=True)
                if getattr(self, "cpu", None):
                    self.cpu.close()
                rmdir_cgroup(self.cgroup_parent)
                self._remove_network()

    def _remove_network(self):
        """The bridge and iptables chains gantryd made (its pods are gone by now)."""
        if self.net == "bridge":
            from gantry.highlevel.network.bridge import BridgeNetwork
            net = BridgeNetwork(os.path.join(self.base, "bench-cleanup.db"), bridge=self.bridge, pod_cidr=self.subnet)
            try:
                net.remove_host_state()
            finally:
                net.close()
        elif self.net == "cni":
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
            remove_portmap_chains(self._chains_before)
