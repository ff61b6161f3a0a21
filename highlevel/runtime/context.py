"""What pods and containers share: settings, stores, shims, handlers, network, events.

The daemon builds one ``RuntimeContext`` (daemon.py) and hands it to the pod
and container managers; nothing in it is global, so tests build their own.

Directories under gantryd's state dir (a tmpfs on a real machine: nothing
here outlives a reboot, and nothing should)::

    <state>/pods/<id>/        ns/{net,ipc,uts} (pinned namespaces), shm/ (the pod's /dev/shm),
                              hostname, hosts, resolv.conf, infra/ (the pause rootfs and bundle)
    <state>/containers/<id>/  the OCI bundle: config.json, rootfs/ (the overlay mount)
    <state>/shims/<id16>/     the shim's state dir (address, exit file, logs; shim/cli.py)
    <state>/runtimes/<name>/  each handler's --root

Persistent: ``<root>/runtime.db`` (store.py) and the image store's snapshots.
"""
import os
import secrets
from dataclasses import dataclass, field

from .hooks import Hooks

SHORT_ID = 16


@dataclass
class RuntimeContext:
    state: str                       # gantryd's state dir
    store: object                    # store.RuntimeStore
    images: object                   # images.service.ImageService (resolve, config)
    image_store: object              # images.store.ImageStore (snapshots, leases)
    shims: object                    # shims.Shims
    handlers: dict                   # name -> handlers.Handler
    events: object                   # events.Events
    network: object = None           # highlevel.network Network, or None (loopback only)
    cgroup_driver: str = "cgroupfs"
    spec_defaults: object = None     # specgen.SpecDefaults
    hooks: object = field(default_factory=Hooks)     # hooks.Hooks: where NRI plugs in
    extra: dict = field(default_factory=dict)

    def pod_dir(self, pod_id):
        return os.path.join(self.state, "pods", pod_id)

    def bundle_dir(self, ctr_id):
        return os.path.join(self.state, "containers", ctr_id)

    def shim_dir(self, ctr_id):
        # a unix socket path has 107 bytes: the shim's dir takes 16 hex digits of the id (ids are
        # drawn so that no two objects share them: new_id)
        return os.path.join(self.state, "shims", ctr_id[:SHORT_ID])

    def new_id(self):
        """A random 64-hex id whose short form names no pod, container or shim dir yet."""
        while True:
            candidate = secrets.token_hex(32)
            short = candidate[:SHORT_ID]
            if not os.path.exists(self.shim_dir(candidate)) and self.store.resolve_short(short) is None:
                return candidate
