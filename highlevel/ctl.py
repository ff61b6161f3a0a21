"""gantryctl: a small CRI client for gantryd (or any CRI runtime on a unix socket).

    gantryctl [--address PATH] [--timeout S] version
    gantryctl pull REF [--creds USER:PASS] [--progress]
    gantryctl images [REF]
    gantryctl inspecti REF
    gantryctl rmi REF...
    gantryctl info

Output is for people (tables, ``key: value``) except ``inspecti`` and
``info``, which print JSON.  Any failure prints one line, ``gantryctl: <what>:
<gRPC code>: <message>``, on stderr and exits 1.
"""
import argparse
import json
import os
import sys

DEFAULT_ADDRESS = "/run/gantry/gantryd.sock"
PULL_TIMEOUT = 1800.0


class CtlError(Exception):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(prog="gantryctl", description="Gantry CRI client")
    p.add_argument("--address", default=os.environ.get("GANTRY_ADDRESS", DEFAULT_ADDRESS),
                   help="gantryd unix socket (default: $GANTRY_ADDRESS or %s)" % DEFAULT_ADDRESS)
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per call (pull: at least 30 minutes)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("version", help="runtime name and versions")
    pull = sub.add_parser("pull", help="pull an image")
    pull.add_argument("ref")
    pull.add_argument("--creds", metavar="USER:PASS", help="registry credentials")
    pull.add_argument("--progress", action="store_true",
                      help="print progress lines on stderr (the default when stderr is a terminal)")
    images = sub.add_parser("images", help="list images")
    images.add_argument("ref", nargs="?", help="only images this reference names")
    inspect = sub.add_parser("inspecti", help="image status as JSON (verbose)")
    inspect.add_argument("ref")
    rmi = sub.add_parser("rmi", help="remove images by id, tag or digest")
    rmi.add_argument("refs", nargs="+", metavar="REF")
    sub.add_parser("info", help="runtime status as JSON")
    return p.parse_args(argv)


def _address(path):
    path = path[len("unix://"):] if path.startswith("unix://") else path
    if not os.path.exists(path):
        raise CtlError("connect unix:%s: no such socket (is gantryd running?)" % path)
    return "unix:" + path


class Client:
    def __init__(self, address, timeout):
        import grpc
        from gantry.api import cri_pb2_grpc

        self.grpc = grpc
        self.channel = grpc.insecure_channel(_address(address))
        self.runtime = cri_pb2_grpc.RuntimeServiceStub(self.channel)
        self.images = cri_pb2_grpc.ImageServiceStub(self.channel)
        self.timeout = timeout

    def call(self, what, method, request, timeout=None):
        try:
            return method(request, timeout=timeout or self.timeout)
        except self.grpc.RpcError as exc:
            raise CtlError("%s: %s: %s" % (what, exc.code().name, exc.details())) from None

    def close(self):
        self.channel.close()


def human_size(n):
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return ("%d%s" if unit == "B" else "%.3g%s") % (n, unit)
        n /= 1000.0


def split_tag(repo_tag):
    """``docker.io/library/busybox:1.36`` -> (``docker.io/library/busybox``, ``1.36``)."""
    name, sep, tag = repo_tag.rpartition(":")
    if not sep or "/" in tag:
        return repo_tag, "<none>"
    return name, tag


def image_rows(images):
    rows = [("IMAGE", "TAG", "IMAGE ID", "SIZE")]
    for img in images:
        short = img.id.split(":", 1)[-1][:13]
        tags = list(img.repo_tags) or [(img.repo_digests[0].split("@")[0] + ":<none>") if img.repo_digests
                                       else "<none>:<none>"]
        for tag in tags:
            name, t = split_tag(tag)
            rows.append((name, t, short, human_size(img.size)))
    return rows


def table(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def parse_creds(text):
    user, sep, password = (text or "").partition(":")
    if not sep or not user:
        raise CtlError("--creds: expected USER:PASS")
    return user, password


def run(args, out):
    from gantry.api import cri_pb2
    from google.protobuf import json_format

    client = Client(args.address, args.timeout)
    try:
        if args.command == "version":
            v = client.call("version", client.runtime.Version, cri_pb2.VersionRequest(version="v1"))
            out.write("Version:  %s\nRuntimeName:  %s\nRuntimeVersion:  %s\nRuntimeApiVersion:  %s\n"
                      % (v.version, v.runtime_name, v.runtime_version, v.runtime_api_version))
        elif args.command == "pull":
            req = cri_pb2.PullImageRequest(image=cri_pb2.ImageSpec(image=args.ref))
            if args.creds is not None:
                req.auth.username, req.auth.password = parse_creds(args.creds)
            show = args.progress or sys.stderr.isatty()
            resp = pull_with_progress(client, req, max(args.timeout, PULL_TIMEOUT), sys.stderr if show else None)
            out.write("Image is up to date for %s\n" % resp.image_ref)
        elif args.command == "images":
            req = cri_pb2.ListImagesRequest()
            if args.ref:
                req.filter.image.image = args.ref
            resp = client.call("images", client.images.ListImages, req)
            out.write(table(image_rows(resp.images)) + "\n")
        elif args.command == "inspecti":
            req = cri_pb2.ImageStatusRequest(image=cri_pb2.ImageSpec(image=args.ref), verbose=True)
            resp = client.call("inspecti " + args.ref, client.images.ImageStatus, req)
            if not resp.HasField("image"):
                raise CtlError("inspecti %s: no such image" % args.ref)
            doc = {"status": json_format.MessageToDict(resp.image)}
            doc.update({k: _json_or_text(v) for k, v in resp.info.items()})
            out.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        elif args.command == "rmi":
            for ref in args.refs:
                req = cri_pb2.RemoveImageRequest(image=cri_pb2.ImageSpec(image=ref))
                client.call("rmi " + ref, client.images.RemoveImage, req)
                out.write("Deleted: %s\n" % ref)
        elif args.command == "info":
            resp = client.call("info", client.runtime.Status, cri_pb2.StatusRequest(verbose=True))
            doc = json_format.MessageToDict(resp, preserving_proto_field_name=False)
            doc["info"] = {k: _json_or_text(v) for k, v in resp.info.items()}
            out.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    finally:
        client.close()


def pulls_dir_of(client):
    """Where gantryd publishes pull progress (its state dir, from Status verbose); None if unknown."""
    from gantry.api import cri_pb2

    from .cri import pull_progress

    try:
        resp = client.runtime.Status(cri_pb2.StatusRequest(verbose=True), timeout=client.timeout)
        state = json.loads(resp.info["config"])["state"]
    except (client.grpc.RpcError, KeyError, ValueError, TypeError):
        return None
    return os.path.join(state, pull_progress.DIR_NAME)


def pull_with_progress(client, req, timeout, err=None, poll_seconds=0.25):
    """PullImage; while it runs, print the published progress to ``err`` (if given) when it changes."""
    from .cri import pull_progress

    ref = req.image.image
    path = None
    if err is not None:
        pulls_dir = pulls_dir_of(client)
        path = pull_progress.progress_path(pulls_dir, ref) if pulls_dir else None
    future = client.images.PullImage.future(req, timeout=timeout)
    shown = None
    while True:
        try:
            return future.result(timeout=poll_seconds if path else None)
        except client.grpc.FutureTimeoutError:
            pass
        except client.grpc.RpcError as exc:
            raise CtlError("pull %s: %s: %s" % (ref, exc.code().name, exc.details())) from None
        try:
            with open(path, "rb") as f:
                doc = pull_progress.parse(f.read())
        except OSError:
            doc = None
        if doc is not None:
            line = pull_progress.describe(doc)
            if line != shown:
                err.write(line + "\n")
                err.flush()
                shown = line


def _json_or_text(value):
    try:
        return json.loads(value)
    except ValueError:
        return value


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run(args, sys.stdout)
    except CtlError as exc:
        sys.stderr.write("gantryctl: %s\n" % exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
