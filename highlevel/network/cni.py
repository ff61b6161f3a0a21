"""CNI mode: the standard plugins, run as subprocesses, configured from cni_conf_dir.

    setup     cache the conf + args (result null) -> ADD each plugin in order, each
              result the next plugin's prevResult -> cache the final result -> pod IPs;
              a failing ADD is undone with DEL (reverse order) and its message raised
    teardown  from the cache only: DEL each plugin in reverse order (prevResult = the
              cached result for spec >= 0.4.0) -> drop the cache entry
    check     CHECK each plugin with the cached result (spec >= 0.4.0, unless disableCheck)
    status    not ready, with the reason, when there is no conf or a plugin binary is missing
"""
import logging
import os
import subprocess
import threading

from ..errors import FailedPrecondition, GantryError, Internal
from . import cni_args, cni_conf, cni_result
from .api import Network, NetworkResult
from .cni_cache import CNICache

log = logging.getLogger("gantry.network")
IFNAME = "eth0"
PLUGIN_TIMEOUT = 120
NOT_READY = "NetworkPluginNotReady"


class CNIError(Internal):
    """A plugin failed; the message is the plugin's own (msg and details)."""


class CNINetwork(Network):
    def __init__(self, conf_dir, bin_dirs, cache_dir):
        self.conf_dir = conf_dir
        self.bin_dirs = list(bin_dirs)
        self.cache = CNICache(cache_dir)
        self.pod_cidr = ""
        self._lock = threading.Lock()

    # configuration -----------------------------------------------------------------------------
    def load_conf(self):
        """(file path, conf) of the conf libcni would use; FailedPrecondition when there is none."""
        try:
            names = os.listdir(self.conf_dir)
        except OSError as exc:
            raise FailedPrecondition("cni config uninitialized: no network config in %s (%s)"
                                     % (self.conf_dir, exc.strerror)) from exc
        name = cni_conf.pick_conf_file(names)
        if name is None:
            raise FailedPrecondition("cni config uninitialized: no network config in %s" % self.conf_dir)
        path = os.path.join(self.conf_dir, name)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise FailedPrecondition("cni config %s: %s" % (path, exc.strerror)) from exc
        return path, cni_conf.parse_conf(path, data)

    def find_plugin(self, kind):
        for directory in self.bin_dirs:
            path = os.path.join(directory, kind)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
        raise FailedPrecondition("cni plugin %s not found in %s" % (kind, ":".join(self.bin_dirs)))

    def status(self):
        try:
            _, conf = self.load_conf()
            for plugin in conf["plugins"]:
                self.find_plugin(plugin["type"])
        except FailedPrecondition as exc:
            return (False, NOT_READY, str(exc))
        return (True, "", "")

    def update_pod_cidr(self, cidr):
        with self._lock:
            self.pod_cidr = cidr or ""

    # pod lifecycle ------------------------------------------------------------------------------
    def setup(self, pod):
        if self.cache.read(pod.id) is not None:
            self.teardown(pod.id)
        path, conf = self.load_conf()
        with self._lock:
            pod_cidr = self.pod_cidr
        entry = {"conf_file": path, "conf": conf, "netns": pod.netns_path, "ifname": IFNAME,
                 "cni_args": cni_args.cni_args(pod), "capability_args": cni_args.capability_args(pod, pod_cidr),
                 "result": None}
        self.cache.write(pod.id, entry)
        result = None
        try:
            for plugin in conf["plugins"]:
                result = self._invoke("ADD", pod.id, entry, plugin, result)
            entry["result"] = result
            self.cache.write(pod.id, entry)
            ips = cni_result.pod_ips("cni network %s ADD" % conf["name"], result or {}, IFNAME)
        except BaseException as exc:
            try:
                self.teardown(pod.id)
            except GantryError as undo:
                log.warning("undo cni ADD of pod %s: %s", pod.id, undo)
            if isinstance(exc, GantryError):
                raise
            raise Internal("cni ADD of pod %s: %s" % (pod.id, exc)) from exc
        return NetworkResult(ips=ips, interface=IFNAME)

    def teardown(self, pod_id):
        entry = self.cache.read(pod_id)
        if entry is None:
            return
        conf = entry["conf"]
        prev = entry.get("result") if cni_conf.version_at_least(conf["cniVersion"], "0.4.0") else None
        if not os.path.exists(entry["netns"]):
            entry = dict(entry, netns="")           # the spec allows DEL without a netns
        for plugin in reversed(conf["plugins"]):
            self._invoke("DEL", pod_id, entry, plugin, prev)
        self.cache.remove(pod_id)

    def check(self, pod_id):
        """CHECK the pod's attachment; FailedPrecondition when there is nothing to check."""
        entry = self.cache.read(pod_id)
        if entry is None or entry.get("result") is None:
            raise FailedPrecondition("cni CHECK of pod %s: no cached result" % pod_id)
        conf = entry["conf"]
        if conf.get("disableCheck") or not cni_conf.version_at_least(conf["cniVersion"], "0.4.0"):
            return
        for plugin in conf["plugins"]:
            self._invoke("CHECK", pod_id, entry, plugin, entry["result"])

    def recover(self, live_pod_ids):
        for name in self.cache.remove_temporaries():   # written before ADD ran: nothing to undo
            log.info("removed half-written cni cache file %s", name)
        for pod_id in sorted(self.cache.pod_ids() - set(live_pod_ids)):
            try:
                self.teardown(pod_id)
                log.info("released cni network of gone pod %s", pod_id)
            except GantryError as exc:
                log.warning("release cni network of gone pod %s: %s", pod_id, exc)

    # one plugin call ------------------------------------------------------------------------------
    def _invoke(self, command, pod_id, entry, plugin, prev_result):
        conf = entry["conf"]
        what = "cni plugin %s %s (network %s, pod %s)" % (plugin["type"], command, conf["name"], pod_id)
        binary = self.find_plugin(plugin["type"])
        stdin = cni_conf.plugin_stdin(conf, plugin, prev_result, entry["capability_args"])
        env = cni_args.plugin_env(os.environ, command, pod_id, entry["netns"], entry["ifname"],
                                  entry["cni_args"], self.bin_dirs)
        try:
            proc = subprocess.run([binary], input=stdin, env=env, capture_output=True,
                                  timeout=PLUGIN_TIMEOUT, cwd="/")
        except subprocess.TimeoutExpired as exc:
            raise CNIError("%s: no answer in %d s" % (what, PLUGIN_TIMEOUT)) from exc
        except OSError as exc:
            raise CNIError("%s: exec %s: %s" % (what, binary, exc.strerror)) from exc
        if proc.returncode != 0:
            raise CNIError(cni_result.error_message(what, proc.stdout, proc.stderr, proc.returncode))
        if command != "ADD":
            return prev_result
        result, _ = cni_result.parse_result(what, proc.stdout, entry["ifname"])
        return result
