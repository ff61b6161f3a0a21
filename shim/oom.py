"""OOM kills: did the cgroup's OOM killer end the container?

The memory controller counts OOM kills (v1 ``memory.oom_control`` field
``oom_kill``, v2 ``memory.events`` field ``oom_kill``).  The shim reads the
count when the container is created and again when its init exits (the
cgroup still exists until ``runtime delete``); a larger count means the
reason is ``OOMKilled`` (the word kubelet and CRI use).
"""
REASON = "OOMKilled"


class OomWatch:
    def __init__(self, cgroups):
        self.cgroups = cgroups
        self.baseline = self._count()

    def _count(self):
        try:
            return self.cgroups.oom_kills() if self.cgroups else 0
        except (OSError, KeyError):
            return 0

    def kills_since_create(self):
        return max(0, self._count() - self.baseline)

    def reason_at_exit(self):
        return REASON if self.kills_since_create() > 0 else ""
