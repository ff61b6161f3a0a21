"""portforward.k8s.io over SPDY: one pair of streams per forwarded connection.

    client                                              server (us)
    SYN_STREAM {streamtype: error, port: P, requestid: R} ─▶ (FIN at once: the client only reads it)
    SYN_STREAM {streamtype: data,  port: P, requestid: R} ─▶ dial P on 127.0.0.1 inside the pod
    DATA (bytes for the pod) ... FIN                      ─▶ shutdown(SHUT_WR) on the pod socket
                                                        ◀─ DATA (bytes from the pod) ... FIN
                                                        ◀─ error stream: a message if the dial or copy failed; FIN
    RST_STREAM data (client done)                         ─▶ the pair ends, the pod socket is closed

Pairs are matched by requestID (old clients send none: the data stream's id
is the error stream's + 2).  Many pairs run at once, each with two copy
threads; at most MAX_PAIRS per connection (more get an error message).  A
pair missing its partner after PAIR_TIMEOUT gets an error.
"""
import logging
import socket
import threading
import time

log = logging.getLogger(__name__)

MAX_PAIRS = 128
PAIR_TIMEOUT = 30.0


def _request_id(stream):
    rid = stream.header("requestid")
    if rid:
        return rid
    if stream.header("streamtype") == "data":
        return str(stream.id - 2)
    return str(stream.id)


def _port(stream):
    text = stream.header("port")
    try:
        port = int(text)
    except ValueError:
        port = 0
    return port if 0 < port < 65536 else None


def serve(session, pod_id, dial):
    """Serve port-forward streams until the client closes; dial(pod_id, port) -> connected socket."""
    waiting = {}  # request id -> (stream type -> stream, first seen)
    active = []
    live = set()  # pod sockets of running pairs: shut down when the session ends
    try:
        while True:
            stream = session.accept(timeout=1.0)
            now = time.monotonic()
            if stream is None:
                if session.closed.is_set():
                    return
            else:
                rid = _request_id(stream)
                pair, _ = waiting.setdefault(rid, ({}, now))
                kind = stream.header("streamtype")
                if kind not in ("data", "error") or kind in pair:
                    stream.reset()
                    continue
                pair[kind] = stream
                if kind == "error":
                    stream.inbound.discard()  # the client only reads it
                if len(pair) == 2:
                    del waiting[rid]
                    active[:] = [t for t in active if t.is_alive()]
                    if len(active) >= MAX_PAIRS:
                        _fail(pair, "too many forwarded connections on this session (%d)" % MAX_PAIRS)
                        continue
                    t = threading.Thread(target=_forward, args=(pair, pod_id, dial, live), name="portforward",
                                         daemon=True)
                    t.start()
                    active.append(t)
            for rid, (pair, first) in list(waiting.items()):
                if now - first > PAIR_TIMEOUT:
                    del waiting[rid]
                    _fail(pair, "timed out waiting for the other stream of request %s" % rid)
    finally:
        for pair, _ in waiting.values():
            for stream in pair.values():
                stream.reset()
        for conn in list(live):
            _shutdown(conn, socket.SHUT_RDWR)  # wakes both copy threads of every pair
        for t in active:
            t.join()


def _shutdown(conn, how):
    try:
        conn.shutdown(how)
    except OSError:
        pass


def _fail(pair, message):
    error = pair.get("error")
    if error is not None:
        try:
            error.write(message.encode())
        except OSError:
            pass
        error.close()
    data = pair.get("data")
    if data is not None:
        data.reset()


def _forward(pair, pod_id, dial, live):
    data, error = pair["data"], pair["error"]
    port = _port(data)
    if port is None:
        _fail(pair, "invalid port %r" % data.header("port"))
        return
    try:
        conn = dial(pod_id, port)
    except Exception as e:  # any dial failure goes to the client, never kills the session
        _fail(pair, "error forwarding port %d to pod %s: %s" % (port, pod_id, e))
        return
    live.add(conn)
    try:
        upload = threading.Thread(target=_to_pod, args=(data, conn), name="portforward-up", daemon=True)
        upload.start()
        message = _from_pod(conn, data)
        if message:
            _fail(pair, "error forwarding port %d to pod %s: %s" % (port, pod_id, message))
        else:
            data.close()
            error.close()
        # the client resets the data stream once it has read everything; that ends the upload
        upload.join()
    finally:
        live.discard(conn)
        conn.close()


def _to_pod(stream, conn):
    """Client bytes into the pod socket; the client's FIN half-closes it, a reset closes it both ways."""
    while True:
        chunk = stream.read()
        if not chunk:
            break
        try:
            conn.sendall(chunk)
        except OSError:
            break
    _shutdown(conn, socket.SHUT_RDWR if stream.reset_by_peer else socket.SHUT_WR)


def _from_pod(conn, stream):
    """Pod bytes to the client until the pod closes; an error message, or None."""
    while True:
        try:
            chunk = conn.recv(65536)
        except OSError as e:
            return None if stream.reset_by_peer else str(e)
        if not chunk:
            return None
        try:
            stream.write(chunk)
        except OSError:
            _shutdown(conn, socket.SHUT_RDWR)  # the client is gone: wake the upload thread too
            return None

