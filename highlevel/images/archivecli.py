"""Command line for image archives, working on the image store directly (no registry, no daemon needed).

    python -m gantry.highlevel.images.archivecli [--root DIR] import PATH [--base-name NAME]
    python -m gantry.highlevel.images.archivecli [--root DIR] export (--oci DIR | --oci-archive FILE | --docker FILE) REF...

``import`` takes an OCI image layout (a directory or a tar of one) or a ``docker save`` tar;
``export`` writes any of the three.
The store may be in use by a running gantryd at the same time: the import holds a lease in the
shared database, so the daemon's garbage collector leaves its blobs and layers alone.
``--root`` is gantryd's ``<root>/images`` (default /var/lib/gantry/images).
"""
import argparse
import sys

from .. import errors
from . import archive
from .service import ImageService
from .store import ImageStore

DEFAULT_ROOT = "/var/lib/gantry/images"


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m gantry.highlevel.images.archivecli", description="import/export images without a registry")
    p.add_argument("--root", default=DEFAULT_ROOT, help="image store (gantryd's <root>/images)")
    sub = p.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="import an OCI layout (directory or tar) or a docker save tar")
    imp.add_argument("source")
    imp.add_argument("--base-name", help="repository for layout entries named only by a tag (ref.name \"1.0\" -> NAME:1.0); without it they are imported under their id alone")
    exp = sub.add_parser("export", help="export images")
    target = exp.add_mutually_exclusive_group(required=True)
    target.add_argument("--oci", metavar="DIR", help="write an OCI image layout directory")
    target.add_argument("--oci-archive", metavar="FILE", help="write an OCI image layout as a tar")
    target.add_argument("--docker", metavar="FILE", help="write a docker save tar")
    exp.add_argument("refs", nargs="+")
    return p.parse_args(argv)


def run(args, out=sys.stdout):
    store = ImageStore(args.root)
    try:
        if args.command == "import":
            results = archive.import_archive(store, args.source, base_name=args.base_name)
            for image_id, names in results:
                print(image_id, " ".join(names), file=out)
        else:
            svc = ImageService(store)
            if args.oci:
                archive.export_oci_layout(svc, args.refs, args.oci)
            elif args.oci_archive:
                archive.export_oci_archive(svc, args.refs, args.oci_archive)
            else:
                archive.export_docker_archive(svc, args.refs, args.docker)
    finally:
        store.close()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run(args)
    except errors.GantryError as e:
        print(f"archivecli: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
