"""Where gantryd's time goes per CRI call: py-spy (from PyPI) samples gantryd during the cycles.

    spy = Sampler(gantryd_pid, out_file, rate=250).start()   # py-spy record --idle -f raw
    ...cycles...
    spy.stop()
    for line in breakdown_lines(open(out_file).read(), calls={"RemoveContainer": 20}, rate=250): print(line)

Samples include waiting (``--idle``): a CRI call's wall time is mostly waiting for a shim,
a child process or the kernel, and that is what a kubelet waits for too.  ``breakdown``
is pure: per RuntimeService method, the milliseconds per call spent under each of gantryd's
deepest own frames (a frame in ``highlevel/``), with its caller (below the RPC method) and
what it called just below; time in a call to a shim is charged to the ShimClient method and
its caller (the shim's own work, and the OCI runtime's, are behind that socket).
"""
import collections
import re
import shutil
import signal
import subprocess

_RPC = re.compile(r"^RuntimeService\.(\w+) ")
_LINE = re.compile(r" \(([^()]*?):\d+\)$")
_SHIMCLIENT = "(highlevel/shimclient.py:"


def _name(frame):
    """'Shims.release (highlevel/runtime/shims.py:87)' -> 'Shims.release' (gantryd's own frames);
    'run (subprocess.py:550)' -> 'run (subprocess.py)'."""
    if _ours(frame):
        return _LINE.sub("", frame)
    return _LINE.sub(lambda m: " (%s)" % m.group(1), frame)


def _ours(frame):
    m = _LINE.search(frame)
    return bool(m) and m.group(1).startswith("highlevel/")


def breakdown(raw):
    """py-spy raw (collapsed) output -> {method: Counter({"caller > deepest own > callee": samples})}."""
    out = collections.defaultdict(collections.Counter)
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        start = next((i for i, f in enumerate(frames) if _RPC.match(f)), None)
        if start is None:
            continue
        method = _RPC.match(frames[start]).group(1)
        below = frames[start:]
        shim = next((i for i, f in enumerate(below) if _SHIMCLIENT in f), None)
        if shim is not None:     # a call to a shim: which one, from where (the rest is waiting on its socket)
            keep = [shim - 1, shim] if shim > 1 else [shim]
        else:
            own = [i for i, f in enumerate(below) if _ours(f)]
            last = own[-1]
            keep = ([own[-2]] if len(own) > 1 and own[-2] > 0 else []) + [last]
            keep += [last + 1] if last + 1 < len(below) else []
        key = " > ".join(_name(below[i]) for i in keep)
        out[method][key] += int(count)
    return out


def breakdown_lines(raw, calls, rate, top=4):
    """Lines: per method (those in ``calls``, {method: number of calls sampled}), ms per call in
    total and under each of the ``top`` heaviest frames."""
    per_sample_ms = 1000.0 / rate
    lines = []
    data = breakdown(raw)
    for method, n in calls.items():
        c = data.get(method)
        if not c or not n:
            continue
        total = sum(c.values()) * per_sample_ms / n
        lines.append("%s: %.1f ms per call sampled" % (method, total))
        for key, samples in c.most_common(top):
            lines.append("  %6.1f ms  %s" % (samples * per_sample_ms / n, key))
    return lines


class Sampler:
    """py-spy record of one process, wall-clock (idle threads too), raw collapsed stacks."""

    def __init__(self, pid, out, rate=250):
        self.pid, self.out, self.rate = pid, out, rate
        self.proc = None

    @staticmethod
    def available(executable="py-spy"):
        return shutil.which(executable)

    def start(self, executable="py-spy"):
        self.proc = subprocess.Popen([executable, "record", "-p", str(self.pid), "-r", str(self.rate), "--idle",
                                      "--nonblocking", "-f", "raw", "-o", self.out],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return self

    def stop(self):
        """Stop sampling (SIGINT: py-spy writes its file); returns py-spy's stderr on failure, else ''."""
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=60)
        return "" if self.proc.returncode == 0 else err.decode(errors="replace").strip()[-500:]
