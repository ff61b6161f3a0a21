"""Helpers of the network integration tests: netns files, echo servers and clients inside them.

Traffic stays in namespaces the tests make and on the host's own addresses
(local delivery); nothing leaves the machine.
"""
import ipaddress
import os
import socket
import subprocess
import sys
import threading

# argv: proto port reply [6] -- answers every TCP connection / UDP datagram with ``reply``;
# with 6 it listens on :: (IPv6 and IPv4), else on 0.0.0.0.
SERVER = r"""
import socket, sys, threading
proto, port, reply = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
six = sys.argv[4:] == ["6"]
kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
s = socket.socket(socket.AF_INET6 if six else socket.AF_INET, kind)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::" if six else "0.0.0.0", port))
if proto == "tcp":
    s.listen(16)
print("ready", flush=True)
while True:
    if proto == "tcp":
        c, _ = s.accept()
        c.sendall(reply)
        c.close()
    else:
        _, peer = s.recvfrom(100)
        s.sendto(reply, peer)
"""

# argv: proto host port -- prints what the server answers (or "ERR <error>").
CLIENT = r"""
import socket, sys
proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    if proto == "tcp":
        s = socket.create_connection((host, port), timeout=3)
        print(s.recv(100).decode())
    else:
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        s.sendto(b"hi", (host, port))
        print(s.recvfrom(100)[0].decode())
except OSError as exc:
    print("ERR %s" % exc)
"""


def make_netns(path):
    """A network namespace bound to ``path``, loopback up (what RunPodSandbox hands over)."""
    open(path, "w").close()
    subprocess.run(["unshare", "--net=" + path, "ip", "link", "set", "lo", "up"], check=True)


def remove_netns(path):
    subprocess.run(["umount", path], capture_output=True)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def start_server(netns, proto, port, reply, ipv6=False):
    """An echo-style server in ``netns`` (None: on the host); returns the Popen (kill it after)."""
    argv = [sys.executable, "-c", SERVER, proto, str(port), reply] + (["6"] if ipv6 else [])
    if netns:
        argv = ["nsenter", "--net=" + netns] + argv
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def ask_from(netns, proto, host, port):
    """Run the client inside ``netns``; the answer or 'ERR ...'."""
    out = subprocess.run(["nsenter", "--net=" + netns, sys.executable, "-c", CLIENT, proto, host, str(port)],
                         capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


def ask(proto, host, port, timeout=3):
    """The same client, from the host (the test process itself)."""
    try:
        if proto == "tcp":
            with socket.create_connection((host, port), timeout=timeout) as s:
                return s.recv(100).decode()
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(b"hi", (host, port))
            return s.recvfrom(100)[0].decode()
    except OSError as exc:
        return "ERR %s" % exc


def host_address(exclude_links=()):
    """A global IPv4 address of this host (traffic to it is delivered locally), or None."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if parts[1] in exclude_links or parts[1].startswith(("gv", "veth")):
            continue
        return str(ipaddress.ip_interface(parts[3]).ip)
    return None


def links():
    return set(os.listdir("/sys/class/net"))


def nat_rules():
    return subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True, check=True).stdout


class HostServer:
    """A TCP server on the host at (address, any port) answering ``reply``; for pod -> host."""

    def __init__(self, address, reply):
        self.sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
        self.sock.bind((address, 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.reply = reply.encode()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.sendall(self.reply)
            conn.close()

    def close(self):
        self.sock.close()
