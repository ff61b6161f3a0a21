"""gantryd's side of the shims: the template that forks them, and one watcher per running process.

    shims = Shims(state_dir)
    address = shims.spawn(id, bundle, handler, shim_dir, log_path, terminal, stdin)
    client = shims.client(address)                 # a ShimClient (highlevel/shimclient.py)
    shims.watch(id, address, on_exit)              # a thread blocked in Wait; on_exit(WaitResponse | None)
    shims.close()                                  # stops the template; shims and containers live on

gantryd runs gRPC threads and never forks: the shim template (``gantry-shim
template``) is its child and forks every shim.  The template gets SIGTERM when
gantryd dies, but the shims it forked are detached, so a gantryd restart (or
``kill -9``) touches no container; the next gantryd starts a new template and
finds each shim again through the address file in the shim's state dir.  A
template that died is started again on the next spawn.

A watcher is one thread per container blocked in the shim's Wait on its own
connection (the shim answers when the container exits, at once if it has).
When the shim disappears instead (killed), the watcher reads the exit file the
shim wrote, and reports None when there is none.
"""
import logging
import os
import shutil
import subprocess
import threading
import time

from .. import errors, shimclient

log = logging.getLogger("gantry.shims")


class Shims:
    def __init__(self, state_dir, spawn_timeout=30.0):
        self.state_dir = state_dir
        self.socket = os.path.join(state_dir, "shim-template.sock")
        self.spawn_timeout = spawn_timeout
        self._template = None
        self._lock = threading.Lock()
        self._watchers = {}
        self._closed = False

    # -- template -----------------------------------------------------------------
    def _template_client(self):
        with self._lock:
            if self._template is None or self._template.poll() is not None:
                if self._template is not None:
                    log.warning("shim template exited; starting a new one",
                                extra={"fields": {"status": self._template.returncode}})
                self._template = shimclient.start_template(self.socket)
            return shimclient.TemplateClient(self.socket, timeout=self.spawn_timeout)

    def spawn(self, id, bundle, handler, shim_dir, log_path="", terminal=False, stdin=False):
        """Fork a shim for container ``id``; returns its API address."""
        try:
            reply = self._template_client().spawn(id, bundle, handler.binary, shim_dir,
                                                  runtime_root=handler.root, log_path=log_path,
                                                  terminal=terminal, stdin=stdin)
        except errors.Unavailable:
            # the template died between the check and the call: one more try with a new one
            reply = self._template_client().spawn(id, bundle, handler.binary, shim_dir,
                                                  runtime_root=handler.root, log_path=log_path,
                                                  terminal=terminal, stdin=stdin)
        return reply.address

    def client(self, address, timeout=30.0):
        return shimclient.ShimClient(address, timeout=timeout)

    # -- the end of a shim ---------------------------------------------------------------
    def release(self, id, bundle, shim_dir, address=""):
        """Make the container ``id`` and its shim go, whatever state they are in (idempotent):
        a shim that answers is told Delete(force) (killing a live container), or Shutdown when
        nothing was created in it; a shim that is gone leaves its state for ``gantry-shim delete``
        (the runtime's record goes, the exit file is read); a shim never started leaves nothing."""
        address = address if address and os.path.exists(address) else shimclient.address_in(shim_dir)
        if address:
            client = self.client(address, timeout=30)
            try:
                client.delete(force=True)
            except errors.FailedPrecondition:
                _shutdown(client)             # spawned, but Create never ran (or failed)
            except (errors.Unavailable, errors.DeadlineExceeded):
                address = None
            else:
                _wait_gone(address)
                _wait_gone(shim_dir, timeout=1.0)   # the exiting shim removes its own state dir
        if os.path.isdir(shim_dir) and not shimclient.address_in(shim_dir):
            self._delete_state(id, bundle, shim_dir)

    @staticmethod
    def _delete_state(id, bundle, shim_dir):
        proc = subprocess.run([shimclient.shim_executable(), "delete", "--id", id, "--bundle", bundle,
                               "--state-dir", shim_dir], capture_output=True, text=True, timeout=60)
        if proc.returncode != 0 and os.path.isdir(shim_dir):
            if "refus" in proc.stderr or shimclient.address_in(shim_dir):
                raise errors.Internal("remove %s: gantry-shim delete: %s" % (id, proc.stderr.strip()))
            shutil.rmtree(shim_dir, ignore_errors=True)

    # -- watchers -------------------------------------------------------------------
    def watch(self, key, address, shim_dir, on_exit):
        """Call ``on_exit(status)`` once the process exits: a WaitResponse, or a dict from the exit
        file when the shim vanished, or None when nothing recorded the exit."""
        with self._lock:
            if key in self._watchers or self._closed:
                return
            t = threading.Thread(target=self._wait, args=(key, address, shim_dir, on_exit),
                                 name="watch-%s" % key[:12], daemon=True)
            self._watchers[key] = t
        t.start()

    def _wait(self, key, address, shim_dir, on_exit):
        try:
            try:
                status = self.client(address).wait(timeout=None)
            except errors.GantryError as exc:
                record = shimclient.exit_record(shim_dir)
                if record is None:
                    log.warning("shim lost", extra={"fields": {"id": key, "error": str(exc)}})
                status = record
            if not self._closed:
                on_exit(status)
        except Exception:  # noqa: BLE001 - a watcher must never die silently
            log.exception("exit watcher failed", extra={"fields": {"id": key}})
        finally:
            with self._lock:
                self._watchers.pop(key, None)

    def close(self):
        with self._lock:
            self._closed = True
            template, self._template = self._template, None
        if template is not None and template.poll() is None:
            template.terminate()
            try:
                template.wait(5)
            except Exception:  # noqa: BLE001
                template.kill()


def _shutdown(client):
    try:
        client.shutdown()
    except errors.GantryError:
        pass
    _wait_gone(client.address)


def _wait_gone(address, timeout=5.0):
    deadline = time.monotonic() + timeout
    while os.path.exists(address) and time.monotonic() < deadline:
        time.sleep(0.005)
