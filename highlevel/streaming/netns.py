"""Sockets inside another network namespace, without forking (gantryd is threaded).

setns(2) changes the namespace of the calling thread only.  ``socket_in``
runs in a short-lived thread of its own: it enters the pod's netns, creates
the socket (a socket belongs to the netns it was created in, for its whole
life), goes back to its own netns and ends; the caller connects the socket.
Python 3.11 has no os.setns, hence ctypes on libc.
"""
import ctypes
import ctypes.util
import os
import socket
import threading

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def setns(fd, nstype):
    if _libc.setns(fd, nstype) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: %s" % os.strerror(err))


def socket_in(netns_path, family=socket.AF_INET, type=socket.SOCK_STREAM):
    """A new socket created in the network namespace at netns_path."""
    result = {}

    def run():
        own = target = -1
        try:
            own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            target = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
            setns(target, CLONE_NEWNET)
            try:
                result["socket"] = socket.socket(family, type | socket.SOCK_CLOEXEC)
            finally:
                setns(own, CLONE_NEWNET)  # if this failed the thread would end in the pod's netns: harmless
        except OSError as e:
            result["error"] = OSError(e.errno, "socket in netns %s: %s" % (netns_path, e.strerror or e))
        finally:
            for fd in (own, target):
                if fd >= 0:
                    os.close(fd)

    t = threading.Thread(target=run, name="netns-socket", daemon=True)
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]
    return result["socket"]


def dial(netns_path, port, timeout=10.0):
    """A TCP connection to localhost:port in the netns (None: this host's); 127.0.0.1, then ::1, as kubelet."""
    last = None
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            sock = socket_in(netns_path, family) if netns_path else socket.socket(family, socket.SOCK_STREAM)
        except OSError as e:
            last = e
            continue
        try:
            sock.settimeout(timeout)
            sock.connect((host, port))
            sock.settimeout(None)
            return sock
        except OSError as e:
            sock.close()
            last = e
    raise last
