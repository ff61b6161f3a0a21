"""The OCI runtime's command line (runc-compatible: gantry-oci, runc, crun).

The argv builders are pure; ``run`` is the one place a runtime is executed.
The runtime binary and its ``--root`` are parameters, so the same shim drives
any of the three.  Runtime errors go to a log file (``--log``, JSON) rather
than stderr, because the runtime's stderr is the container's stderr pipe
during create and exec.
"""
import json
import os
import signal

# The environment the runtime gets (the shim's own, taken once), and the signals it must not
# inherit as ignored (the shim ignores SIGPIPE and SIGHUP; a container must not).
_ENV = dict(os.environ)
_DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGXFSZ)


def _read_all(fd):
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


class RuntimeFailed(Exception):
    """The runtime exited non-zero; the message carries its own words."""


class Runtime:
    def __init__(self, binary, root="", log_path=""):
        self.binary = binary
        self.root = root
        self.log_path = log_path

    def _global(self):
        argv = [self.binary]
        if self.root:
            argv += ["--root", self.root]
        if self.log_path:
            argv += ["--log", self.log_path, "--log-format", "json"]
        return argv

    def create_argv(self, cid, bundle, pid_file, console_socket=""):
        argv = self._global() + ["create", "--bundle", bundle, "--pid-file", pid_file]
        if console_socket:
            argv += ["--console-socket", console_socket]
        return argv + [cid]

    def start_argv(self, cid):
        return self._global() + ["start", cid]

    def exec_argv(self, cid, process_file, pid_file, console_socket=""):
        argv = self._global() + ["exec", "--detach", "--process", process_file, "--pid-file", pid_file]
        if console_socket:
            argv += ["--console-socket", console_socket]
        return argv + [cid]

    def kill_argv(self, cid, signal, all_processes=False):
        return self._global() + ["kill"] + (["--all"] if all_processes else []) + [cid, str(signal)]

    def delete_argv(self, cid, force=False):
        return self._global() + ["delete"] + (["--force"] if force else []) + [cid]

    def pause_argv(self, cid):
        return self._global() + ["pause", cid]

    def resume_argv(self, cid):
        return self._global() + ["resume", cid]

    def update_argv(self, cid, resources_file):
        return self._global() + ["update", "--resources", resources_file, cid]

    def state_argv(self, cid):
        return self._global() + ["state", cid]

    def run(self, argv, stdin=None, stdout=None, stderr=None, timeout=60, warm=None):
        """Run argv with the given stdio fds (default: /dev/null in, captured out and err).
        Returns the captured stdout; raises RuntimeFailed on failure.  warm (a warmexec.WarmExec)
        may run it in its pre-started process; else, or when it cannot, argv is spawned.

        posix_spawn rather than subprocess: one C call instead of subprocess's Python machinery,
        which, run in a forked shim, copied ~0.4 MiB of the template's pages into every shim.
        Output is captured in memfds read after the exit (no pipes to drain, no select loop);
        the wait is a blocking waitpid, and a runtime that hangs is killed by SIGALRM."""
        opened = []
        try:
            if stdin is None:
                stdin = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
                opened.append(stdin)
            out_fd = err_fd = -1
            if stdout is None:
                stdout = out_fd = os.memfd_create("runtime-stdout")
                opened.append(out_fd)
            if stderr is None:
                stderr = err_fd = os.memfd_create("runtime-stderr")
                opened.append(err_fd)
            since = self._log_size()
            stdio = (stdin, stdout, stderr)
            pid = warm.take(argv, stdio) if warm is not None else None
            status = self._wait(pid or self.spawn(argv, stdio), argv, timeout)
            out = _read_all(out_fd) if out_fd >= 0 else b""
            err = _read_all(err_fd) if err_fd >= 0 else b""
        finally:
            for fd in opened:
                os.close(fd)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            words = err.decode("utf-8", "replace").strip()
            raise RuntimeFailed("%s: exit status %d: %s" % (
                " ".join(argv[len(self._global()):][:1] + argv[-1:]), code,
                words or self.last_error(since) or "no error message"))
        return out

    @staticmethod
    def spawn(argv, stdio):
        """posix_spawn argv with stdio as its fds 0, 1, 2; its pid."""
        actions = [(os.POSIX_SPAWN_DUP2, fd, target) for target, fd in enumerate(stdio)]
        try:
            return os.posix_spawnp(argv[0], argv, _ENV, file_actions=actions, setsigdef=_DEFAULT_SIGNALS,
                                   setsigmask=())
        except FileNotFoundError as e:
            raise RuntimeFailed("%s: runtime not found" % argv[0]) from e

    @staticmethod
    def _wait(pid, argv, timeout):
        expired = []

        def on_alarm(*_):
            expired.append(True)
            os.kill(pid, signal.SIGKILL)
        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(timeout)
        try:
            _, status = os.waitpid(pid, 0)
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        if expired:
            raise RuntimeFailed("%s: timed out after %ss" % (" ".join(argv[:4]), timeout))
        return status

    def _log_size(self):
        try:
            return os.stat(self.log_path).st_size if self.log_path else 0
        except OSError:
            return 0

    def last_error(self, since=0):
        """The last error message the runtime wrote to its --log file after offset since."""
        if not self.log_path:
            return ""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(since, os.fstat(f.fileno()).st_size - 65536))
                lines = f.read().splitlines()
        except OSError:
            return ""
        for line in reversed(lines):
            try:
                entry = json.loads(line)
            except ValueError:
                text = line.decode("utf-8", "replace").strip()
                if text:
                    return text
                continue
            if isinstance(entry, dict) and entry.get("level") in ("error", "fatal", "panic", None):
                return str(entry.get("msg", ""))
        return ""
