"""gantryd: composition root of the CRI daemon."""
import argparse
import sys


def parse_args(argv):
    p = argparse.ArgumentParser(prog="gantryd", description="Gantry CRI daemon")
    p.add_argument("--config", help="TOML configuration file")
    p.add_argument("--address", help="unix socket path to serve CRI on")
    p.add_argument("--root", help="persistent state directory")
    p.add_argument("--state", help="runtime state directory")
    p.add_argument("--registry-config-dir", help="hosts.toml directory (containerd layout)")
    p.add_argument("--log-level", help="debug, info, warning, error")
    return p.parse_args(argv)


def main(argv=None):
    parse_args(sys.argv[1:] if argv is None else argv)
    sys.stderr.write("gantryd: not implemented yet\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
