"""Archives cross to and from the real peer: containerd imports what we export and we import what it exports."""
import os
import subprocess

import pytest
from gantry.highlevel.images import archive
from gantry.highlevel.images.service import ImageService
from gantry.highlevel.images.store import ImageStore

from tests.fixtures import ociimage as oi
from tests.integration.fixtures.test_registry_containerd import ctr  # noqa: F401  (a private containerd)

pytestmark = [pytest.mark.root]


def test_archives_round_trip_through_containerd(tmp_path, ctr):  # noqa: F811
    argv, _ = ctr
    img = oi.Image(oi.feature_layers("gzip"))
    oi.write_layout(str(tmp_path / "layout"), {"v1": img})
    store = ImageStore(str(tmp_path / "store"))
    try:
        archive.import_archive(store, str(tmp_path / "layout"), base_name="test.local/ctd")
        svc = ImageService(store)
        for kind, export in (("oci", archive.export_oci_archive), ("docker", archive.export_docker_archive)):
            out = str(tmp_path / f"{kind}.tar")
            export(svc, ["test.local/ctd:v1"], out)
            p = subprocess.run(argv + ["images", "import", "--index-name", f"test.local/ctd-{kind}:v1", out],
                               capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, p.stderr
        listed = subprocess.run(argv + ["images", "ls", "-q"], capture_output=True, text=True).stdout.split()
        assert "test.local/ctd:v1" in listed
        back = str(tmp_path / "from-containerd.tar")
        p = subprocess.run(argv + ["images", "export", back, "test.local/ctd:v1"], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
    finally:
        store.close()
    other = ImageStore(str(tmp_path / "other"))
    try:
        assert archive.import_archive(other, back) == [(img.config_digest, ["test.local/ctd:v1"])]
        top = other.meta.get_image(img.config_digest).layers[-1].chain_id
        assert os.listdir(other.snapshots.fs_path(top)) == ["m"]
    finally:
        other.close()
    subprocess.run(argv + ["images", "rm", "test.local/ctd:v1", "test.local/ctd-oci:v1", "test.local/ctd-docker:v1"],
                   capture_output=True)
