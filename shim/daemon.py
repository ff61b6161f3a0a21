"""One shim's life once it is detached: serve the API until the container is gone.

    become a child subreaper
    bind <state dir>/shim.sock (0600), write <state dir>/address atomically
    tell the starter "ready"           (it exits 0 / answers Spawn)
    loop: API calls, container output, SIGCHLD
    after Delete: remove the state files, flush the replies, exit

The state directory holds, while the shim lives: ``shim.lock`` (flock held
for the shim's whole life: a second start sees it and answers the running
shim's address), ``shim.pid``, ``address``, ``shim.sock``, ``runtime.log``,
``shim.log`` (the shim's own stderr) and, once the init exited, ``exit``.
"""
import os
import shutil
import sys
import traceback

from gantry.api import shimcalls
from gantry.api.shimstate import ADDRESS, LOCK, PIDFILE, SOCKET  # noqa: F401  (the state dir layout)

from . import reaper as reaper_mod
from .loop import Loop
from .server import Server, listen
from .service import ShimService

GRACE_SECONDS = 2.0


def write_atomic(path, text):
    """Temp file + rename: a reader sees all of it or nothing.  No fsync: these files only
    matter while the shim lives, and a machine crash ends the shim too."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.rename(tmp, path)


def remove_state(state_dir):
    """Everything the shim put in its state directory, and the directory if that empties it."""
    for name in os.listdir(state_dir) if os.path.isdir(state_dir) else []:
        path = os.path.join(state_dir, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
    try:
        os.rmdir(state_dir)
    except OSError:
        pass


class Shim:
    def __init__(self, config):
        self.cfg = config
        self.loop = Loop()
        self.service = ShimService(self.loop, config)
        self.address = config.path(SOCKET)
        self.server = None
        self.reaper = None
        self.remove_state_at_exit = False
        self.finishing = False

    def bind(self):
        reaper_mod.become_subreaper()
        self.server = Server(self.loop, listen(self.address), self.service.handlers(), shimcalls.CALLS)
        self.reaper = reaper_mod.Reaper(self.loop, self.service.on_child_exit)
        self.service.reap_now = self.reaper.reap
        self.service.on_finished = self.finish
        write_atomic(self.cfg.path(PIDFILE), "%d\n" % os.getpid())
        write_atomic(self.cfg.path(ADDRESS), self.address + "\n")
        return self.address

    def finish(self, remove_state):
        """Exit soon: once every reply is flushed (at most GRACE_SECONDS)."""
        if self.finishing:
            self.remove_state_at_exit = self.remove_state_at_exit or remove_state
            return
        self.finishing = True
        self.remove_state_at_exit = remove_state
        try:
            os.unlink(self.address)  # nobody new connects
        except FileNotFoundError:
            pass
        deadline = [GRACE_SECONDS / 0.01]

        def check():
            deadline[0] -= 1
            if not self.server.pending_output() or deadline[0] <= 0:
                self.loop.stop()
            else:
                self.loop.call_later(0.01, check)
        self.loop.call_later(0, check)

    def run(self):
        try:
            self.loop.run()
        finally:
            self.server.close()
            if self.remove_state_at_exit:
                remove_state(self.cfg.state_dir)
            else:
                for name in (ADDRESS, PIDFILE):
                    try:
                        os.unlink(self.cfg.path(name))
                    except FileNotFoundError:
                        pass


def serve_detached(config, notify):
    """The body of a detached shim process: bind, tell notify(ok, pid, address or error), serve, exit."""
    try:
        shim = Shim(config)
        address = shim.bind()
    except BaseException as e:
        notify(False, os.getpid(), str(e))
        os._exit(1)
    try:
        notify(True, os.getpid(), address)
    except OSError:
        pass  # the starter is gone; the shim serves all the same
    code = 0
    try:
        shim.run()
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stderr.flush()
    os._exit(code)
