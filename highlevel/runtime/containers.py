"""Containers: CreateContainer, StartContainer, StopContainer, RemoveContainer, and their status.

    create: row (creating) -> snapshot (a fresh overlay on the image's layers, leased while it is
            made) mounted at <bundle>/rootfs -> user, volumes, host mounts -> config.json (specgen)
            -> a shim (from the template) -> shim Create (the runtime's create) -> row (created)
    start:  shim Start -> row (running) -> a watcher waits for the exit and records it (exited)
    stop:   the image's StopSignal (SIGTERM by default), ``timeout`` seconds, then SIGKILL to
            every process of the container; a container that is not running is left as it is
    remove: SIGKILL if running -> shim Delete (the runtime's delete; the shim exits) -> rootfs
            unmounted, snapshot and bundle removed -> row gone

A failed create undoes its steps newest first (the row records each, so
recovery.py can finish the undo after a crash).  Exits are recorded by the
watcher thread, or at start-up by recovery from the shim (or, with the shim
gone, from the exit file it left).
"""
import json
import logging
import os
import shutil
import signal
import threading
import time

from gantry.api import cri_pb2

from .. import errors
from ..images import snapshots as snapmod
from . import handlers as handlermod
from .store import Container

log = logging.getLogger("gantry.containers")
KILL_WAIT_SECONDS = 10
SNAPSHOT_PREFIX = "ctr-"


def name_key(md, pod_id):
    return "%s_%d_%s" % (md.name, md.attempt, pod_id)


def stop_signal_number(name):
    """An image config StopSignal ("SIGQUIT", "QUIT", "3") -> its number; SIGTERM when empty."""
    if not name:
        return signal.SIGTERM
    text = str(name).strip().upper()
    if text.isdigit():
        return int(text)
    if not text.startswith("SIG"):
        text = "SIG" + text
    try:
        return int(signal.Signals[text])
    except KeyError:
        raise errors.InvalidArgument("image StopSignal %r: unknown signal" % name) from None


def log_path_in(log_directory, log_path, operation="CreateContainer"):
    """The container's CRI log file, which must stay inside the pod's log directory."""
    if not log_path:
        return ""
    if not log_directory:
        raise errors.InvalidArgument("%s config.log_path: given but the pod has no log_directory" % operation)
    base = os.path.normpath(log_directory)
    full = os.path.normpath(base + "/" + log_path)
    if not full.startswith(base.rstrip("/") + "/"):
        raise errors.InvalidArgument("%s config.log_path %r: escapes the pod's log directory %s"
                                     % (operation, log_path, log_directory))
    return full


class Containers:
    def __init__(self, ctx, pods):
        self.ctx = ctx
        self.pods = pods
        self._locks = {}
        self._locks_lock = threading.Lock()

    def _lock(self, ctr_id):
        with self._locks_lock:
            return self._locks.setdefault(ctr_id, threading.Lock())

    # -- lookups -----------------------------------------------------------------------
    def find(self, ctr_id):
        full = self.ctx.store.resolve("containers", ctr_id) if ctr_id else None
        return self.ctx.store.get_container(full) if full else None

    def get(self, ctr_id, operation):
        ctr = self.find(ctr_id)
        if ctr is None:
            raise errors.NotFound("%s: container %s not found" % (operation, ctr_id or '""'))
        return ctr

    @staticmethod
    def config_of(ctr):
        return cri_pb2.ContainerConfig.FromString(ctr.config)

    def spec_of(self, ctr):
        with open(os.path.join(ctr.bundle, "config.json")) as f:
            return json.load(f)

    # -- create ------------------------------------------------------------------------
    def create(self, pod_id, config, sandbox_config=None):
        pod = self.pods.get(pod_id, "CreateContainer")
        if pod.state != "ready":
            raise errors.FailedPrecondition("CreateContainer: pod sandbox %s is not ready" % pod.id)
        md = config.metadata
        if not md.name:
            raise errors.InvalidArgument("CreateContainer config.metadata.name: must not be empty")
        pod_config = self.pods.config_of(pod)
        ref = config.image.image.strip()
        if not ref:
            raise errors.InvalidArgument("CreateContainer config.image.image: must not be empty")
        image_id = self.ctx.images.resolve(ref)
        if image_id is None:
            raise errors.NotFound("CreateContainer config.image: image %s not found" % ref)
        image_config = self.ctx.images.config(image_id)
        log_path = log_path_in(pod_config.log_directory, config.log_path)
        handler = handlermod.pick(self.ctx.handlers, pod.runtime_handler)
        ctr_id = self.ctx.new_id()
        ctr = Container(id=ctr_id, pod_id=pod.id, name_key=name_key(md, pod.id), state="creating",
                        config=config.SerializeToString(), image_ref=ref, image_id=image_id,
                        created_ns=time.time_ns(), log_path=log_path, bundle=self.ctx.bundle_dir(ctr_id),
                        shim_dir=self.ctx.shim_dir(ctr_id), runtime=pod.runtime_handler,
                        stop_signal=stop_signal_number(image_config.get("config", {}).get("StopSignal")),
                        tty=config.tty, stdin=config.stdin, stdin_once=config.stdin_once)
        self.ctx.store.add_container(ctr)
        try:
            self._set_up(ctr, config, pod, image_config, handler)
            ctr.state = "created"
            self.ctx.store.put_container(ctr)
        except BaseException:
            self._undo(ctr)
            raise
        self.ctx.hooks.post_create_container(pod, ctr)
        self.publish(ctr, "created")
        return ctr

    def _set_up(self, ctr, config, pod, image_config, handler):
        from . import hostfacts, hostmounts, specgen, userinfo

        host_paths = hostmounts.check_host_mounts(config)
        self._mount_image_volumes(ctr, config, host_paths)
        devices = hostfacts.lookup_devices(config)
        privileged = config.linux.security_context.privileged
        os.makedirs(ctr.bundle, mode=0o711, exist_ok=True)
        rootfs = os.path.join(ctr.bundle, "rootfs")
        os.makedirs(rootfs, mode=0o755, exist_ok=True)
        ctr.snapshot_key = SNAPSHOT_PREFIX + ctr.id
        self.ctx.store.put_container(ctr)
        self._prepare_rootfs(ctr, image_config, rootfs)
        user = userinfo.resolve(rootfs, config.linux.security_context, image_config.get("config", {}).get("User", ""))
        volumes = hostmounts.prepare_image_volumes(image_config, ctr.bundle, rootfs)
        spec = specgen.container_spec(ctr.id, config, self.pods.context_for(pod), image_config, rootfs, user,
                                      self.ctx.spec_defaults, volumes=volumes, host_paths=host_paths,
                                      devices=devices, host_devices=hostfacts.host_devices() if privileged else None,
                                      target_pid_ns=self._target_pid_ns(config, pod),
                                      read_profile=hostfacts.read_seccomp_profile)
        spec = self.ctx.hooks.create_container(pod, ctr, spec)
        clamp_oom_score_adj(spec, ctr.id)
        _write_json(os.path.join(ctr.bundle, "config.json"), spec)
        if ctr.log_path:
            os.makedirs(os.path.dirname(ctr.log_path), mode=0o755, exist_ok=True)
        ctr.shim_address = self.ctx.shims.spawn(ctr.id, ctr.bundle, handler, ctr.shim_dir, log_path=ctr.log_path,
                                                terminal=config.tty, stdin=config.stdin)
        self.ctx.store.put_container(ctr)
        ctr.pid = self.ctx.shims.client(ctr.shim_address).create(terminal=config.tty, stdin=config.stdin,
                                                                 log_path=ctr.log_path)

    def _mount_image_volumes(self, ctr, config, host_paths):
        """CRI mounts of an image (KEP-4639): a read-only view of the image's layers, mounted under the
        bundle, is the bind's host path (``image_sub_path``: a directory inside it, resolved there)."""
        from . import userinfo

        for i, m in enumerate(config.mounts):
            if not (m.HasField("image") and m.image.image):
                continue
            field = "CreateContainer config.mounts[%d]" % i
            if not m.readonly:
                raise errors.InvalidArgument("%s.readonly: an image volume is always read-only; set readonly" % field)
            image_id = self.ctx.images.resolve(m.image.image)
            if image_id is None:
                raise errors.NotFound("%s.image: image %s not found (pull it first)" % (field, m.image.image))
            diff_ids = self.ctx.images.config(image_id).get("rootfs", {}).get("diff_ids", [])
            key = "%svol-%s-%d" % (SNAPSHOT_PREFIX, ctr.id, i)
            target = os.path.join(ctr.bundle, "imagevols", str(i))
            os.makedirs(target, mode=0o755, exist_ok=True)
            store = self.ctx.image_store
            with store.lease() as lease:
                lease.add_snapshot(key)
                mounts = store.snapshots.view(key, parent=snapmod.chain_ids(diff_ids)[-1] if diff_ids else None)
            ctr.image_volumes.append([key, target, image_id])
            self.ctx.store.put_container(ctr)
            snapmod.mount_all(mounts, target, snapshots_root=store.snapshots.root)
            source = target
            if m.image_sub_path:
                source = userinfo.resolve_in_root(target, m.image_sub_path)
                if source is None or not os.path.isdir(source):
                    raise errors.NotFound("%s.image_sub_path: %s is not a directory in image %s"
                                          % (field, m.image_sub_path, m.image.image))
            host_paths[i] = source

    def _target_pid_ns(self, config, pod):
        """NamespaceMode TARGET: the pid namespace of another running container of the same pod."""
        opts = config.linux.security_context.namespace_options
        if opts.pid != cri_pb2.TARGET:
            return ""
        target = self.find(opts.target_id) if opts.target_id else None
        if target is None or target.pod_id != pod.id:
            raise errors.NotFound("CreateContainer namespace_options.target_id: container %s not found in pod %s"
                                  % (opts.target_id or '""', pod.id))
        if target.state != "running" or not target.pid:
            raise errors.FailedPrecondition("CreateContainer namespace_options.target_id: container %s is not running"
                                            % target.id)
        return "/proc/%d/ns/pid" % target.pid

    def _prepare_rootfs(self, ctr, image_config, rootfs):
        store = self.ctx.image_store
        diff_ids = image_config.get("rootfs", {}).get("diff_ids", [])
        parent = snapmod.chain_ids(diff_ids)[-1] if diff_ids else None
        with store.lease() as lease:
            lease.add_snapshot(ctr.snapshot_key)
            mounts = store.snapshots.prepare(ctr.snapshot_key, parent=parent, labels={"container": ctr.id})
        snapmod.mount_all(mounts, rootfs, snapshots_root=store.snapshots.root)
        ctr.rootfs_mounted = True
        self.ctx.store.put_container(ctr)

    # -- start ---------------------------------------------------------------------------
    def start(self, ctr_id):
        ctr = self.get(ctr_id, "StartContainer")
        with self._lock(ctr.id):
            ctr = self.get(ctr.id, "StartContainer")
            if ctr.state != "created":
                raise errors.FailedPrecondition("StartContainer %s: container is %s, not created" % (ctr.id, ctr.state))
            pod = self.ctx.store.get_pod(ctr.pod_id)
            self.ctx.hooks.start_container(pod, ctr)
            client = self.ctx.shims.client(ctr.shim_address)
            try:
                client.start()
            except errors.GantryError as exc:
                ctr.state, ctr.exit_code, ctr.reason = "exited", 128, "StartError"
                ctr.message, ctr.finished_ns = str(exc), time.time_ns()
                self.ctx.store.put_container(ctr)
                self.publish(ctr, "stopped")
                raise
            ctr.state, ctr.started_ns = "running", time.time_ns()
            self.ctx.store.put_container(ctr)
        self.watch(ctr)
        self.ctx.hooks.post_start_container(pod, ctr)
        self.publish(ctr, "started")

    def watch(self, ctr):
        self.ctx.shims.watch(ctr.id, ctr.shim_address, ctr.shim_dir, lambda status: self.record_exit(ctr.id, status))

    def record_exit(self, ctr_id, status):
        """The watcher's report (WaitResponse, exit-file dict, or None) onto the row."""
        with self._lock(ctr_id):
            ctr = self.ctx.store.get_container(ctr_id)
            if ctr is None or ctr.state == "exited":
                return
            ctr.state = "exited"
            if status is None:
                ctr.exit_code, ctr.finished_ns, ctr.reason = 255, time.time_ns(), "Unknown"
                ctr.message = "the container's shim disappeared without recording an exit status"
            elif isinstance(status, dict):
                ctr.exit_code, ctr.finished_ns = status["status"], status.get("exited_at_ns") or time.time_ns()
                ctr.reason = status.get("reason") or ("Completed" if ctr.exit_code == 0 else "Error")
            else:
                ctr.exit_code, ctr.finished_ns = status.exit_status, status.exited_at_ns or time.time_ns()
                ctr.reason = status.reason or ("Completed" if ctr.exit_code == 0 else "Error")
            self.ctx.store.put_container(ctr)
        self._hook_stopped(ctr)
        self.publish(ctr, "stopped")

    def _hook_stopped(self, ctr):
        try:
            self.ctx.hooks.stop_container(self.ctx.store.get_pod(ctr.pod_id), ctr)
        except Exception as exc:  # noqa: BLE001 - the exit is recorded; a plugin's error cannot undo it
            log.warning("stop_container hook failed", extra={"fields": {"id": ctr.id, "error": str(exc)}})

    # -- stop ------------------------------------------------------------------------------
    def stop(self, ctr_id, timeout=0):
        ctr = self.find(ctr_id)
        if ctr is None or ctr.state != "running":
            return
        client = self.ctx.shims.client(ctr.shim_address)
        try:
            if timeout > 0:
                client.kill(ctr.stop_signal)
                try:
                    self._wait_exit(client, ctr, timeout)
                    return
                except errors.DeadlineExceeded:
                    log.info("container did not stop in time, killing", extra={"fields": {
                        "id": ctr.id, "timeout": timeout}})
            client.kill(signal.SIGKILL, all=True)
            self._wait_exit(client, ctr, KILL_WAIT_SECONDS)
        except errors.Unavailable:
            self.record_exit(ctr.id, _exit_file(ctr))

    def _wait_exit(self, client, ctr, timeout):
        status = client.wait(timeout=timeout)
        self.record_exit(ctr.id, status)

    # -- remove ------------------------------------------------------------------------------
    def remove(self, ctr_id):
        ctr = self.find(ctr_id)
        if ctr is None:
            return
        if ctr.state == "running":
            self.stop(ctr.id, timeout=0)
            ctr = self.ctx.store.get_container(ctr.id)
        self.ctx.hooks.remove_container(self.ctx.store.get_pod(ctr.pod_id), ctr)
        if not ctr.removing:
            ctr.removing = True   # before anything is released: a kill -9 from here on leaves a row
            self.ctx.store.put_container(ctr)   # that recovery removes, not one without its rootfs
        self._release(ctr)
        self.ctx.store.delete_container(ctr.id)
        self.publish(ctr, "deleted")

    def _release(self, ctr):
        """Everything a container holds, gone (each step idempotent; for remove, undo and recovery)."""
        self.ctx.shims.release(ctr.id, ctr.bundle, ctr.shim_dir, ctr.shim_address)
        rootfs = os.path.join(ctr.bundle, "rootfs")
        if snapmod.is_mounted(rootfs):
            snapmod.unmount(rootfs)
        for key, target, _ in ctr.image_volumes:
            if snapmod.is_mounted(target):
                snapmod.unmount(target)
            if self.ctx.image_store.snapshots.exists(key):
                self.ctx.image_store.snapshots.remove(key)
        if ctr.snapshot_key and self.ctx.image_store.snapshots.exists(ctr.snapshot_key):
            self.ctx.image_store.snapshots.remove(ctr.snapshot_key)
        remove_tree(ctr.bundle)

    def _undo(self, ctr):
        try:
            self._release(ctr)
        except Exception as exc:  # noqa: BLE001 - the original error is the one to report
            log.error("undo of a failed CreateContainer left something", extra={"fields": {
                "id": ctr.id, "error": str(exc)}})
            return
        self.ctx.store.delete_container(ctr.id)

    # -- others ------------------------------------------------------------------------------
    def update_resources(self, ctr_id, linux):
        """``linux``: the CRI LinuxContainerResources, mapped as CreateContainer maps them."""
        ctr = self.get(ctr_id, "UpdateContainerResources")
        if ctr.state not in ("created", "running"):
            raise errors.FailedPrecondition("UpdateContainerResources %s: container is %s" % (ctr.id, ctr.state))
        from . import specgen

        resources = specgen.linux_resources(linux, "UpdateContainerResources linux", self.ctx.spec_defaults)
        resources = self.ctx.hooks.update_container(self.ctx.store.get_pod(ctr.pod_id), ctr, resources)
        self.ctx.shims.client(ctr.shim_address).update(resources)
        spec = self.spec_of(ctr)
        spec.setdefault("linux", {})["resources"] = {**spec.get("linux", {}).get("resources", {}), **resources}
        _write_json(os.path.join(ctr.bundle, "config.json"), spec)
        self.ctx.hooks.post_update_container(self.ctx.store.get_pod(ctr.pod_id), ctr)

    def reopen_log(self, ctr_id):
        ctr = self.get(ctr_id, "ReopenContainerLog")
        if ctr.state != "running":
            raise errors.FailedPrecondition("ReopenContainerLog %s: container is not running" % ctr.id)
        self.ctx.shims.client(ctr.shim_address).reopen_log()

    def publish(self, ctr, what):
        self.ctx.events.publish(("container", what, ctr))


def remove_tree(path):
    """rmtree, but never through a mount point left below ``path`` (it would delete its content)."""
    if not os.path.isdir(path):
        return
    left = snapmod.mounts_below(path)
    if left:
        raise errors.Internal("remove %s: still mounted below it: %s" % (path, ", ".join(left)))
    shutil.rmtree(path)


def _exit_file(ctr):
    from .. import shimclient

    return shimclient.exit_record(ctr.shim_dir)


def _oom_floor():
    """The lowest oom_score_adj this process may give its children: its own without CAP_SYS_RESOURCE."""
    try:
        with open("/proc/self/status") as f:
            caps = next(line for line in f if line.startswith("CapEff:"))
        if int(caps.split()[1], 16) & (1 << 24):
            return None
        with open("/proc/self/oom_score_adj") as f:
            return int(f.read())
    except (OSError, StopIteration, ValueError):
        return None


def clamp_oom_score_adj(spec, ctr_id):
    """Like containerd's restrict_oom_score_adj: a value below our own would be refused by the
    kernel without CAP_SYS_RESOURCE, so it becomes our own, and the log says so."""
    process = spec.get("process") or {}
    wanted = process.get("oomScoreAdj")
    floor = _oom_floor()
    if wanted is None or floor is None or wanted >= floor:
        return
    process["oomScoreAdj"] = floor
    log.info("oom_score_adj clamped (no CAP_SYS_RESOURCE)", extra={"fields": {
        "id": ctr_id, "requested": wanted, "used": floor}})


def _write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)
