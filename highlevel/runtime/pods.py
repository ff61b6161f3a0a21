"""Pod sandboxes: RunPodSandbox, StopPodSandbox, RemovePodSandbox, status and list.

A pod is its namespaces and files, with no pause image needed:

    run:    row (creating) -> pin network/ipc/uts namespaces to files (podns.py; hostname,
            sysctls, loopback up) -> the pod's /dev/shm tmpfs -> network (NetworkPlugin.setup)
            -> hostname/hosts/resolv.conf -> the pause process, only for a pod sharing one PID
            namespace (pause.py, through a shim like any container) -> row (ready)
    stop:   every container stopped (SIGKILL) -> pause stopped -> network torn down -> notready
    remove: stop -> containers removed -> shm unmounted, namespaces unpinned, dir removed -> row gone

Any failure in ``run`` undoes the steps already done, newest first, and
deletes the row, so a failed call leaves nothing.  A gantryd killed in the
middle leaves the row in ``creating`` with what was done recorded on it;
recovery.py finishes the undo.  Stop and remove of an unknown pod succeed
(kubelet retries them).
"""
import json
import logging
import os
import time

from gantry.api import cri_pb2

from .. import errors, mounts
from ..images.snapshots import is_mounted
from ..network import PodNetwork, PortMapping, podfiles
from . import handlers as handlermod
from . import pause, podns, podspec, specsecurity
from .containers import clamp_oom_score_adj, remove_tree
from .store import Pod

log = logging.getLogger("gantry.pods")
SHM_SIZE = 64 * 1024 * 1024          # containerd's and docker's default /dev/shm size
POD = cri_pb2.POD
NODE = cri_pb2.NODE


def name_key(md):
    return "%s_%s_%s_%d" % (md.name, md.namespace, md.uid, md.attempt)


def check_metadata(config):
    md = config.metadata
    for field in ("name", "namespace", "uid"):
        if not getattr(md, field):
            raise errors.InvalidArgument("RunPodSandbox config.metadata.%s: must not be empty" % field)
        if "\0" in getattr(md, field) or len(getattr(md, field)) > 253:
            raise errors.InvalidArgument("RunPodSandbox config.metadata.%s: invalid" % field)
    total = sum(len(k) + len(v) for k, v in list(config.labels.items()) + list(config.annotations.items()))
    if total > 256 * 1024:
        raise errors.InvalidArgument("RunPodSandbox config.labels/annotations: %d bytes, more than 256 KiB" % total)


def cgroup_parent(parent, driver):
    """The pod's cgroup path: systemd-style slice names (``a-b.slice``) expand to their
    directory path (``/a.slice/a-b.slice``), as systemd lays them out."""
    if not parent:
        return ""
    base = os.path.basename(parent.rstrip("/"))
    if base.endswith(".slice") and "/" not in parent.strip("/"):
        parts = base[:-len(".slice")].split("-")
        return "/" + "/".join("-".join(parts[:i + 1]) + ".slice" for i in range(len(parts)))
    if not parent.startswith("/"):
        parent = "/" + parent
    return parent


def check_userns(config):
    """A pod in a user namespace of its own is refused (clearly): its network and IPC namespaces would
    have to be made inside it, and the rootfs id-mapped; Status does not offer user namespaces."""
    opts = config.linux.security_context.namespace_options
    if not opts.HasField("userns_options"):
        return
    where = "RunPodSandbox config.linux.security_context.namespace_options.userns_options"
    if specsecurity.userns_mappings(opts.userns_options, where) is not None:
        raise errors.Unimplemented("%s: pods in a user namespace of their own are not supported by gantryd" % where)


def namespace_modes(config):
    opts = config.linux.security_context.namespace_options
    return opts.network, opts.pid, opts.ipc


class Pods:
    def __init__(self, ctx, containers=None):
        self.ctx = ctx
        self.containers = containers        # set by the daemon (stop/remove a pod's containers)

    # -- lookups ------------------------------------------------------------------
    def get(self, pod_id, operation):
        full = self.ctx.store.resolve("pods", pod_id) if pod_id else None
        pod = self.ctx.store.get_pod(full) if full else None
        if pod is None:
            raise errors.NotFound("%s: pod sandbox %s not found" % (operation, pod_id or '""'))
        return pod

    def update_resources(self, pod_id, overhead, resources):
        """UpdatePodSandboxResources: the kubelet resizes the pod's cgroup itself (it owns the cgroup
        parent); gantryd checks the values and tells NRI plugins, as containerd and CRI-O do."""
        from . import specgen

        pod = self.get(pod_id, "UpdatePodSandboxResources")
        where = "UpdatePodSandboxResources %s" % pod.id
        overhead = specgen.linux_resources(overhead, where + " overhead", self.ctx.spec_defaults)
        resources = specgen.linux_resources(resources, where + " resources", self.ctx.spec_defaults)
        self.ctx.hooks.update_pod_sandbox(pod, overhead, resources)
        self.ctx.hooks.post_update_pod_sandbox(pod)

    def find(self, pod_id):
        full = self.ctx.store.resolve("pods", pod_id) if pod_id else None
        return self.ctx.store.get_pod(full) if full else None

    @staticmethod
    def config_of(pod):
        return cri_pb2.PodSandboxConfig.FromString(pod.config)

    # -- run ----------------------------------------------------------------------
    def run(self, config, runtime_handler=""):
        check_metadata(config)
        handler = handlermod.pick(self.ctx.handlers, runtime_handler)
        net_mode, pid_mode, ipc_mode = namespace_modes(config)
        podspec.sysctls_by_namespace(config)            # InvalidArgument for a host-wide sysctl
        check_userns(config)
        pod_id = self.ctx.new_id()
        pod = Pod(id=pod_id, name_key=name_key(config.metadata), state="creating",
                  config=config.SerializeToString(), runtime_handler=runtime_handler or "",
                  created_ns=time.time_ns(), dir=self.ctx.pod_dir(pod_id),
                  cgroup_parent=cgroup_parent(config.linux.cgroup_parent, self.ctx.cgroup_driver))
        self.ctx.store.add_pod(pod)
        try:
            self._set_up(pod, config, handler, net_mode, pid_mode, ipc_mode)
            self.ctx.hooks.run_pod_sandbox(pod, config)
            pod.state = "ready"
            self.ctx.store.put_pod(pod)
        except BaseException:
            self._undo(pod)
            raise
        self.publish(pod, "created")
        self.publish(pod, "started")
        return pod

    @staticmethod
    def _own_kinds(net_mode, ipc_mode):
        kinds = []
        if net_mode != NODE:
            kinds += ["network", "uts"]
        if ipc_mode != NODE:
            kinds.append("ipc")
        return kinds

    def _set_up(self, pod, config, handler, net_mode, pid_mode, ipc_mode):
        os.makedirs(pod.dir, mode=0o711, exist_ok=True)
        kinds = self._own_kinds(net_mode, ipc_mode)
        hostname = config.hostname or (config.metadata.name if net_mode != NODE else "")
        pod.namespaces = podns.pin(os.path.join(pod.dir, "ns"), kinds, hostname=hostname,
                                   sysctls=dict(config.linux.sysctls))
        self.ctx.store.put_pod(pod)
        if ipc_mode != NODE:
            self._mount_shm(pod, config)
        if net_mode != NODE and self.ctx.network is not None:
            pod.network = True
            self.ctx.store.put_pod(pod)
            result = self.ctx.network.setup(self._net_request(pod, config))
            pod.ips = list(result.ips)
            self.ctx.store.put_pod(pod)
        self._write_files(pod, config, net_mode, hostname)
        if pid_mode == POD:
            self._start_pause(pod, config, handler)

    def _mount_shm(self, pod, config):
        shm = os.path.join(pod.dir, "shm")
        os.makedirs(shm, mode=0o1777, exist_ok=True)
        size = SHM_SIZE
        try:
            mounts.mount("shm", shm, "tmpfs", mounts.MS_NOSUID | mounts.MS_NODEV | mounts.MS_NOEXEC,
                         "mode=1777,size=%d" % size)
        except OSError as exc:
            raise errors.Internal("RunPodSandbox: mount shm on %s: %s" % (shm, exc.strerror)) from exc
        pod.shm_mounted = True
        self.ctx.store.put_pod(pod)

    def _net_request(self, pod, config):
        protocols = {cri_pb2.TCP: "TCP", cri_pb2.UDP: "UDP", cri_pb2.SCTP: "SCTP"}
        ports = [PortMapping(protocols.get(p.protocol, "TCP"), p.container_port, p.host_port, p.host_ip)
                 for p in config.port_mappings]
        md = config.metadata
        return PodNetwork(id=pod.id, name=md.name, namespace=md.namespace, uid=md.uid,
                          netns_path=pod.namespaces["network"], port_mappings=ports,
                          dns=config.dns_config if config.HasField("dns_config") else None,
                          annotations=dict(config.annotations), cgroup_parent=pod.cgroup_parent)

    def _write_files(self, pod, config, net_mode, hostname):
        if net_mode == NODE:
            hosts = _read_host("/etc/hosts")
            hostname = hostname or os.uname().nodename
        else:
            hosts = podfiles.hosts_file(hostname, pod.ips)
        resolv = podfiles.resolv_conf(config.dns_config if config.HasField("dns_config") else None,
                                      _read_host("/etc/resolv.conf"))
        for name, text in (("hostname", hostname + "\n"), ("hosts", hosts),
                           ("resolv.conf", resolv)):
            _write_atomic(os.path.join(pod.dir, name), text)

    def etc_files(self, pod):
        return {"/etc/hostname": os.path.join(pod.dir, "hostname"), "/etc/hosts": os.path.join(pod.dir, "hosts"),
                "/etc/resolv.conf": os.path.join(pod.dir, "resolv.conf")}

    def _start_pause(self, pod, config, handler):
        infra = os.path.join(pod.dir, "infra")
        rootfs = pause.write_rootfs(os.path.join(infra, "rootfs"))
        pod.infra = {"bundle": infra, "shim_dir": self.ctx.shim_dir(pod.id)}
        self.ctx.store.put_pod(pod)
        spec = podspec.sandbox_spec(self.context_for(pod), rootfs, [pause.PROGRAM])
        clamp_oom_score_adj(spec, pod.id)
        _write_atomic(os.path.join(infra, "config.json"), json.dumps(spec))
        address = self.ctx.shims.spawn(pod.id, infra, handler, pod.infra["shim_dir"])
        pod.infra["address"] = address
        self.ctx.store.put_pod(pod)
        client = self.ctx.shims.client(address)
        client.create()
        pod.infra["pid"] = client.start()
        pod.namespaces["pid"] = "/proc/%d/ns/pid" % pod.infra["pid"]
        self.ctx.store.put_pod(pod)

    def context_for(self, pod):
        """The specgen.PodContext of a pod (what its containers join)."""
        from . import specgen

        return specgen.PodContext(id=pod.id, config=self.config_of(pod), namespaces=dict(pod.namespaces),
                                  cgroup_parent=pod.cgroup_parent,
                                  shm_path=os.path.join(pod.dir, "shm") if pod.shm_mounted else "",
                                  etc_files=self.etc_files(pod))

    # -- stop / remove ----------------------------------------------------------------
    def stop(self, pod_id):
        pod = self.find(pod_id)
        if pod is None:
            return None
        if pod.state == "ready" and not pod.stopping:
            pod.stopping = True         # before anything is released: a kill -9 from here on leaves a
            self.ctx.store.put_pod(pod)  # pod that recovery stops, never a ready pod without its network
        if self.containers is not None:
            for ctr in self.ctx.store.containers(pod.id):
                self.containers.stop(ctr.id, timeout=0)
        self._stop_pause(pod)
        self._teardown_network(pod)
        if pod.state != "notready":
            self.ctx.hooks.stop_pod_sandbox(pod)
            pod.state = "notready"
            self.ctx.store.put_pod(pod)
            self.publish(pod, "stopped")
        return pod

    def _stop_pause(self, pod):
        shim_dir = self.ctx.shim_dir(pod.id)
        if pod.infra or os.path.isdir(shim_dir):
            self.ctx.shims.release(pod.id, os.path.join(pod.dir, "infra"), shim_dir, pod.infra.get("address", ""))
        changed = pod.infra.pop("address", None) is not None
        changed = pod.namespaces.pop("pid", None) is not None or changed
        if changed:
            self.ctx.store.put_pod(pod)

    def _teardown_network(self, pod):
        if pod.network and self.ctx.network is not None:
            self.ctx.network.teardown(pod.id)
            pod.network = False
            self.ctx.store.put_pod(pod)

    def remove(self, pod_id):
        pod = self.find(pod_id)
        if pod is None:
            return
        if pod.state == "ready":
            self.stop(pod.id)
            pod = self.ctx.store.get_pod(pod.id)
        if self.containers is not None:
            for ctr in self.ctx.store.containers(pod.id):
                self.containers.remove(ctr.id)
        self.ctx.hooks.remove_pod_sandbox(pod)
        if not pod.removing:
            pod.removing = True   # before anything is released: recovery finishes a removal cut short
            self.ctx.store.put_pod(pod)
        self._release(pod)
        self.ctx.store.delete_pod(pod.id)
        self.publish(pod, "deleted")

    def _release(self, pod):
        """Undo everything a pod holds on the machine (each step idempotent)."""
        self._stop_pause(pod)
        self._teardown_network(pod)
        shm = os.path.join(pod.dir, "shm")
        if pod.shm_mounted or is_mounted(shm):
            if is_mounted(shm):
                try:
                    mounts.umount(shm)
                except OSError as exc:
                    raise errors.Internal("remove pod %s: umount %s: %s" % (pod.id, shm, exc.strerror)) from exc
            pod.shm_mounted = False
        # every file pin() may have made, recorded or not (a crash between pin and the record)
        podns.unpin({k: os.path.join(pod.dir, "ns", name) for k, name in podns.NS_FILES.items()})
        remove_tree(pod.dir)

    def _undo(self, pod):
        try:
            self._release(pod)
        except Exception as exc:  # noqa: BLE001 - the original error is the one to report
            log.error("undo of a failed RunPodSandbox left something", extra={"fields": {
                "pod": pod.id, "error": str(exc)}})
            return      # keep the row: recovery retries at the next start
        self.ctx.store.delete_pod(pod.id)

    # -- events -------------------------------------------------------------------------
    def publish(self, pod, what):
        self.ctx.events.publish(("pod", what, pod))


def _read_host(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)
