"""process.rlimits and process.oomScoreAdj, set in the new process before it drops privileges."""
import os

from ..spec import RLIMITS


def apply(sys, rlimits):
    """Each limit through sys.setrlimit (Syscalls: libc through cffi, no resource module to load)."""
    if not rlimits:
        return
    for rl in rlimits:
        kind = rl["type"]
        soft, hard = rl.get("soft", 0), rl.get("hard", 0)
        try:
            sys.setrlimit(RLIMITS[kind], soft, hard, kind)
        except (OSError, OverflowError, TypeError) as e:
            err = e.errno if isinstance(e, OSError) else 22
            hint = " (raising a hard limit needs CAP_SYS_RESOURCE)" if err == 1 else ""
            raise OSError(err, "setrlimit %s %d:%d: %s%s" % (kind, soft, hard, os.strerror(err), hint)) from None


def set_oom_score_adj(value, pid="self"):
    path = "/proc/%s/oom_score_adj" % pid
    try:
        with open(path, "w") as f:
            f.write(str(value))
    except OSError as e:
        hint = ""
        if e.errno in (1, 13):
            hint = " (lowering oom_score_adj needs CAP_SYS_RESOURCE, which this process lacks)"
        raise OSError(e.errno, "write %s %d: %s%s" % (path, value, os.strerror(e.errno), hint)) from None
