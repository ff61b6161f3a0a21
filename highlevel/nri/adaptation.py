"""The runtime's NRI endpoint: a unix socket where plugins connect, and delivery of events to them.

    nri = Adaptation(socket_path, snapshot, apply_updates, registration_timeout=5, request_timeout=2)
    nri.start()                                   listening (socket mode 0600)
    answers = nri.deliver(event, method, request, response_cls, fail=True)
    nri.close()                                   Shutdown to each plugin, socket removed

``snapshot()`` -> (pods, containers) as NRI messages: what a new plugin is
synchronized with.  ``apply_updates([ContainerUpdate])`` -> the ones that
failed: resources a plugin changes on containers other than the one at hand.

One lock orders everything: an event goes to every subscribed plugin, in
index order, before the next event; a new plugin's Synchronize holds the lock
too, so an event is either in its snapshot or delivered to it afterwards
(a CRI call that needs a hook waits while a plugin synchronizes).  A plugin
that does not answer in time, or whose connection drops, is disconnected and
the call goes on without it; an error it answers fails the call when
``fail`` is set (RunPodSandbox, CreateContainer, StartContainer,
UpdateContainer), and is only logged otherwise.
"""
import logging
import os
import socket
import stat
import threading

from .. import errors
from .conn import CallError, CallTimeout, Closed, Connection
from .plugin import Plugin

log = logging.getLogger("gantry.nri")
RUNTIME_NAME = "gantry"
RUNTIME_VERSION = "0.1.0"


class PluginError(errors.GantryError):
    """A plugin refused an operation (its own error, passed on)."""


class Adaptation:
    def __init__(self, socket_path, snapshot, apply_updates=None, registration_timeout=5.0, request_timeout=2.0):
        self.socket_path = socket_path
        self.snapshot = snapshot
        self.apply_updates = apply_updates or (lambda updates: list(updates))
        self.registration_timeout = registration_timeout
        self.request_timeout = request_timeout
        self.lock = threading.RLock()
        self._plugins = []                  # registered and synchronized, in index order
        self._listener = None
        self._closing = False

    # -- the socket --------------------------------------------------------------------------
    def start(self):
        os.makedirs(os.path.dirname(self.socket_path) or ".", mode=0o700, exist_ok=True)
        try:
            if stat.S_ISSOCK(os.lstat(self.socket_path).st_mode):
                os.unlink(self.socket_path)             # left by an earlier gantryd
            else:
                raise errors.FailedPrecondition("nri: %s exists and is not a socket" % self.socket_path)
        except FileNotFoundError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(self.socket_path)
        except OSError as exc:
            sock.close()
            raise errors.FailedPrecondition("nri: bind %s: %s" % (self.socket_path, exc)) from exc
        finally:
            os.umask(old)
        os.chmod(self.socket_path, 0o600)
        sock.listen(16)
        self._listener = sock
        threading.Thread(target=self._accept_loop, name="nri-accept", daemon=True).start()
        log.info("nri listening", extra={"fields": {"socket": self.socket_path}})

    def _accept_loop(self):
        while not self._closing:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._admit, args=(sock,), name="nri-register", daemon=True).start()

    def _admit(self, sock):
        """Registration, Configure, Synchronize: then the plugin gets events."""
        plugin = Plugin(on_update=self.apply_updates)
        plugin.conn = Connection(sock, plugin.serve, on_close=lambda _c: self._forget(plugin))
        plugin.conn.start()
        try:
            if not plugin.registered.wait(self.registration_timeout):
                raise CallTimeout("no RegisterPlugin in %.1fs" % self.registration_timeout)
            plugin.configure(RUNTIME_NAME, RUNTIME_VERSION, self.registration_timeout, self.request_timeout)
            with self.lock:
                pods, containers = self.snapshot()
                updates = plugin.synchronize(pods, containers, self.registration_timeout)
                if plugin.conn.closed:
                    raise Closed("connection closed while synchronizing")
                self._plugins.append(plugin)
                self._plugins.sort(key=lambda p: p.order)
                if updates:
                    self._apply(plugin, updates)
        except (CallError, ValueError) as exc:
            log.warning("nri plugin not admitted", extra={"fields": {"plugin": repr(plugin), "error": str(exc)}})
            plugin.conn.close()
            return
        log.info("nri plugin admitted", extra={"fields": {"plugin": repr(plugin), "events": hex(plugin.events),
                                                          "pods": len(pods), "containers": len(containers)}})

    def _forget(self, plugin):
        with self.lock:
            if plugin in self._plugins:
                self._plugins.remove(plugin)
                log.info("nri plugin disconnected", extra={"fields": {"plugin": repr(plugin)}})

    @property
    def plugins(self):
        with self.lock:
            return list(self._plugins)

    # -- events ----------------------------------------------------------------------------------
    def deliver(self, event, method, request, response_cls, fail=True):
        """``request`` to each plugin subscribed to ``event``, in order -> [(plugin, response)].

        Call with ``self.lock`` held when the caller must act on the answers before the next event."""
        answers = []
        with self.lock:
            for plugin in list(self._plugins):
                if not plugin.subscribed(event):
                    continue
                try:
                    answers.append((plugin, plugin.call(method, request, response_cls, self.request_timeout)))
                except (CallTimeout, Closed) as exc:
                    log.warning("nri plugin dropped", extra={"fields": {"plugin": repr(plugin), "event": method,
                                                                        "error": str(exc)}})
                    plugin.conn.close()
                except CallError as exc:
                    if fail:
                        raise PluginError("%s: NRI plugin %r failed: %s" % (method, plugin, exc)) from exc
                    log.warning("nri plugin error", extra={"fields": {"plugin": repr(plugin), "event": method,
                                                                      "error": str(exc)}})
        return answers

    def _apply(self, plugin, updates):
        failed = self.apply_updates(updates)
        for u in failed:
            log.warning("nri update failed", extra={"fields": {"plugin": repr(plugin), "container": u.container_id}})

    def close(self):
        self._closing = True
        if self._listener is not None:
            self._listener.close()
            try:
                os.unlink(self.socket_path)
            except OSError:
                pass
        for plugin in self.plugins:
            try:
                plugin.shutdown(self.request_timeout)
            except CallError:
                pass
            plugin.conn.close()
