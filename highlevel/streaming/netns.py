"""Sockets inside another network namespace, without forking (gantryd is threaded).

setns(2) changes the namespace of the calling thread only.  ``socket_in``
runs in a short-lived thread of its own: it enters the pod's netns, creates
the socket (a socket belongs to the netns it was created in, for its whole
life), goes back to its own netns and ends; the caller connects the socket.
The thread and the setns call are network/netns.py's run_in_netns.
"""
import socket

from ..network.netns import run_in_netns


def socket_in(netns_path, family=socket.AF_INET, type=socket.SOCK_STREAM):
    """A new socket created in the network namespace at netns_path (network/netns.py's setns thread)."""
    try:
        return run_in_netns(netns_path, socket.socket, family, type | socket.SOCK_CLOEXEC)
    except OSError as e:
        raise OSError(e.errno, "socket in netns %s: %s" % (netns_path, e.strerror or e)) from None


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
