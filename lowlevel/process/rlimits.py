"""process.rlimits and process.oomScoreAdj, set in the new process before it drops privileges."""
import os

from ..spec import RLIMITS


def apply(rlimits):
    if not rlimits:
        return
    import resource
    for rl in rlimits:
        kind = rl["type"]
        soft, hard = rl.get("soft", 0), rl.get("hard", 0)
        try:
            resource.setrlimit(RLIMITS[kind], (soft, hard))
        except (OSError, ValueError) as e:
            hint = " (raising a hard limit needs CAP_SYS_RESOURCE)" if isinstance(e, ValueError) or e.errno == 1 else ""
            raise OSError(1, "setrlimit %s %d:%d: %s%s" % (kind, soft, hard, e, hint)) from None


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
