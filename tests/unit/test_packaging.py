"""Packaging: every package folder is installed under gantry.*, and the four
console scripts answer --help."""
import os
import shutil
import subprocess
import sys
import tomllib

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYPROJECT = tomllib.load(open(os.path.join(ROOT, "pyproject.toml"), "rb"))
SCRIPTS = ["gantryd", "gantryctl", "gantry-shim", "gantry-oci"]


def package_folders():
    st = PYPROJECT["tool"]["setuptools"]
    found = set()
    for name, folder in st["package-dir"].items():
        for dirpath, dirs, files in os.walk(os.path.join(ROOT, folder)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            if "__init__.py" in files:
                rel = os.path.relpath(dirpath, os.path.join(ROOT, folder))
                found.add(name if rel == "." else name + "." + rel.replace(os.sep, "."))
    return found


def test_every_package_is_listed_in_pyproject():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert package_folders() - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - package_folders() == set(), "listed but no __init__.py"


@pytest.mark.parametrize("script", SCRIPTS)
def test_console_script_answers_help(script):
    exe = shutil.which(script, path=os.path.dirname(sys.executable)) or shutil.which(script)
    assert exe, "%s is not installed (make install)" % script
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "usage" in out.stdout.lower()


def test_entry_points_match_scripts():
    assert sorted(PYPROJECT["project"]["scripts"]) == sorted(SCRIPTS)
