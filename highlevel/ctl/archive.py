"""import / export: image archives through gantryd's image store (highlevel/images/archive.py).

CRI has no import or export call, so these work on the store's files directly, as
``python -m gantry.highlevel.images.archivecli`` does; the store may be in use by a running
gantryd (the import holds a lease).  The store is ``--root``, else the one the endpoint's gantryd
reports in Status(verbose) (``<root>/images``), else /var/lib/gantry/images when no daemon answers.

Formats: an OCI image layout (directory), the same as a tar (oci-archive), a ``docker save`` tar.
A layout entry named only by a tag (``org.opencontainers.image.ref.name: "1.0"``) is imported as
``<base name>:<tag>``; the base name is ``--base-name``, else PATH's file name without ``.tar``.
"""
import json
import os
import re

from .client import Client, CtlError

DEFAULT_STORE = "/var/lib/gantry/images"


def default_base_name(path):
    """``/tmp/My App.oci.tar`` -> ``my-app``: a repository name from a file name."""
    name = os.path.basename(os.path.normpath(path)).lower()
    for ext in (".tar", ".oci", ".tgz", ".gz"):
        if name.endswith(ext):
            name = name[: -len(ext)]
    name = re.sub(r"[^a-z0-9._-]+", "-", name).strip("._-")
    return name or "imported"


def store_root(args):
    if args.root:
        return args.root
    try:
        client = Client(args.endpoint, args.timeout)
    except CtlError:
        return DEFAULT_STORE
    try:
        from gantry.api import cri_pb2

        resp = client.call("status", client.runtime.Status, cri_pb2.StatusRequest(verbose=True))
        try:
            return os.path.join(json.loads(resp.info["config"])["root"], "images")
        except (KeyError, ValueError, TypeError):
            raise CtlError("%s: the endpoint %s is not gantryd (no root in its Status); import and export work "
                           "on gantryd's image store: give --root" % (args.command, client.endpoint)) from None
    finally:
        client.close()


def _store(args):
    from ..images.store import ImageStore

    root = store_root(args)
    if not os.path.isdir(root):
        raise CtlError("%s: no image store at %s (--root names gantryd's <root>/images)" % (args.command, root))
    return ImageStore(root)


def cmd_import(client, args, out):
    from .. import errors
    from ..images import archive

    if not os.path.exists(args.source):
        raise CtlError("import %s: no such file or directory" % args.source)
    store = _store(args)
    try:
        results = archive.import_archive(store, args.source, base_name=args.base_name or default_base_name(args.source))
    except errors.GantryError as exc:
        raise CtlError(str(exc)) from None
    finally:
        store.close()
    if args.output != "table":
        from .output import emit

        return emit(out, args.output, {"images": [{"id": i, "names": n} for i, n in results]})
    for image_id, names in results:
        out.write("Imported %s %s\n" % (image_id, " ".join(names) or "(no name)"))


def cmd_export(client, args, out):
    from .. import errors
    from ..images import archive
    from ..images.service import ImageService

    store = _store(args)
    try:
        svc = ImageService(store)
        if args.oci:
            archive.export_oci_layout(svc, args.refs, args.oci)
        elif args.oci_archive:
            archive.export_oci_archive(svc, args.refs, args.oci_archive)
        else:
            archive.export_docker_archive(svc, args.refs, args.docker)
    except errors.GantryError as exc:
        raise CtlError(str(exc)) from None
    finally:
        store.close()
    out.write("Exported %s to %s\n" % (", ".join(args.refs), args.oci or args.oci_archive or args.docker))
