"""hostfacts: capabilities, devices, seccomp profile files."""
import json
import os

import pytest
from gantry.api import cri_pb2
from gantry.highlevel.errors import InvalidArgument, NotFound
from gantry.highlevel.runtime import hostfacts
from gantry.highlevel.runtime.specgen import HostDevice
from google.protobuf import json_format


def test_capabilities_from_mask():
    assert hostfacts.capabilities_from_mask(0) == []
    assert hostfacts.capabilities_from_mask(0b101) == ["CAP_CHOWN", "CAP_DAC_READ_SEARCH"]
    caps = hostfacts.capabilities_from_mask(0x1FFFEFFFFFF)     # this kind of VM: all but CAP_SYS_RESOURCE
    assert "CAP_SYS_RESOURCE" not in caps and "CAP_CHECKPOINT_RESTORE" in caps and len(caps) == 40


def test_current_capabilities(tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tx\nCapBnd:\t0000000000000003\n")
    assert hostfacts.current_capabilities(str(status)) == ["CAP_CHOWN", "CAP_DAC_OVERRIDE"]
    assert set(hostfacts.current_capabilities()) <= set(hostfacts.KNOWN_CAPS)


def test_host_devices_lists_dev():
    devices = {d.path: d for d in hostfacts.host_devices()}
    assert devices["/dev/null"] == HostDevice("/dev/null", "c", 1, 3, devices["/dev/null"].file_mode, 0, 0)
    assert not [p for p in devices if p.startswith(("/dev/pts/", "/dev/shm/")) or p == "/dev/console"]


def config(devices):
    return json_format.ParseDict({"devices": devices}, cri_pb2.ContainerConfig())


def test_lookup_devices(tmp_path):
    (tmp_path / "nul").symlink_to("/dev/null")
    got = hostfacts.lookup_devices(config([{"containerPath": "/dev/x", "hostPath": str(tmp_path / "nul")}]))
    assert got == {str(tmp_path / "nul"): [HostDevice(str(tmp_path / "nul"), "c", 1, 3,
                                                      os.stat("/dev/null").st_mode & 0o7777, 0, 0)]}
    with pytest.raises(NotFound, match="devices\\[0\\].host_path"):
        hostfacts.lookup_devices(config([{"containerPath": "/dev/x", "hostPath": "/dev/no-such-device"}]))
    (tmp_path / "plain").write_text("")
    with pytest.raises(InvalidArgument, match="not a device node"):
        hostfacts.lookup_devices(config([{"containerPath": "/dev/x", "hostPath": str(tmp_path / "plain")}]))


# found by tests/fuzz (fuzz_specgen): a device host_path of /proc walked all of it and raised PermissionError
# (corpus/specgen/regress-device-dir-proc); a large tree is refused instead of walked
def test_lookup_devices_of_a_host_tree_is_invalid_argument(tmp_path, monkeypatch):
    with pytest.raises(InvalidArgument, match="devices\\[0\\].host_path: .*/proc"):
        hostfacts.lookup_devices(config([{"containerPath": "/dev/x", "hostPath": "/proc"}]))
    for i in range(5):
        (tmp_path / str(i)).mkdir()
    monkeypatch.setattr(hostfacts, "MAX_DEVICE_WALK", 3)
    with pytest.raises(InvalidArgument, match="more than 3 entries"):
        hostfacts.lookup_devices(config([{"containerPath": "/dev/x", "hostPath": str(tmp_path)}]))
    monkeypatch.setattr(hostfacts, "MAX_DEVICE_WALK", 5)
    assert hostfacts.lookup_devices(config([{"containerPath": "/dev/x", "hostPath": str(tmp_path)}])) == \
        {str(tmp_path): []}


def test_read_seccomp_profile(tmp_path):
    good = tmp_path / "p.json"
    good.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW"}))
    assert hostfacts.read_seccomp_profile(str(good)) == {"defaultAction": "SCMP_ACT_ALLOW"}
    (tmp_path / "bad.json").write_text("{nope")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(NotFound):
        hostfacts.read_seccomp_profile(str(tmp_path / "missing.json"))
    with pytest.raises(InvalidArgument, match="not JSON"):
        hostfacts.read_seccomp_profile(str(tmp_path / "bad.json"))
    with pytest.raises(InvalidArgument, match="not a JSON object"):
        hostfacts.read_seccomp_profile(str(tmp_path / "list.json"))
    with pytest.raises(InvalidArgument, match="directory"):
        hostfacts.read_seccomp_profile(str(tmp_path))
    with pytest.raises(InvalidArgument, match="cannot be read"):
        hostfacts.read_seccomp_profile(str(tmp_path) + "/p\0.json")    # ValueError from open()
    with pytest.raises(InvalidArgument, match="cannot be read"):
        hostfacts.read_seccomp_profile(str(good) + "/below-a-file")     # NotADirectoryError


def test_cgroup_facts(tmp_path):
    v1 = tmp_path / "v1"
    (v1 / "memory").mkdir(parents=True)
    (v1 / "hugetlb").mkdir()
    (v1 / "memory" / "memory.memsw.limit_in_bytes").write_text("0")
    assert (hostfacts.cgroup_unified(str(v1)), hostfacts.swap_limit_supported(str(v1)),
            hostfacts.hugetlb_supported(str(v1))) == (False, True, True)
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cgroup.controllers").write_text("cpu memory pids\n")
    assert (hostfacts.cgroup_unified(str(v2)), hostfacts.swap_limit_supported(str(v2)),
            hostfacts.hugetlb_supported(str(v2))) == (True, False, False)


# found by tests/fuzz (fuzz_specgen, in a CI-like run on 2026-12-06): a NUL byte in a device host_path
# let ValueError out of os.path.realpath (corpus/specgen/regress-device-host-path-nul)
def test_lookup_devices_of_a_path_with_a_nul_byte_is_invalid_argument():
    with pytest.raises(InvalidArgument, match="devices\\[0\\].host_path: .*NUL byte"):
        hostfacts.lookup_devices(config([{"containerPath": "/dev/x", "hostPath": "/\0dev/null"}]))
