"""The packages import one way (DEVELOPERS.md): proto imports nothing of ours;
lowlevel imports none of the others; shim imports only proto (and never
grpcio); highlevel imports only proto.  Short-lived programs stay light:
lowlevel imports neither protobuf nor grpc."""
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OURS = {"gantry.api", "gantry.highlevel", "gantry.shim", "gantry.lowlevel"}
FOLDER_TO_NAME = {"proto": "gantry.api", "highlevel": "gantry.highlevel", "shim": "gantry.shim", "lowlevel": "gantry.lowlevel"}
ALLOWED = {
    "proto": {"gantry.api"},
    "lowlevel": {"gantry.lowlevel"},
    "shim": {"gantry.shim", "gantry.api"},
    "highlevel": {"gantry.highlevel", "gantry.api"},
}
FORBIDDEN_THIRD_PARTY = {
    "lowlevel": {"grpc", "google", "pyroute2"},
    "shim": {"grpc", "pyroute2"},
    "proto": set(),
    "highlevel": set(),
}
BARE = {"proto", "highlevel", "shim", "lowlevel"}


def imports_of(path):
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def python_files(folder):
    for dirpath, _, files in os.walk(os.path.join(ROOT, folder)):
        for f in files:
            if f.endswith(".py") and not f.endswith("_pb2_grpc.py"):
                yield os.path.join(dirpath, f)


def violations(folder):
    bad = []
    for path in python_files(folder):
        for mod in imports_of(path):
            top = mod.split(".")[0]
            owner = next((o for o in OURS if mod == o or mod.startswith(o + ".")), None)
            if top in BARE:
                bad.append((path, mod, "import %s via the gantry.* name" % top))
            elif owner and owner not in ALLOWED[folder]:
                bad.append((path, mod, "%s may not import %s" % (folder, owner)))
            elif top in FORBIDDEN_THIRD_PARTY[folder]:
                bad.append((path, mod, "%s may not import %s" % (folder, top)))
    return bad


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_imports_go_one_way(folder):
    assert violations(folder) == []


def test_guard_catches_a_wrong_import(tmp_path, monkeypatch):
    (tmp_path / "lowlevel").mkdir()
    (tmp_path / "lowlevel" / "x.py").write_text("import gantry.shim.cli\nimport grpc\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", str(tmp_path))
    found = violations("lowlevel")
    assert len(found) == 2
