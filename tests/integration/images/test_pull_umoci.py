"""What a pull unpacks equals what umoci unpacks from the same image (root: overlay mounts, devices,
owners).  The image is pushed with skopeo, pulled over the registry API, and its read-only overlay view
is compared with the reference rootfs: types, modes, owners, contents, links, devices, xattrs."""
import os

import pytest
from gantry.highlevel.images import snapshots as sn

from tests.fixtures import ociimage as oi
from tests.fixtures import treecmp

from .pullhelpers import hosts_dir, loopback_names_only, new_store, puller  # noqa: F401

pytestmark = [pytest.mark.root]


@pytest.mark.parametrize("compression,flavour", [("gzip", "oci"), ("zstd", "oci"), ("none", "docker")])
def test_pulled_tree_equals_umoci(tls_registry, tmp_path, compression, flavour):
    layers = oi.feature_layers(compression)
    img = oi.Image(layers, flavour=flavour)
    layout = str(tmp_path / "layout")
    oi.write_layout(layout, {"v1": img})
    name = "umoci/features-%s-%s" % (compression, flavour)
    if flavour == "oci":
        assert tls_registry.push(layout, name, "v1") == img.manifest_digest  # skopeo copy, digests kept
    else:  # skopeo reads only OCI-typed layouts: upload the Docker-typed image byte for byte
        tls_registry.push_image(img, name, "v1")
    config = hosts_dir(tmp_path, tls_registry.host, tls_registry.url, ca=tls_registry.ca)
    store = new_store(tmp_path)
    result = puller(config).pull(store, "%s/%s:v1" % (tls_registry.host, name))
    assert result.image_id == img.config_digest

    if compression == "zstd" or flavour == "docker":  # umoci 0.4.7 reads neither: the same tars, OCI+gzip
        reference = treecmp.reference_rootfs(layers, str(tmp_path / "reference"))
    else:
        reference = treecmp.umoci_unpack(layout, "v1", str(tmp_path / "reference"))
    top = store.meta.get_image(result.image_id).layers[-1].chain_id
    mnt = str(tmp_path / "mnt")
    os.makedirs(mnt)
    mounts = store.snapshots.view("view-umoci", top)
    sn.mount_all(mounts, mnt, store.snapshots.root)
    try:
        differences = treecmp.diff(reference, mnt)
    finally:
        sn.unmount(mnt)
        store.snapshots.remove("view-umoci")
    assert differences == []
    store.close()
