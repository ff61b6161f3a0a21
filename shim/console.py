"""Receive a pty master from the runtime over a console socket (SCM_RIGHTS).

With ``process.terminal`` set, the runtime creates the pty inside the
container and sends its master fd to the unix socket named by
``--console-socket``, then goes on.  The shim listens before running the
runtime; the runtime's connect and send complete against the listen backlog,
so the shim accepts and receives after the runtime command has returned.
"""
import os
import socket

from .errors import Internal


class ConsoleSocket:
    def __init__(self, path):
        self.path = path
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        old = os.umask(0o177)
        try:
            self.sock.bind(path)
        finally:
            os.umask(old)
        self.sock.listen(1)

    def receive_master(self, timeout=5.0):
        """The pty master fd the runtime sent."""
        self.sock.settimeout(timeout)
        try:
            conn, _ = self.sock.accept()
        except OSError as e:
            raise Internal("console socket %s: the runtime sent no terminal: %s" % (self.path, e)) from e
        with conn:
            conn.settimeout(timeout)
            try:
                _, fds, _, _ = socket.recv_fds(conn, 4096, 4)
            except OSError as e:
                raise Internal("console socket %s: receive: %s" % (self.path, e)) from e
        if not fds:
            raise Internal("console socket %s: the runtime sent no file descriptor" % self.path)
        for extra in fds[1:]:
            os.close(extra)
        os.set_inheritable(fds[0], False)
        return fds[0]

    def close(self):
        self.sock.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
