"""Command line of gantry-shim."""
import sys

USAGE = """usage: gantry-shim {start,delete,call} ...

One shim per container: it forks the OCI runtime and stays the container's parent.
"""


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0
    sys.stderr.write("gantry-shim: %s: not implemented yet\n" % argv[0])
    return 1


if __name__ == "__main__":
    sys.exit(main())
