"""A NETLINK_ROUTE socket that sends rtnl.py's requests and collects the kernel's answers.

One socket per use (``with Rtnl() as nl``), opened in the calling thread's network namespace
(netns.py enters a pod's namespace in a dedicated thread, then opens one there).  Requests are
synchronous: send one, read until its ack (NLMSG_ERROR 0), its error, or the end of its dump.
"""
import errno
import socket

from . import rtnl

_RECV_BYTES = 1 << 16


class Rtnl:
    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def request(self, build, *args, what="rtnetlink"):
        """Send ``build(seq, *args)``; the bodies of the replies (a list; empty for a change).

        Raises rtnl.NetlinkError(errno) when the kernel refuses."""
        self.seq += 1
        seq = self.seq
        self.sock.send(build(seq, *args))
        replies = []
        while True:
            for kind, _flags, mseq, body in rtnl.split(self.sock.recv(_RECV_BYTES)):
                if mseq != seq:
                    continue              # a late answer to an earlier request
                if kind == rtnl.NLMSG_ERROR:
                    code = rtnl.error_code(body)
                    if code:
                        raise rtnl.NetlinkError(code, what)
                    return replies
                if kind == rtnl.NLMSG_DONE:
                    return replies
                replies.append(body)

    # -- the calls links.py makes ---------------------------------------------------------------

    def link_index(self, name):
        """Index of the link ``name``, or None."""
        try:
            replies = self.request(rtnl.get_link, name, what="get link %s" % name)
        except rtnl.NetlinkError as exc:
            if exc.code in (errno.ENODEV, errno.ENOENT):
                return None
            raise
        return rtnl.parse_link(replies[0])["index"] if replies else None

    def links(self):
        return [rtnl.parse_link(b) for b in self.request(rtnl.dump_links, what="dump links")]

    def addresses(self, index):
        return [a for a in map(rtnl.parse_address, self.request(rtnl.dump_addresses, what="dump addresses"))
                if a["index"] == index]
