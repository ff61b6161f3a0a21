"""gantryctl: a small CRI client for gantryd."""
import argparse
import sys


def main(argv=None):
    p = argparse.ArgumentParser(prog="gantryctl", description="Gantry CRI client")
    p.add_argument("--address", default="/run/gantry/gantryd.sock")
    p.parse_args(sys.argv[1:] if argv is None else argv)
    sys.stderr.write("gantryctl: not implemented yet\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
