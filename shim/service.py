"""The shim task API: one handler per call of shim.proto, in one dispatch table.

Each handler takes the decoded request and its ``Call``; it returns the
response message, or ``PENDING`` when it answers later (Wait, Attach).
Preconditions are checked against the process state table (task.py) before
the runtime is run, so a refused call changes nothing.  The OCI runtime runs
synchronously: it takes milliseconds, and while it runs nothing else may reap
(see reaper.py).
"""
import json
import os
import signal
import time

from gantry.api import shim_pb2, shimcalls, shimstate

from . import reaper
from .cgroup import Cgroups
from .console import ConsoleSocket
from .errors import AlreadyExists, FailedPrecondition, Internal, InvalidArgument, NotFound
from .io import ProcessIO
from .oom import OomWatch
from .runtime import Runtime, RuntimeFailed
from .server import PENDING
from .task import CREATED, DELETED, NEW, PAUSED, RUNNING, STOPPED, Process, describe
from .warmexec import WarmExec, runtime_supports

INIT = ""
KILL_WAIT_SECONDS = 10


def _check_path(value, what):
    """A path a request names: os calls would raise ValueError for a NUL in it."""
    if "\0" in value:
        raise InvalidArgument("%s %r: a path may not contain a NUL byte" % (what, value))


class Config:
    """What `gantry-shim start` (or a template Spawn) was told."""

    FIELDS = ("id", "bundle", "runtime", "runtime_root", "state_dir", "log_path", "terminal", "stdin")

    def __init__(self, id, bundle, runtime, state_dir, runtime_root="", log_path="", terminal=False, stdin=False):
        self.id = id
        self.bundle = os.path.abspath(bundle)
        self.runtime = runtime
        self.runtime_root = runtime_root
        self.state_dir = os.path.abspath(state_dir)
        self.log_path = os.path.abspath(log_path) if log_path else ""
        self.terminal = terminal
        self.stdin = stdin

    def path(self, name):
        return os.path.join(self.state_dir, name)


class ShimService:
    def __init__(self, loop, config):
        self.loop = loop
        self.cfg = config
        self.runtime = Runtime(config.runtime, config.runtime_root, log_path=config.path("runtime.log"))
        self.procs = {}  # exec_id -> Process
        self.by_pid = {}  # pid -> Process, until reaped
        self.cgroups = None
        self.oom = None
        self.exec_seq = 0
        self.on_finished = None  # callable(remove_state) once the shim should exit
        self.reap_now = lambda: None  # set by the shim: reap synchronously
        self.warm = WarmExec(loop, self.runtime.spawn, runtime_supports(config.runtime))

    def handlers(self):
        table = {name: getattr(self, name) for name in shimcalls.CALLS}
        return table

    # -- helpers ----------------------------------------------------------------
    def process(self, exec_id):
        p = self.procs.get(exec_id)
        if p is None:
            if exec_id == INIT:
                raise FailedPrecondition("container %s is not created" % self.cfg.id)
            raise NotFound("exec %r: no such process in container %s" % (exec_id, self.cfg.id))
        return p

    def init(self):
        return self.process(INIT)

    def _run(self, argv, **kw):
        try:
            return self.runtime.run(argv, **kw)
        except RuntimeFailed as e:
            raise Internal(str(e)) from e

    @staticmethod
    def _read_pid(path):
        try:
            with open(path) as f:
                return int(f.read().strip())
        except (OSError, ValueError) as e:
            raise Internal("read pid file %s: %s" % (path, e)) from e

    def _spawn_with_runtime(self, p, argv_for, pid_file, console_path, warm=None):
        """Run a runtime create/exec for p with its stdio; set p.pid and its terminal."""
        console = ConsoleSocket(console_path) if p.terminal else None
        stdio = p.io.null_stdio() if p.terminal else p.io.make_pipes()
        try:
            self._run(argv_for(console_path if console else ""), stdin=stdio[0], stdout=stdio[1], stderr=stdio[2],
                      warm=warm)
            if console:
                p.io.set_pty(console.receive_master())
        finally:
            p.io.close_child_fds()
            if console:
                console.close()
        p.pid = self._read_pid(pid_file)
        os.unlink(pid_file)
        self.by_pid[p.pid] = p
        p.io.start()

    # -- exits ---------------------------------------------------------------------
    def on_child_exit(self, pid, wait_status):
        if self.warm.on_exit(pid, wait_status):
            return  # the idle warm process died unused
        p = self.by_pid.pop(pid, None)
        if p is None:
            return  # a runtime helper or an orphan: reaped, nothing to record
        p.exit_status = reaper.status_of(wait_status)
        p.exited_at_ns = time.time_ns()
        if p.exec_id == INIT:
            p.reason = self.oom.reason_at_exit() if self.oom else ""
            shimstate.write_exit(self.cfg.state_dir, pid, p.exit_status, p.exited_at_ns, p.reason)
        p.io.drain()
        p.io.end_attaches()
        if p.state != DELETED:
            p.transition("exit")
        waiters, p.waiters = p.waiters, []
        for w in waiters:
            w(p)

    def _kill_and_reap(self, p):
        """SIGKILL a live process we are the parent of and collect its exit at once."""
        if p.state == PAUSED:
            try:
                self.runtime.run(self.runtime.resume_argv(self.cfg.id))
            except RuntimeFailed:
                pass
        if p.pid in self.by_pid:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + KILL_WAIT_SECONDS
            while True:  # bounded: a frozen or D-state process must not hang the shim
                pid, status = os.waitpid(p.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    raise Internal("kill %s (pid %d): still alive %ss after SIGKILL" % (
                        describe(p.exec_id), p.pid, KILL_WAIT_SECONDS))
                time.sleep(0.005)
            self.on_child_exit(p.pid, status)

    # -- calls -----------------------------------------------------------------------
    def Connect(self, req, call):
        p = self.procs.get(INIT)
        return shim_pb2.ConnectResponse(shim_pid=os.getpid(), task_pid=p.pid if p else 0,
                                        version=shimcalls.API_VERSION, id=self.cfg.id)

    def Create(self, req, call):
        if INIT in self.procs:
            raise AlreadyExists("create %s: already created" % self.cfg.id)
        if req.id and req.id != self.cfg.id:
            raise InvalidArgument("create %s: this shim owns container %s" % (req.id, self.cfg.id))
        _check_path(req.bundle, "create %s: bundle" % self.cfg.id)
        _check_path(req.log_path, "create %s: log_path" % self.cfg.id)
        if req.bundle and os.path.realpath(req.bundle) != os.path.realpath(self.cfg.bundle):
            raise InvalidArgument("create %s: bundle %s is not the shim's %s" % (self.cfg.id, req.bundle, self.cfg.bundle))
        p = Process(INIT, terminal=req.terminal or self.cfg.terminal, stdin=req.stdin or self.cfg.stdin,
                    log_path=os.path.abspath(req.log_path) if req.log_path else self.cfg.log_path)
        p.io = ProcessIO(self.loop, p.terminal, p.stdin, p.log_path)
        pid_file = self.cfg.path("init.pid")
        try:
            self._spawn_with_runtime(
                p, lambda console: self.runtime.create_argv(self.cfg.id, self.cfg.bundle, pid_file, console),
                pid_file, self.cfg.path("console.sock"))
        except BaseException:
            p.io.close()
            raise
        p.transition("create")
        self.procs[INIT] = p
        self.cgroups = Cgroups.locate(p.pid)
        self.oom = OomWatch(self.cgroups)
        self.oom.watch(self.loop)
        return shim_pb2.CreateResponse(pid=p.pid)

    def Start(self, req, call):
        p = self.process(req.exec_id)
        p.check("start")
        if p.exec_id == INIT:
            self._run(self.runtime.start_argv(self.cfg.id))
        else:
            if self.init().state != RUNNING:
                raise FailedPrecondition("start %s: container is %s" % (describe(p.exec_id), self.init().state))
            self.exec_seq += 1
            pid_file = self.cfg.path("exec-%d.pid" % self.exec_seq)
            try:
                self._spawn_with_runtime(
                    p, lambda console: self.runtime.exec_argv(self.cfg.id, p.spec_file, pid_file, console),
                    pid_file, self.cfg.path("exec-%d.sock" % self.exec_seq), warm=self.warm)
            finally:
                self.warm.executed(self.runtime.binary)
            os.unlink(p.spec_file)
            p.spec_file = ""
        p.transition("start")
        return shim_pb2.StartResponse(pid=p.pid)

    def State(self, req, call):
        p = self.process(req.exec_id)
        return shim_pb2.StateResponse(
            id=self.cfg.id, exec_id=p.exec_id, bundle=self.cfg.bundle, pid=p.pid, status=p.wire_status(),
            terminal=p.terminal, stdin=p.stdin, log_path=p.log_path, exit_status=p.exit_status,
            exited_at_ns=p.exited_at_ns, reason=p.reason)

    def Kill(self, req, call):
        p = self.process(req.exec_id)
        sig = req.signal or signal.SIGTERM
        if not 0 < sig < 65:
            raise InvalidArgument("kill %s: signal %d out of range" % (describe(p.exec_id), sig))
        if req.all and p.exec_id != INIT:
            raise InvalidArgument("kill %s: 'all' applies to the init only" % describe(p.exec_id))
        if not p.alive:
            return shim_pb2.Empty()
        if p.exec_id != INIT:
            if p.pid not in self.by_pid:  # registered with Exec but never started: no process yet
                raise FailedPrecondition("kill %s: process is %s" % (describe(p.exec_id), p.state))
            os.kill(p.pid, sig)  # our unreaped child: the pid cannot have been reused
            return shim_pb2.Empty()
        try:
            self.runtime.run(self.runtime.kill_argv(self.cfg.id, sig, req.all))
        except RuntimeFailed as e:
            self.reap_now()  # it may have exited a moment ago
            if p.alive:
                raise Internal(str(e)) from e
        return shim_pb2.Empty()

    def Wait(self, req, call):
        p = self.process(req.exec_id)
        if p.state == NEW:
            raise FailedPrecondition("wait %s: not created" % describe(p.exec_id))

        def answer(p):
            call.reply(shim_pb2.WaitResponse(exit_status=p.exit_status, exited_at_ns=p.exited_at_ns, reason=p.reason))
        if p.state in (STOPPED, DELETED):
            answer(p)
            return PENDING
        p.waiters.append(answer)
        call.on_cancel = lambda: answer in p.waiters and p.waiters.remove(answer)
        return PENDING

    def Delete(self, req, call):
        p = self.process(req.exec_id)
        if p.state in (RUNNING, PAUSED) and not req.force:
            raise FailedPrecondition("delete %s: process is %s (use force)" % (describe(p.exec_id), p.state))
        if p.exec_id != INIT:
            if p.alive:
                self._kill_and_reap(p)
            p.transition("delete")
            p.io.close()
            del self.procs[p.exec_id]
            return shim_pb2.DeleteResponse(pid=p.pid, exit_status=p.exit_status, exited_at_ns=p.exited_at_ns)
        self.warm.close()
        for e in [q for q in self.procs.values() if q.exec_id != INIT and q.alive]:
            self._kill_and_reap(e)
        if p.state in (RUNNING, PAUSED):
            self._kill_and_reap(p)
        self._run(self.runtime.delete_argv(self.cfg.id, force=p.state == CREATED or req.force))
        self.reap_now()
        if p.state == CREATED:  # never started: the runtime killed its init
            self.by_pid.pop(p.pid, None)
        p.transition("delete")
        for q in self.procs.values():
            q.io.close()
        if self.oom:
            self.oom.close()
        if self.on_finished:
            self.on_finished(True)
        return shim_pb2.DeleteResponse(pid=p.pid, exit_status=p.exit_status, exited_at_ns=p.exited_at_ns)

    def Exec(self, req, call):
        init = self.init()
        if init.state != RUNNING:
            raise FailedPrecondition("exec %r: container is %s" % (req.exec_id, init.state))
        if not req.exec_id:
            raise InvalidArgument("exec: exec_id must not be empty")
        if req.exec_id in self.procs:
            raise AlreadyExists("exec %r: already exists" % req.exec_id)
        try:
            spec = json.loads(req.spec)
        except ValueError as e:
            raise InvalidArgument("exec %r: spec is not JSON: %s" % (req.exec_id, e)) from e
        if not isinstance(spec, dict) or not isinstance(spec.get("args"), list) or not spec["args"]:
            raise InvalidArgument("exec %r: spec must be an OCI process object with args" % req.exec_id)
        _check_path(req.log_path, "exec %r: log_path" % req.exec_id)
        spec["terminal"] = bool(req.terminal)
        p = Process(req.exec_id, terminal=req.terminal, stdin=req.stdin, log_path=os.path.abspath(req.log_path) if req.log_path else "")
        self.exec_seq += 1
        p.spec_file = self.cfg.path("exec-%d.json" % self.exec_seq)
        with open(p.spec_file, "w") as f:
            json.dump(spec, f)
        p.io = ProcessIO(self.loop, p.terminal, p.stdin, p.log_path)
        p.transition("create")
        self.procs[p.exec_id] = p
        return shim_pb2.Empty()

    def ResizePty(self, req, call):
        p = self.process(req.exec_id)
        if not p.io.resize(req.width, req.height):
            raise FailedPrecondition("resize %s: no terminal" % describe(p.exec_id))
        return shim_pb2.Empty()

    def CloseIO(self, req, call):
        self.process(req.exec_id).io.close_stdin()
        return shim_pb2.Empty()

    def Attach(self, req, call):
        p = self.process(req.exec_id)
        if p.state in (STOPPED, DELETED):
            raise FailedPrecondition("attach %s: process is %s" % (describe(p.exec_id), p.state))
        if req.stdin and not p.stdin:
            raise FailedPrecondition("attach %s: process has no stdin" % describe(p.exec_id))
        if p.io.handed_over:
            raise FailedPrecondition("attach %s: its pipes went to a direct client" % describe(p.exec_id))
        if req.direct:
            return self._attach_direct(p, call)
        detach = p.io.attach(call, req.stdout, req.stderr)
        call.on_cancel = detach

        def on_data(payload):
            msg = shim_pb2.AttachRequest.FromString(payload)
            if req.stdin and (msg.data or msg.close_stdin):
                p.io.write_stdin(msg.data, close=msg.close_stdin, source=call.conn)
        call.on_data = on_data
        call.accept()
        if req.stdin and (req.data or req.close_stdin):
            p.io.write_stdin(req.data, close=req.close_stdin)
        return PENDING

    def _attach_direct(self, p, call):
        """Hand the exec's pipes to this one client (AttachRequest.direct in shim.proto)."""
        what = "attach %s directly" % describe(p.exec_id)
        if p.exec_id == INIT or p.state != CREATED:
            raise FailedPrecondition("%s: only an exec that has not started" % what)
        if p.terminal or p.log_path or p.io.subscribers:
            raise FailedPrecondition("%s: it has a terminal, a log or clients" % what)
        fds = p.io.hand_over()
        detach = p.io.attach(call, False, False)   # for the END at its exit
        try:
            call.accept(fds)
        except OSError as e:
            detach()
            raise Internal("%s: sending its pipes: %s" % (what, e)) from e
        finally:
            for fd in fds:
                os.close(fd)
        call.on_cancel = detach
        return PENDING

    def ReopenLog(self, req, call):
        p = self.process(req.exec_id)
        if not p.io.reopen_log():
            raise FailedPrecondition("reopen log of %s: no log path" % describe(p.exec_id))
        return shim_pb2.Empty()

    def Stats(self, req, call):
        self.init()
        if not self.cgroups or not self.cgroups.exists():
            raise FailedPrecondition("stats %s: the container's cgroup is gone" % self.cfg.id)
        return shim_pb2.StatsResponse(**self.cgroups.stats(), **self.oom.stats())

    def Update(self, req, call):
        p = self.init()
        if not p.alive:
            raise FailedPrecondition("update %s: container is %s" % (self.cfg.id, p.state))
        try:
            resources = json.loads(req.resources)
        except ValueError as e:
            raise InvalidArgument("update %s: resources are not JSON: %s" % (self.cfg.id, e)) from e
        if not isinstance(resources, dict):
            raise InvalidArgument("update %s: resources must be an OCI LinuxResources object" % self.cfg.id)
        path = self.cfg.path("resources.json")
        with open(path, "w") as f:
            json.dump(resources, f)
        try:
            self._run(self.runtime.update_argv(self.cfg.id, path))
        finally:
            os.unlink(path)
        return shim_pb2.Empty()

    def _freeze_verb(self, event, argv_for):
        """Pause or resume the whole container: check the state table, run the runtime, move."""
        p = self.init()
        p.check(event)
        self._run(argv_for(self.cfg.id))
        p.transition(event)
        return shim_pb2.Empty()

    def Pause(self, req, call):
        return self._freeze_verb("pause", self.runtime.pause_argv)

    def Resume(self, req, call):
        return self._freeze_verb("resume", self.runtime.resume_argv)

    def Pids(self, req, call):
        self.init()
        if not self.cgroups:
            raise FailedPrecondition("pids %s: cgroup unknown" % self.cfg.id)
        exec_of = {p.pid: p.exec_id for p in self.procs.values() if p.pid}
        return shim_pb2.PidsResponse(processes=[
            shim_pb2.ProcessInfo(pid=pid, exec_id=exec_of.get(pid, "")) for pid in self.cgroups.pids()])

    def Shutdown(self, req, call):
        p = self.procs.get(INIT)
        if p and p.alive and not req.now:
            raise FailedPrecondition("shutdown: container %s is %s" % (self.cfg.id, p.state))
        self.warm.close()
        if self.on_finished:
            self.on_finished(p is None or p.state == DELETED)
        return shim_pb2.Empty()
