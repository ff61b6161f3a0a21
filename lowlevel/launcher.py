"""Write the lean `gantry-oci` launcher (run by `make install` after pip).

pip's console script starts Python with site-packages processing (our editable
install's import hook pulls in pathlib, re, fnmatch...: ~10 ms per container
operation).  The launcher starts Python isolated and without site (-IS),
makes ``gantry`` a namespace package over the folder that holds lowlevel/, and
appends site-packages only so the cffi backend can be found.

    python -m gantry.lowlevel.launcher [DEST]     # DEST defaults to <venv>/bin/gantry-oci
"""
import os
import sys
import sysconfig

TEMPLATE = """#!{python} -IS
# gantry-oci launcher, written by `python -m gantry.lowlevel.launcher`; rerun it after moving the tree.
import sys
sys.path.extend({libs!r})
gantry = type(sys)("gantry")
gantry.__path__ = [{parent!r}]
sys.modules["gantry"] = gantry
from gantry.lowlevel.cli import main
sys.argv[0] = "gantry-oci"
code = main()
sys.stdout.flush()
sys.stderr.flush()
import os
os._exit(code or 0)  # skip interpreter teardown (a few ms); nothing is left to clean up
"""


def script_text(python=None):
    here = os.path.dirname(os.path.abspath(__file__))     # .../lowlevel (or .../gantry/lowlevel)
    paths = sysconfig.get_paths()
    libs = list(dict.fromkeys([paths["purelib"], paths["platlib"]]))
    return TEMPLATE.format(python=python or sys.executable, libs=libs, parent=os.path.dirname(here))


def install(dest):
    text = script_text()
    tmp = dest + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o755)
    os.rename(tmp, dest)
    return dest


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    dest = argv[0] if argv else os.path.join(os.path.dirname(sys.executable), "gantry-oci")
    print("wrote", install(dest))


if __name__ == "__main__":
    main()
