"""Owner marks on work in progress: which process made a half-built object, and is it still alive.

A mark is ``"<pid>-<start time>"``: the pid and the process start time (field
22 of ``/proc/<pid>/stat``, clock ticks since boot), so a pid the kernel gave
to another process since is not taken for the owner.  Extraction snapshots and
the temporary snapshot directories carry their maker's mark; the garbage
collector removes them at once when the owner is gone (a pull killed with
``kill -9``) instead of waiting out the grace time that protects the work of
live processes (another gantryd tool on the same root, e.g. archivecli).
"""
import os
import re

_MARK = re.compile(r"(\d+)-(\d+)")


def start_time(pid):
    """The start time of ``pid`` in clock ticks since boot, or None if there is no such process."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # the command name (field 2) may hold spaces and parentheses: count fields after the last ")"
    fields = stat[stat.rindex(b")") + 2:].split()
    return int(fields[19])


_current = None


def current():
    """This process's mark."""
    global _current
    pid = os.getpid()
    if _current is None or not _current.startswith("%d-" % pid):
        _current = "%d-%d" % (pid, start_time(pid))
    return _current


def parse(text):
    """(pid, start time) from a mark at the start of ``text``, or None."""
    m = _MARK.match(text or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def gone(mark):
    """True if the process ``mark`` names has exited; False if it runs or ``mark`` is no mark."""
    parsed = parse(mark)
    if parsed is None:
        return False
    pid, started = parsed
    return start_time(pid) != started
