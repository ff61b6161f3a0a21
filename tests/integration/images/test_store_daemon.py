"""The image store shared by a running gantryd and the archive command line (root: overlay layers).

An image imported with ``archivecli`` next to a running daemon shows up in CRI ListImages and
ImageStatus at once; CRI RemoveImage by id frees its blobs and layer directories.
"""
import os
import subprocess
import sys

import pytest
from gantry.api import cri_pb2

from tests.fixtures import ociimage as oi
from tests.integration.gantryd_proc import GantrydProcess

pytestmark = [pytest.mark.root]


def test_import_beside_gantryd_then_cri_lists_and_removes(tmp_path):
    img = oi.Image(oi.feature_layers("gzip"), user="1000")
    layout = str(tmp_path / "layout")
    oi.write_layout(layout, {"v1": img})
    with GantrydProcess(str(tmp_path / "gd")) as gd:
        images_root = os.path.join(gd.root, "images")
        p = subprocess.run([sys.executable, "-m", "gantry.highlevel.images.archivecli", "--root", images_root,
                            "import", layout, "--base-name", "test.local/imported"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert p.stdout.split() == [img.config_digest, "test.local/imported:v1"]
        listed = gd.images.ListImages(cri_pb2.ListImagesRequest(), timeout=10).images
        assert [(i.id, list(i.repo_tags)) for i in listed] == [(img.config_digest, ["test.local/imported:v1"])]
        st = gd.images.ImageStatus(cri_pb2.ImageStatusRequest(image=cri_pb2.ImageSpec(image="test.local/imported:v1")),
                                   timeout=10).image
        assert st.id == img.config_digest and st.uid.value == 1000
        blobs = os.path.join(images_root, "content", "blobs", "sha256")
        snaps = os.path.join(images_root, "snapshots")
        assert len(os.listdir(blobs)) == 5 and len(os.listdir(snaps)) == 3
        gd.images.RemoveImage(cri_pb2.RemoveImageRequest(image=cri_pb2.ImageSpec(image=img.config_digest)),
                              timeout=30)
        assert gd.images.ListImages(cri_pb2.ListImagesRequest(), timeout=10).images == []
        assert os.listdir(blobs) == [] and os.listdir(snaps) == []
