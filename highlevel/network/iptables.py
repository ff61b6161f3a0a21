"""The one place that runs iptables-save / iptables-restore (subprocess, never fork in-process)."""
import shutil
import subprocess
import threading

from ..errors import FailedPrecondition, Internal

_lock = threading.Lock()


def available():
    """Whether iptables-save and iptables-restore are installed (host ports and NAT need them)."""
    return bool(shutil.which("iptables-save") and shutil.which("iptables-restore"))


def save(table):
    """iptables-save output for one table."""
    return _run(["iptables-save", "-t", table], None, "iptables-save -t %s" % table)


def restore(text, what):
    """Apply iptables-restore input without flushing other chains; ``what`` names the change."""
    if text:
        _run(["iptables-restore", "-w", "5", "--noflush"], text, what)


def _run(argv, stdin, what):
    with _lock:
        try:
            proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
        except FileNotFoundError as exc:
            raise FailedPrecondition("%s: %s is not installed" % (what, argv[0])) from exc
        except subprocess.TimeoutExpired as exc:
            raise Internal("%s: %s took more than 60 s" % (what, argv[0])) from exc
    if proc.returncode != 0:
        raise Internal("%s: %s: %s" % (what, argv[0], (proc.stderr or proc.stdout).strip()))
    return proc.stdout
