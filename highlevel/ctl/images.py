"""version, info, pull, images, inspecti, rmi."""
import json
import os
import sys
import time

from gantry.api import cri_pb2

from .client import CtlError
from .output import emit, human_size, json_or_text, message_dict, short_id, split_tag, table

PULL_TIMEOUT = 1800.0


def cmd_version(client, args, out):
    v = client.call("version", client.runtime.Version, cri_pb2.VersionRequest(version="v1"))
    from .cli import VERSION

    doc = message_dict(v)
    doc["clientVersion"] = VERSION
    if args.output != "table":
        return emit(out, args.output, doc)
    out.write("Version:  %s\nRuntimeName:  %s\nRuntimeVersion:  %s\nRuntimeApiVersion:  %s\n"
              "gantryctl:  %s\n" % (v.version, v.runtime_name, v.runtime_version, v.runtime_api_version, VERSION))


def status_doc(resp):
    """Status(verbose) as a document: every condition with its status, every handler with its name."""
    doc = message_dict(resp)
    doc["info"] = {k: json_or_text(v) for k, v in resp.info.items()}
    return doc


def cmd_info(client, args, out):
    resp = client.call("info", client.runtime.Status, cri_pb2.StatusRequest(verbose=True))
    doc = status_doc(resp)
    if args.output != "table":
        return emit(out, args.output, doc)
    rows = [("CONDITION", "STATUS", "REASON", "MESSAGE")]
    rows += [(c.type, str(c.status).lower(), c.reason, c.message) for c in resp.status.conditions]
    out.write(table(rows) + "\n\n")
    rows = [("RUNTIME HANDLER", "RECURSIVE RO MOUNTS", "USER NAMESPACES")]
    rows += [(h.name or "(default)", str(h.features.recursive_read_only_mounts).lower(),
              str(h.features.user_namespaces).lower()) for h in resp.runtime_handlers]
    out.write(table(rows) + "\n")
    if resp.HasField("features"):
        out.write("\nsupplemental groups policy: %s\n" % str(resp.features.supplemental_groups_policy).lower())
    if resp.info:
        out.write("\nverbose info (-o json or -o yaml for all of it): %s\n" % ", ".join(sorted(resp.info)))


def image_rows(images):
    rows = [("IMAGE", "TAG", "IMAGE ID", "SIZE")]
    for img in images:
        tags = list(img.repo_tags) or [(img.repo_digests[0].split("@")[0] + ":<none>") if img.repo_digests
                                       else "<none>:<none>"]
        for tag in tags:
            name, t = split_tag(tag)
            rows.append((name, t, short_id(img.id), human_size(img.size)))
    return rows


def cmd_images(client, args, out):
    req = cri_pb2.ListImagesRequest()
    if args.ref:
        req.filter.image.image = args.ref
    resp = client.call("images", client.images.ListImages, req)
    if args.quiet:
        out.write("".join(img.id + "\n" for img in resp.images))
        return
    emit(out, args.output, {"images": [message_dict(i) for i in resp.images]}, image_rows(resp.images))


def image_status(client, ref, verbose=False):
    req = cri_pb2.ImageStatusRequest(image=cri_pb2.ImageSpec(image=ref), verbose=verbose)
    return client.call("image status " + ref, client.images.ImageStatus, req)


def cmd_inspecti(client, args, out):
    resp = image_status(client, args.ref, verbose=True)
    if not resp.HasField("image"):
        raise CtlError("inspecti %s: no such image" % args.ref)
    doc = {"status": message_dict(resp.image)}
    doc.update({k: json_or_text(v) for k, v in resp.info.items()})
    emit(out, "yaml" if args.output == "yaml" else "json", doc)


def cmd_rmi(client, args, out):
    for ref in args.refs:
        req = cri_pb2.RemoveImageRequest(image=cri_pb2.ImageSpec(image=ref))
        client.call("rmi " + ref, client.images.RemoveImage, req)
        out.write("Deleted: %s\n" % ref)


def parse_creds(text):
    user, sep, password = (text or "").partition(":")
    if not sep or not user:
        raise CtlError("--creds: expected USER:PASS")
    return user, password


def cmd_pull(client, args, out):
    resp = pull(client, args.ref, args.creds, args.timeout, progress=args.progress)
    if args.output != "table":
        return emit(out, args.output, {"imageRef": resp.image_ref})
    out.write("Image is up to date for %s\n" % resp.image_ref)


def pull(client, ref, creds=None, timeout=0, progress=False, err=None, sandbox_config=None):
    """PullImage with progress on ``err`` (stderr): bars on a terminal, lines with ``progress``."""
    err = err or sys.stderr
    req = cri_pb2.PullImageRequest(image=cri_pb2.ImageSpec(image=ref))
    if creds is not None:
        req.auth.username, req.auth.password = parse_creds(creds)
    if sandbox_config is not None:
        req.sandbox_config.CopyFrom(sandbox_config)
    tty = err.isatty()
    mode = "bars" if tty else ("lines" if progress else None)
    return pull_with_progress(client, req, max(timeout, PULL_TIMEOUT), err, mode)


def pulls_dir_of(client):
    """Where gantryd publishes pull progress (its state dir, from Status verbose); None if unknown."""
    from ..cri import pull_progress

    try:
        resp = client.runtime.Status(cri_pb2.StatusRequest(verbose=True), timeout=client.timeout)
        state = json.loads(resp.info["config"])["state"]
    except (client.grpc.RpcError, KeyError, ValueError, TypeError):
        return None
    return os.path.join(state, pull_progress.DIR_NAME)


def pull_with_progress(client, req, timeout, err=None, mode=None, poll_seconds=0.25):
    """PullImage; while it runs, show the published progress (mode ``bars`` or ``lines``, or None)."""
    from ..cri import pull_progress
    from .progress import TerminalBars, bars

    ref = req.image.image
    path = None
    if mode:
        pulls_dir = pulls_dir_of(client)
        path = pull_progress.progress_path(pulls_dir, ref) if pulls_dir else None
    future = client.images.PullImage.future(req, timeout=timeout)
    screen = TerminalBars(err) if mode == "bars" else None
    shown, started = None, time.monotonic()
    while True:
        try:
            return future.result(timeout=poll_seconds if mode else None)
        except client.grpc.FutureTimeoutError:
            pass
        except client.grpc.RpcError as exc:
            raise client.error("pull " + ref, exc) from None
        except KeyboardInterrupt:
            future.cancel()
            raise
        doc = _read_progress(path, pull_progress) if path else None
        if screen is not None:
            screen.draw(bars(doc) if doc else ["pulling %s ... %ds" % (ref, time.monotonic() - started)])
        elif doc is not None:
            line = pull_progress.describe(doc)
            if line != shown:
                err.write(line + "\n")
                err.flush()
                shown = line


def _read_progress(path, pull_progress):
    try:
        with open(path, "rb") as f:
            return pull_progress.parse(f.read())
    except OSError:
        return None
