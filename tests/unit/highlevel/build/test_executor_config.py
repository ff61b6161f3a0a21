"""The built image's config and manifest (pure)."""
import json

from gantry.highlevel.build.cache import step_key
from gantry.highlevel.build.executor_config import ImageConfig, manifest

BASE = {"architecture": "amd64", "os": "linux", "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "a" * 64]}, "history": [{"created_by": "base"}],
        "container_config": {"Cmd": ["x"]}}


def test_scratch_has_a_path_and_no_layers():
    cfg = ImageConfig.from_base(None, ("linux", "arm64", "v8"))
    assert cfg.doc["architecture"] == "arm64" and cfg.doc["variant"] == "v8"
    assert cfg.env[0].startswith("PATH=") and cfg.diff_ids == []


def test_entrypoint_drops_the_inherited_cmd_but_not_one_set_in_the_stage():
    cfg = ImageConfig.from_base(BASE, ("linux", "amd64"))
    cfg.set_entrypoint(["/app"])
    assert "Cmd" not in cfg.config
    cfg = ImageConfig.from_base(BASE, ("linux", "amd64"))
    cfg.set_cmd(["serve"])
    cfg.set_entrypoint(["/app"])
    assert cfg.config["Cmd"] == ["serve"]


def test_metadata_and_history():
    cfg = ImageConfig.from_base(BASE, ("linux", "amd64"))
    cfg.set_env(["A=1", "PATH=/usr/bin"])
    cfg.add_ports(["80/tcp", "53"])
    cfg.add_volumes(["/data"])
    cfg.add_labels({"k": "v"})
    cfg.add_history("ENV A=1", True, created=0)
    cfg.add_history("RUN make", False, created=0)
    cfg.add_layer("sha256:" + "b" * 64)
    doc = json.loads(cfg.to_bytes(created=1700000000))
    assert doc["config"]["Env"] == ["PATH=/usr/bin", "A=1"]
    assert doc["config"]["ExposedPorts"] == {"80/tcp": {}, "53/tcp": {}}
    assert doc["config"]["Volumes"] == {"/data": {}} and doc["config"]["Labels"] == {"k": "v"}
    assert doc["created"] == "2023-11-14T22:13:20Z" and "container_config" not in doc
    assert doc["history"][1] == {"created": "1970-01-01T00:00:00Z", "created_by": "ENV A=1",
                                 "comment": "buildkit.dockerfile.v0", "empty_layer": True}
    layered = [h for h in doc["history"] if not h.get("empty_layer")]
    assert len(layered) == len(doc["rootfs"]["diff_ids"]) == 2
    assert BASE["config"]["Env"] == ["PATH=/bin"]            # the base is never changed


def test_manifest_lists_config_and_layers():
    m = json.loads(manifest("sha256:c", 10, [("sha256:l1", "application/vnd.oci.image.layer.v1.tar+gzip", 5)]))
    assert m["config"] == {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:c", "size": 10}
    assert m["layers"][0]["digest"] == "sha256:l1" and m["schemaVersion"] == 2


def test_cache_key_changes_with_every_input():
    base = step_key("sha256:p", "RUN make", ["sha256:d"], env=["A=1"], user="", workdir="/", network="none")
    assert base == step_key("sha256:p", "RUN make", ["sha256:d"], env=["A=1"], user="", workdir="/", network="none")
    for other in (step_key(None, "RUN make", ["sha256:d"], env=["A=1"], user="", workdir="/", network="none"),
                  step_key("sha256:p", "RUN make all", ["sha256:d"], env=["A=1"], user="", workdir="/", network="none"),
                  step_key("sha256:p", "RUN make", ["sha256:e"], env=["A=1"], user="", workdir="/", network="none"),
                  step_key("sha256:p", "RUN make", ["sha256:d"], env=["A=2"], user="", workdir="/", network="none"),
                  step_key("sha256:p", "RUN make", ["sha256:d"], env=["A=1"], user="1", workdir="/", network="none"),
                  step_key("sha256:p", "RUN make", ["sha256:d"], env=["A=1"], user="", workdir="/", network="host")):
        assert other != base
