"""OCI layout and docker-save import/export round trips."""
import json
import os
import tarfile

import pytest
from gantry.highlevel import errors
from gantry.highlevel.images import archive
from gantry.highlevel.images.service import ImageService
from gantry.highlevel.images.store import ImageStore

from tests.fixtures import ociimage as oi

LAYERS = [oi.Layer([oi.Dir("etc"), oi.File("etc/a", b"a\n", mode=0o600)]),
          oi.Layer([oi.File("etc/b", b"b\n"), oi.Symlink("etc/c", "b")], "zstd")]


@pytest.fixture
def svc(tmp_path):
    s = ImageStore(str(tmp_path / "store"))
    yield ImageService(s)
    s.close()


def tree(path):
    out = {}
    for dirpath, dirs, files in os.walk(path):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, path)
            out[rel] = os.readlink(p) if os.path.islink(p) else (open(p, "rb").read() if os.path.isfile(p) else "dir")
    return out


def test_oci_layout_import_names_and_platform(tmp_path, svc):
    img = oi.Image(LAYERS, user="nobody")
    arm = oi.Image(LAYERS[:1], architecture="arm64")
    oi.write_layout(str(tmp_path / "lay"), {"v1": img, "multi": oi.Index([arm, img], attestation=True)})
    got = archive.import_oci_layout(svc.store, str(tmp_path / "lay"), base_name="example.com/app")
    assert got == [(img.config_digest, ["example.com/app:v1"]), (img.config_digest, ["example.com/app:multi"])]
    status = svc.image_status("example.com/app:multi")
    assert status.id == img.config_digest and status.username == "nobody"
    assert sorted(status.repo_tags) == ["example.com/app:multi", "example.com/app:v1"]
    top = svc.store.meta.get_image(img.config_digest).layers[-1].chain_id
    assert svc.store.snapshots.exists(top)
    assert arm.config_digest not in {b.digest for b in svc.store.content.walk()}   # other platform skipped


def test_oci_layout_without_names_imports_by_id(tmp_path, svc):
    img = oi.Image(LAYERS)
    oi.write_layout(str(tmp_path / "lay"), {"v1": img})
    assert archive.import_oci_layout(svc.store, str(tmp_path / "lay")) == [(img.config_digest, [])]
    assert svc.image_status(img.config_digest).repo_tags == []


def test_tampered_blob_is_refused_and_nothing_recorded(tmp_path, svc):
    img = oi.Image(LAYERS)
    lay = tmp_path / "lay"
    oi.write_layout(str(lay), {"v1": img})
    blob = lay / "blobs" / "sha256" / LAYERS[1].digest[7:]
    blob.write_bytes(blob.read_bytes()[:-1] + b"\x00")
    with pytest.raises(errors.DataLoss):
        archive.import_oci_layout(svc.store, str(lay), base_name="x.io/a")
    assert svc.list_images() == []
    svc.store.gc()
    assert list(svc.store.content.walk()) == [] and svc.store.snapshots.walk() == []


def test_not_a_layout(tmp_path, svc):
    with pytest.raises(errors.InvalidArgument, match="OCI image layout"):
        archive.import_oci_layout(svc.store, str(tmp_path))


def test_oci_round_trip(tmp_path, svc):
    img = oi.Image(LAYERS)
    oi.write_layout(str(tmp_path / "lay"), {"v1": img})
    archive.import_oci_layout(svc.store, str(tmp_path / "lay"), base_name="example.com/app")
    archive.export_oci_layout(svc, ["example.com/app:v1"], str(tmp_path / "out"))
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    (desc,) = index["manifests"]
    assert desc["digest"] == img.manifest_digest
    assert desc["annotations"] == {"io.containerd.image.name": "example.com/app:v1",
                                   "org.opencontainers.image.ref.name": "v1"}
    for dg, blob in img.blobs.items():
        assert (tmp_path / "out" / "blobs" / "sha256" / dg[7:]).read_bytes() == blob
    other = ImageStore(str(tmp_path / "other"))
    assert archive.import_oci_layout(other, str(tmp_path / "out")) == [(img.config_digest, ["example.com/app:v1"])]
    top = other.meta.get_image(img.config_digest).layers[-1].chain_id
    assert tree(other.snapshots.fs_path(top)) == {"etc": "dir", "etc/b": b"b\n", "etc/c": "b"}
    other.close()


def test_docker_archive_round_trip(tmp_path, svc):
    img = oi.Image(LAYERS, flavour="docker")
    oi.write_docker_archive(str(tmp_path / "in.tar"), {"busybox:1.36": img})
    (iid, names), = archive.import_docker_archive(svc.store, str(tmp_path / "in.tar"))
    assert iid == img.config_digest and names == ["docker.io/library/busybox:1.36"]
    archive.export_docker_archive(svc, ["busybox:1.36"], str(tmp_path / "out.tar"))
    with tarfile.open(tmp_path / "out.tar") as tf:
        manifest = json.load(tf.extractfile("manifest.json"))
        assert manifest[0]["RepoTags"] == ["busybox:1.36"]
        assert json.load(tf.extractfile("repositories")) == {"busybox": {"1.36": LAYERS[1].diff_id[7:]}}
        for name, layer in zip(manifest[0]["Layers"], LAYERS, strict=True):
            assert tf.extractfile(name).read() == layer.tar       # uncompressed
    other = ImageStore(str(tmp_path / "other"))
    (iid2, _), = archive.import_docker_archive(other, str(tmp_path / "out.tar"))
    assert iid2 == iid
    other.close()


def test_docker_archive_malformed(tmp_path, svc):
    with tarfile.open(tmp_path / "bad.tar", "w"):
        pass
    with pytest.raises(errors.InvalidArgument, match="manifest.json"):
        archive.import_docker_archive(svc.store, str(tmp_path / "bad.tar"))
    (tmp_path / "junk").write_bytes(b"junk")
    with pytest.raises(errors.InvalidArgument):
        archive.import_docker_archive(svc.store, str(tmp_path / "junk"))


def test_export_unknown_image(tmp_path, svc):
    with pytest.raises(errors.NotFound):
        archive.export_oci_layout(svc, ["nope:1"], str(tmp_path / "o"))


def test_command_line_import_and_export(tmp_path, capsys):
    from gantry.highlevel.images import archivecli

    img = oi.Image(LAYERS)
    oi.write_layout(str(tmp_path / "lay"), {"v1": img})
    root = str(tmp_path / "cli-store")
    assert archivecli.main(["--root", root, "import", str(tmp_path / "lay"), "--base-name", "example.com/a"]) == 0
    assert capsys.readouterr().out == f"{img.config_digest} example.com/a:v1\n"
    assert archivecli.main(["--root", root, "export", "--docker", str(tmp_path / "o.tar"), "example.com/a:v1"]) == 0
    assert archivecli.main(["--root", root, "export", "--oci-archive", str(tmp_path / "oa.tar"), "example.com/a:v1"]) == 0
    assert archivecli.main(["--root", str(tmp_path / "s3"), "import", str(tmp_path / "oa.tar")]) == 0
    assert capsys.readouterr().out == f"{img.config_digest} example.com/a:v1\n"
    assert archivecli.main(["--root", str(tmp_path / "s2"), "import", str(tmp_path / "o.tar")]) == 0
    assert capsys.readouterr().out == f"{img.config_digest} example.com/a:v1\n"
    assert archivecli.main(["--root", root, "export", "--oci", str(tmp_path / "x"), "nope:1"]) == 1
    assert "no such image" in capsys.readouterr().err


def test_oci_archive_round_trip_and_import_archive_dispatch(tmp_path, svc):
    img = oi.Image(LAYERS)
    oi.write_layout(str(tmp_path / "lay"), {"v1": img})
    archive.import_archive(svc.store, str(tmp_path / "lay"), base_name="example.com/app")
    archive.export_oci_archive(svc, ["example.com/app:v1"], str(tmp_path / "o.tar"))
    with tarfile.open(tmp_path / "o.tar") as tf:
        names = set(tf.getnames())
    assert {"oci-layout", "index.json"} <= names and len([n for n in names if n.startswith("blobs/")]) == 4
    other = ImageStore(str(tmp_path / "other"))
    assert archive.import_archive(other, str(tmp_path / "o.tar")) == [(img.config_digest, ["example.com/app:v1"])]
    archive.export_docker_archive(svc, ["example.com/app:v1"], str(tmp_path / "d.tar"))
    assert archive.import_archive(other, str(tmp_path / "d.tar")) == [(img.config_digest, ["example.com/app:v1"])]
    other.close()
    (tmp_path / "junk").write_bytes(b"junk")
    with pytest.raises(errors.InvalidArgument, match="neither a directory nor a tar"):
        archive.import_archive(svc.store, str(tmp_path / "junk"))
