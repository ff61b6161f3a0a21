"""The parent <-> child channel of `create`, `run` and `exec`.

Two pipes (close-on-exec, so an execve in the child closes its ends), one
JSON object per line.  Actors: P = the gantry-oci parent; S = stage 1 (the
forked child that enters the namespaces); I = the container init (S itself
when no pid/time namespace is made or joined, else S's child, pid 1 inside).
For exec, I is the process that will exec the user's command.
When the parent clones I straight into its namespaces (parent.direct_flags, init.born_init),
I also plays S: it sends S's messages with place "self", and "pid" with 0 (the parent has its pid).

    S -> P  {"t": "hello", "userns": bool,   S made (or joined) its user namespace; place: who is
             "place": "stage"|"init"|"self"} placed before "placed": S, I (by P), or S and I by S
    P -> S  {"t": "go"}                      the cgroups exist; id maps are written (the container
                                             init's S waits for it only when it made a user ns)
    P -> S  {"t": "placed"}                  S is in the container's cgroups (S unshares meanwhile,
                                             or waits first when it makes a cgroup namespace)
    P -> S  {"t": "limits"}                  (place "self") the limits are written: S moves itself
                                             into the cgroups and forks I into them (init.place_self)
    S -> P  {"t": "pid", "pid": N}           host pid of I (S then exits if it forked I)
    P -> I  {"t": "placed"}                  (place "init"/"self") I is in the cgroups, limits
                                             applied; I sets up meanwhile, waits before hooks/ready
    I -> P  {"t": "hooks"}                   mounts done, before pivot_root: run prestart and
                                             createRuntime hooks now (sent only if there are any)
    P -> I  {"t": "go"}                      hooks passed
    I -> P  {"t": "ready"}                   fully set up; I now blocks on the exec fifo (exec: I
                                             is about to execve; EOF on the pipe then means the
                                             execve succeeded)
    S|I -> P {"t": "error", "msg": "..."}    a step failed; the sender exits 1.  The text names
                                             the operation and the path ("mount proc to /proc: EPERM").
    P -> S|I {"t": "abort", "msg": "..."}    the parent failed (cgroup, hook); the child exits

EOF from the child without "ready" means it died; P reports its exit status.
"""
import os

from ..jsonio import dumps, loads


class ChannelClosed(Exception):
    pass


class Channel:
    def __init__(self, rfd, wfd):
        self.rfd = rfd
        self.wfd = wfd
        self._buf = b""
        self.closed = False

    def send(self, t, **fields):
        if self.closed:
            raise ChannelClosed("channel already closed")
        fields["t"] = t
        data = dumps(fields).encode() + b"\n"
        while data:
            n = os.write(self.wfd, data)
            data = data[n:]

    def recv(self):
        """The next message, or None at end of file."""
        while b"\n" not in self._buf:
            chunk = os.read(self.rfd, 65536)
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return loads(line)

    def expect(self, t):
        msg = self.recv()
        if msg is None:
            raise ChannelClosed("parent went away")
        if msg.get("t") == "abort":
            raise ChannelClosed(msg.get("msg", "aborted by the parent"))
        if msg.get("t") != t:
            raise ChannelClosed("protocol error: expected %s, got %s" % (t, msg.get("t")))
        return msg

    def close(self):
        if self.closed:
            return
        self.closed = True
        for fd in (self.rfd, self.wfd):
            try:
                os.close(fd)
            except OSError:
                pass


def pair():
    """(parent_end, child_end); both close-on-exec."""
    p_r, c_w = os.pipe()
    c_r, p_w = os.pipe()
    return Channel(p_r, p_w), Channel(c_r, c_w)
