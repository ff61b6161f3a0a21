"""Run a function inside a pod's network namespace, from a dedicated thread.

gantryd is threaded, so it never forks (netlink libraries' NetNS helpers often do).
setns(2) changes the namespace of the calling *thread* only, so each call
starts one short-lived thread that enters the namespace bound at ``path``,
runs ``fn``, and goes back to the namespace it came from before it ends.
If going back fails the thread ends anyway, and with it the only task that
was in the pod's namespace; no other thread is ever affected.

Sockets keep the namespace they were created in: ``fn`` opens its own
netlink socket (``netlink.Rtnl()``) and closes it before returning; the streaming
server creates its port-forward sockets this way (streaming/netns.py), then
uses them from any thread.
"""
import ctypes
import os
import threading

CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)
_libc.setns.argtypes = (ctypes.c_int, ctypes.c_int)
_libc.setns.restype = ctypes.c_int


def setns(fd, nstype=CLONE_NEWNET, what="setns"):
    if _libc.setns(fd, nstype) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (what, os.strerror(err)))


def run_in_netns(path, fn, *args):
    """fn(*args) executed in the network namespace bound at ``path``; its result or exception."""
    target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    outcome = {}

    def body():
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            setns(target, what="setns %s" % path)
            try:
                outcome["value"] = fn(*args)
            finally:
                setns(home, what="setns back from %s" % path)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc
        finally:
            os.close(home)

    try:
        thread = threading.Thread(target=body, name="netns", daemon=True)
        thread.start()
        thread.join()
    finally:
        os.close(target)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
