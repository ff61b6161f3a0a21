"""The container's terminal: a pty made inside the container, its master sent over --console-socket.

The receiver (containerd's shim, conmon, or `gantry-oci run` itself) gets the
master with SCM_RIGHTS; the slave becomes the process's stdio, controlling
terminal and /dev/console.
"""
import os

TIOCSCTTY = 0x540E
TIOCSWINSZ = 0x5414


def connect(path):
    """Connected unix socket for --console-socket (opened by the parent, inherited by the init)."""
    from .tricks import socket_module
    sock = socket_module()
    s = sock.socket(sock.AF_UNIX, sock.SOCK_STREAM)
    try:
        s.connect(path)
    except BaseException:
        s.close()
        raise
    return s.detach()


def make_pty(console_fd, size=None):
    """In the container: open a pty, send the master, make the slave our stdio. Returns the slave path."""
    import fcntl
    import struct

    from .tricks import fd_bytes, socket_module
    sock_mod = socket_module()
    master, slave = os.openpty()
    name = os.ttyname(slave)
    if size:
        fcntl.ioctl(slave, TIOCSWINSZ, struct.pack("HHHH", size.get("height", 0), size.get("width", 0), 0, 0))
    sock = sock_mod.socket(fileno=console_fd)
    try:
        sock.sendmsg([name.encode()], [(sock_mod.SOL_SOCKET, sock_mod.SCM_RIGHTS, fd_bytes(master))])
    finally:
        sock.close()
    os.close(master)
    os.setsid()
    fcntl.ioctl(slave, TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)
    return name


def receive_master(sock):
    """Accept one connection on a listening socket and return the pty master fd."""
    import socket
    conn, _ = sock.accept()
    try:
        _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
    finally:
        conn.close()
    if not fds:
        raise OSError("console socket: no file descriptor received")
    return fds[0]
