"""Run a shim's code paths in the template before it freezes, so its children share them.

Python 3.11 rewrites a function's bytecode in place while it warms up
(quickening, inline caches).  Done in every shim after fork, those writes
copy the pages holding the code objects into each shim; done once in the
template, before ``gc.freeze()`` and the first fork, they stay shared.  This
exercises, a dozen times and without a container or a runtime: the loop, the
server and framing (a socketpair-free round trip through a real unix
socket), the service's calls that need no container, a runtime run
(``/bin/true``), pipes into the CRI log, the exit file, cgroup reading.  It
does not touch signals or the subreaper bit: those belong to the shims.
"""
import os
import shutil
import socket
import time

from gantry.api import framing, shim_pb2, shimcalls, shimstate

from . import crilog, daemon, detach
from .cgroup import Cgroups
from .errors import ShimError
from .io import ProcessIO
from .loop import Loop
from .server import Server, listen
from .service import Config, ShimService

ROUNDS = 12


def _api_round_trip(loop, sock_path, service):
    srv = Server(loop, listen(sock_path), service.handlers(), shimcalls.CALLS)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(sock_path)
    client.sendall(framing.request(1, "Connect") + framing.request(2, "State", shim_pb2.StateRequest().SerializeToString())
                   + framing.request(3, "Nope"))
    loop.call_later(0, loop.stop)
    loop.run()  # accept
    for conn in list(srv.connections):
        conn.on_readable()
    decoder = framing.Decoder()
    got = []
    while len(got) < 3:
        got += decoder.feed(client.recv(65536))
    shim_pb2.ConnectResponse.FromString(got[0].payload)
    client.close()
    for conn in list(srv.connections):
        conn.on_readable()  # sees the hang-up
    srv.close()


def _io_round_trip(loop, tmp):
    io = ProcessIO(loop, log_path=os.path.join(tmp, "warm.log"))
    _, out_w, err_w = io.make_pipes()
    os.write(out_w, b"warm line\npartial")
    os.write(err_w, b"x" * (crilog.MAX_LINE + 10) + b"\n")
    io.close_child_fds()
    io.start()
    for fd in list(io.readers):
        io.on_readable(fd)
    io.drain()
    io.reopen_log()
    io.close()


def _spawn_decoding(tmp):
    request = shim_pb2.SpawnRequest(id="warm", bundle=tmp, runtime="/bin/true", state_dir=os.path.join(tmp, "st"))
    frame = framing.Decoder().feed(framing.request(1, "Spawn", request.SerializeToString()))[0]
    detach.config_from_spawn(shim_pb2.SpawnRequest.FromString(frame.payload))
    framing.response(frame.id, shim_pb2.SpawnResponse(address=tmp, pid=1).SerializeToString())


def _one_round(tmp, i):
    loop = Loop()
    cfg = Config("warm", tmp, "/bin/true", os.path.join(tmp, "state"))
    os.makedirs(cfg.state_dir, exist_ok=True)
    service = ShimService(loop, cfg)
    _api_round_trip(loop, os.path.join(tmp, "w%d.sock" % i), service)
    for call, request in (("State", shim_pb2.StateRequest(exec_id="x")), ("Wait", shim_pb2.WaitRequest())):
        try:
            service.handlers()[call](request, None)
        except ShimError:
            pass
    service.runtime.run(["/bin/true"])
    _spawn_decoding(tmp)
    _io_round_trip(loop, tmp)
    shimstate.write_exit(cfg.state_dir, 1, 0, 1)
    shimstate.read_exit(cfg.state_dir)
    daemon.write_atomic(os.path.join(tmp, "address"), "x\n")
    cgroups = Cgroups.locate(os.getpid())
    if cgroups:
        cgroups.stats()
    loop.close()


def warm_up(rounds=ROUNDS):
    tmp = "/tmp/gantry-shim-warm-%d-%d" % (os.getpid(), time.monotonic_ns())
    os.mkdir(tmp, 0o700)
    try:
        for i in range(rounds):
            _one_round(tmp, i)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
