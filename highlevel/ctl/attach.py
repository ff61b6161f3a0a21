"""exec and attach: the CRI call returns a streaming URL; wsclient.py speaks it (WebSocket, v5/v4).

``exec --sync`` uses ExecSync instead (no streaming server needed; output after the command
ends).  A plain ``exec`` (no -i, no -t) falls back to ExecSync when the runtime has no streaming
server (Exec answers UNIMPLEMENTED) or its server refuses WebSocket; -i/-t cannot.
The exit status of gantryctl is the command's.
"""
import sys

from gantry.api import cri_pb2

from . import resolve
from .client import CtlError

SYNC_GRACE = 30.0


def cmd_exec(client, args, out):
    if not args.cmd:
        raise CtlError("exec: give a command to run (gantryctl exec CONTAINER CMD...)")
    if args.cmd[0] == "--":
        args.cmd = args.cmd[1:]
    cid = resolve.container_id(client, args.container)
    if args.sync:
        return exec_sync(client, cid, args.cmd, args.exec_timeout)
    req = cri_pb2.ExecRequest(container_id=cid, cmd=args.cmd, tty=args.tty, stdin=args.interactive,
                              stdout=True, stderr=not args.tty)
    try:
        url = client.runtime.Exec(req, timeout=client.timeout).url
    except client.grpc.RpcError as exc:
        if exc.code() != client.grpc.StatusCode.UNIMPLEMENTED or args.interactive or args.tty:
            raise client.error("exec in " + args.container, exc) from None
        return exec_sync(client, cid, args.cmd, args.exec_timeout)     # no streaming server
    from .wsclient import Rejected, Session

    try:
        session = Session.connect(url, client.timeout, "exec in " + args.container)
    except Rejected:
        if args.interactive or args.tty:
            raise
        return exec_sync(client, cid, args.cmd, args.exec_timeout)
    code = session.run(stdin=sys.stdin.buffer if args.interactive else None, tty=args.tty)
    return code if code is not None else 0


def exec_sync(client, cid, cmd, timeout=0):
    resp = client.call("exec in " + cid, client.runtime.ExecSync,
                       cri_pb2.ExecSyncRequest(container_id=cid, cmd=cmd, timeout=timeout),
                       timeout=(timeout + SYNC_GRACE) if timeout else 3600.0)
    sys.stdout.buffer.write(resp.stdout)
    sys.stdout.buffer.flush()
    sys.stderr.buffer.write(resp.stderr)
    sys.stderr.buffer.flush()
    return resp.exit_code


def attach(client, cid, what, interactive, tty):
    """Attach to a container's stdio; returns its exit code if the server reports one."""
    req = cri_pb2.AttachRequest(container_id=cid, stdin=interactive, tty=tty, stdout=True, stderr=not tty)
    url = client.call(what, client.runtime.Attach, req).url
    from .wsclient import Session

    session = Session.connect(url, client.timeout, what)
    return session.run(stdin=sys.stdin.buffer if interactive else None, tty=tty)


def cmd_attach(client, args, out):
    cid = resolve.container_id(client, args.container)
    code = attach(client, cid, "attach to " + args.container, args.interactive, args.tty)
    return code or 0
