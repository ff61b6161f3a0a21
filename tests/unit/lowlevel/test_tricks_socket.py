"""tricks.socket_module (_socket, or socket with GANTRY_NO_TRICKS=1) carries fds both ways the same."""
import os
import socket

import pytest
from gantry.lowlevel import console, tricks


@pytest.fixture(params=["trick", "plain"])
def sock_mod(request, monkeypatch):
    if request.param == "plain":
        monkeypatch.setenv(tricks.ENV, "1")
    else:
        monkeypatch.delenv(tricks.ENV, raising=False)
    mod = tricks.socket_module()
    assert mod.__name__ == ("_socket" if request.param == "trick" else "socket")
    return mod


def test_fds_sent_with_fd_bytes_arrive_through_fds_of(sock_mod):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    r, w = os.pipe()
    try:
        s = sock_mod.socket(fileno=a.fileno())
        s.sendmsg([b"hi"], [(sock_mod.SOL_SOCKET, sock_mod.SCM_RIGHTS, tricks.fd_bytes(w) + tricks.fd_bytes(r))])
        s.detach()
        t = sock_mod.socket(fileno=b.fileno())
        message, ancillary, flags, _ = t.recvmsg(100, sock_mod.CMSG_SPACE(8), sock_mod.MSG_CMSG_CLOEXEC)
        t.detach()
        got = tricks.fds_of(ancillary, sock_mod)
        assert message == b"hi" and len(got) == 2 and not flags & sock_mod.MSG_CTRUNC
        os.write(got[0], b"through")
        assert os.read(r, 100) == b"through"
        assert not os.get_inheritable(got[0])   # MSG_CMSG_CLOEXEC
        for fd in got:
            os.close(fd)
    finally:
        a.close()
        b.close()
        os.close(r)
        os.close(w)


def test_console_connect_gives_a_connected_fd(sock_mod, tmp_path):
    path = str(tmp_path / "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    try:
        fd = console.connect(path)
        conn, _ = srv.accept()
        os.write(fd, b"x")
        assert conn.recv(1) == b"x"
        os.close(fd)
        conn.close()
        with pytest.raises(OSError):
            console.connect(str(tmp_path / "missing.sock"))
    finally:
        srv.close()
