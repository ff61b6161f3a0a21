"""The OCI runtime's command line (runc-compatible: gantry-oci, runc, crun).

The argv builders are pure; ``run`` is the one place a runtime is executed.
The runtime binary and its ``--root`` are parameters, so the same shim drives
any of the three.  Runtime errors go to a log file (``--log``, JSON) rather
than stderr, because the runtime's stderr is the container's stderr pipe
during create and exec.
"""
import json
import os
import subprocess


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

    def run(self, argv, stdin=None, stdout=None, stderr=None, timeout=60):
        """Run argv; stdio default to /dev/null (create and exec pass the process's pipes).
        Returns captured stdout when stdout is None; raises RuntimeFailed on failure."""
        capture = stdout is None
        since = self._log_size()
        try:
            proc = subprocess.run(
                argv, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE if capture else stdout,
                stderr=stderr if stderr is not None else subprocess.PIPE,
                timeout=timeout, close_fds=True, check=False)
        except FileNotFoundError as e:
            raise RuntimeFailed("%s: runtime not found" % argv[0]) from e
        except subprocess.TimeoutExpired as e:
            raise RuntimeFailed("%s: timed out after %ss" % (" ".join(argv[:4]), timeout)) from e
        if proc.returncode != 0:
            words = (proc.stderr or b"").decode("utf-8", "replace").strip() if stderr is None else ""
            raise RuntimeFailed("%s: exit status %d: %s" % (
                " ".join(argv[len(self._global()):][:1] + argv[-1:]), proc.returncode,
                words or self.last_error(since) or "no error message"))
        return proc.stdout if capture else b""

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
