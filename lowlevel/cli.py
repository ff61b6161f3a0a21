"""Command line of gantry-oci (runc-compatible)."""
import sys

USAGE = """usage: gantry-oci [global options] COMMAND [options] ID

An OCI runtime with a runc-compatible command line.
"""


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0
    sys.stderr.write("gantry-oci: %s: not implemented yet\n" % argv[0])
    return 1


if __name__ == "__main__":
    sys.exit(main())
