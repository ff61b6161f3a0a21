"""tag, commit, push: gantryd's ImageTools service (proto/imagetools.proto), not part of the CRI.

A CRI runtime without it (containerd, CRI-O) answers UNIMPLEMENTED; that is said in one line."""
import sys

from gantry.api import imagetools_pb2

from .client import CtlError
from .images import parse_creds
from .output import emit, human_size, short_id

PUSH_STATUS_WIDTH = 9


def _stub(client):
    from gantry.api import imagetools_pb2_grpc

    return imagetools_pb2_grpc.ImageToolsStub(client.channel)


def _unsupported(client, what, exc):
    if isinstance(exc, client.grpc.RpcError) and exc.code() == client.grpc.StatusCode.UNIMPLEMENTED:
        return CtlError("%s: the runtime at %s has no image tools service (gantryd serves it; a CRI-only "
                        "runtime does not)" % (what, client.endpoint))
    return None


def _call(client, what, method, request):
    try:
        return method(request, timeout=client.timeout)
    except client.grpc.RpcError as exc:
        raise (_unsupported(client, what, exc) or client.error(what, exc)) from None


def cmd_tag(client, args, out):
    resp = _call(client, "tag " + args.source, _stub(client).Tag,
                 imagetools_pb2.TagRequest(source=args.source, targets=args.targets))
    if args.output != "table":
        return emit(out, args.output, {"imageId": resp.image_id, "names": list(resp.names)})
    for name in resp.names:
        out.write("Tagged %s as %s\n" % (short_id(resp.image_id), name))


def cmd_commit(client, args, out):
    from .resolve import container_id

    ctr = container_id(client, args.container)
    req = imagetools_pb2.CommitRequest(container_id=ctr, names=[args.name] if args.name else [],
                                       changes=args.change or [], message=args.message or "",
                                       author=args.author or "", compression=args.compression,
                                       source_date_epoch=args.source_date_epoch or 0)
    resp = _call(client, "commit " + args.container, _stub(client).Commit, req)
    doc = {"imageId": resp.image_id, "layer": {"digest": resp.layer_digest, "size": resp.layer_size,
                                               "diffId": resp.diff_id, "mediaType": resp.media_type,
                                               "entries": resp.entries}}
    if args.output != "table":
        return emit(out, args.output, doc)
    out.write("%s\n" % resp.image_id)
    sys.stderr.write("layer %s: %s, %d entries\n" % (short_id(resp.layer_digest), human_size(resp.layer_size),
                                                      resp.entries))


def parse_tls_verify(text):
    value = text.lower()
    if value not in ("true", "false"):
        raise CtlError("--tls-verify: expected true or false, not %r" % text)
    return value == "true"


def push_request(args):
    req = imagetools_pb2.PushRequest(image=args.image, target=args.target or "",
                                     insecure=not parse_tls_verify(args.tls_verify),
                                     chunk_size=args.chunk_size or 0)
    if args.creds is not None:
        req.auth.username, req.auth.password = parse_creds(args.creds)
    return req


def progress_line(msg):
    done = human_size(msg.done) if msg.done else ""
    total = ("/" + human_size(msg.total)) if msg.total else ""
    return "%s %-*s %s%s\n" % (short_id(msg.digest), PUSH_STATUS_WIDTH, msg.status, done, total)


def cmd_push(client, args, out, err=None):
    err = err or sys.stderr
    show = args.progress or err.isatty()
    final = None
    what = "push " + args.image
    stream = _stub(client).Push(push_request(args))
    try:
        for msg in stream:
            if msg.finished:
                final = msg
            elif show and (msg.status != "uploading" or msg.done == 0):
                err.write(progress_line(msg))
    except client.grpc.RpcError as exc:
        raise (_unsupported(client, what, exc) or client.error(what, exc)) from None
    finally:
        stream.cancel()
    if final is None:
        raise CtlError("%s: the stream ended without a result" % what)
    doc = {"name": final.name, "digest": final.manifest_digest, "uploaded": list(final.uploaded),
           "skipped": list(final.skipped), "mounted": list(final.mounted)}
    if args.output != "table":
        return emit(out, args.output, doc)
    out.write("Pushed %s@%s (%d blobs uploaded, %d already there, %d mounted)\n"
              % (final.name, final.manifest_digest, len(final.uploaded), len(final.skipped), len(final.mounted)))
