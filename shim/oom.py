"""OOM kills: did the cgroup's OOM killer hit the container?

Two sources, one record (``OomWatch``):

* the kill counter.  The memory controller counts OOM kills (v1
  ``memory.oom_control`` field ``oom_kill``, v2 ``memory.events`` field
  ``oom_kill``).  The shim reads it at Create (the baseline), whenever it is
  woken, and when the init exits (the cgroup lives until ``runtime delete``);
  the largest difference seen is ``kills``.
* live events (cgroup v1, where this machine's memory controller is).  At
  Create the shim registers an eventfd for ``memory.oom_control`` through
  ``cgroup.event_control`` (what containerd's v1 OOM watcher does) and puts
  the eventfd on its loop.  The kernel signals it when the cgroup's OOM
  killer is invoked (before the kill is counted: the counter may still lag
  at that moment) and also when the cgroup is removed, which the shim tells
  apart by the cgroup's directory being gone.  An OOM is then seen the moment
  it happens, while the container goes on running (a child killed, the init
  alive): Stats reports ``oom_events`` and ``last_oom_at_ns`` and shim.log
  gets a line.

On a cgroup v2 memory controller there is no live watch yet (it needs
``memory.events`` polled for POLLPRI through a second epoll, untested on
this hybrid machine): the counter alone decides, read at exit and on Stats.

Any kill or OOM event since Create makes the init's exit reason
``OOMKilled`` (the word kubelet and CRI use), as containerd reports it for a
container that saw an OOM event, even when the init itself was not the
victim.
"""
import os
import sys
import time

REASON = "OOMKilled"


class OomWatch:
    def __init__(self, cgroups, clock=time.time_ns):
        self.cgroups = cgroups
        self.clock = clock
        self.baseline = self._count()
        self.kills = 0  # the most kills since Create ever seen (the cgroup may be gone later)
        self.events = 0  # OOM notifications received live (v1)
        self.last_at_ns = 0
        self.loop = None
        self._fds = ()  # (eventfd, memory.oom_control fd) while watching

    def _count(self):
        try:
            return self.cgroups.oom_kills() if self.cgroups else 0
        except (OSError, KeyError):
            return 0

    def refresh(self):
        """Re-read the counter; True when it shows kills not seen before."""
        kills = max(0, self._count() - self.baseline)
        if kills <= self.kills:
            return False
        self.kills = kills
        self.last_at_ns = self.clock()
        return True

    def kills_since_create(self):
        self.refresh()
        return self.kills

    def reason_at_exit(self):
        return REASON if self.kills_since_create() > 0 or self.events > 0 else ""

    # -- live events (v1) ------------------------------------------------------------------
    def watch(self, loop):
        """Register for the cgroup's OOM notifications on loop; False where there are none (v2)."""
        control = self.cgroups.oom_control_path() if self.cgroups else None
        if not control:
            return False
        efd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        try:
            cfd = os.open(control, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            os.close(efd)
            return False
        try:
            with open(os.path.join(os.path.dirname(control), "cgroup.event_control"), "w") as f:
                f.write("%d %d" % (efd, cfd))
        except OSError:
            os.close(efd)
            os.close(cfd)
            return False
        self.loop, self._fds = loop, (efd, cfd)
        loop.add_reader(efd, self._on_event)
        return True

    def _on_event(self):
        try:
            os.eventfd_read(self._fds[0])
        except BlockingIOError:
            return
        if self.cgroups and not self.cgroups.exists():
            self.close()  # the cgroup was removed: that was the kernel's last word
            return
        # the kernel notifies when the OOM killer is invoked, before its kill is counted
        self.events += 1
        self.last_at_ns = self.clock()
        self.refresh()
        sys.stderr.write("oom: the container's cgroup ran out of memory (OOM event %d)\n" % self.events)
        sys.stderr.flush()

    def close(self):
        if self._fds:
            self.loop.forget(self._fds[0])
            for fd in self._fds:
                os.close(fd)
            self._fds = ()

    def stats(self):
        return {"oom_events": self.events, "last_oom_at_ns": self.last_at_ns}
