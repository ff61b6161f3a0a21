"""gantryd settings: defaults < TOML < flags, with clear errors."""
import pytest
from gantry.highlevel import config
from gantry.highlevel.errors import InvalidArgument


def test_defaults_need_no_file_and_no_flags():
    cfg = config.load(None, {}, read=lambda path: None)
    assert cfg == config.Config()
    assert cfg.address == "/run/gantry/gantryd.sock"
    assert cfg.root == "/var/lib/gantry"
    assert cfg.state == "/run/gantry"
    assert cfg.registry_config_dir == "/etc/gantry/certs.d"
    assert cfg.log_level == "info"
    assert cfg.cgroup_driver == "cgroupfs"


def test_default_file_is_read_when_present():
    seen = []

    def read(path):
        seen.append(path)
        return 'root = "/srv/gantry"\n'

    assert config.load(None, {}, read=read).root == "/srv/gantry"
    assert seen == [config.DEFAULT_CONFIG_FILE]


def test_explicit_missing_file_is_an_error():
    with pytest.raises(InvalidArgument, match="/nope.toml: no such file"):
        config.load("/nope.toml", {}, read=lambda path: None)


TOML = """
address = "unix:///tmp/g/x.sock"
root = "/tmp/g/root"
state = "/tmp/g/state"
registry_config_dir = "/tmp/g/certs.d"
log_level = "DEBUG"
cgroup_driver = "cgroupfs"
streaming_address = "::1"
streaming_port = 10010

[images]
max_concurrent_downloads = 5
pull_progress_timeout = 30
"""


def test_every_setting_from_toml():
    cfg = config.resolve(config.parse_toml(TOML))
    assert cfg == config.Config(address="/tmp/g/x.sock", root="/tmp/g/root", state="/tmp/g/state",
                                registry_config_dir="/tmp/g/certs.d", log_level="debug", cgroup_driver="cgroupfs",
                                max_concurrent_downloads=5, pull_progress_timeout=30.0,
                                streaming_address="::1", streaming_port=10010)


def test_flags_win_over_file_and_none_means_not_given():
    cfg = config.resolve(config.parse_toml(TOML), {"root": "/flag/root", "state": None, "log_level": "error"})
    assert cfg.root == "/flag/root"
    assert cfg.state == "/tmp/g/state"
    assert cfg.log_level == "error"


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        config.Config().root = "/x"


@pytest.mark.parametrize("text, message", [
    ("rot = '/x'", "unknown key rot"),
    ("[images]\nparallel = 2", "unknown key images.parallel"),
    ("root = 3", "root: expected str"),
    ("[images]\nmax_concurrent_downloads = '3'", "expected int"),
    ("[images]\nmax_concurrent_downloads = true", "expected int"),
    ("root = ", "config <config>:"),
])
def test_bad_toml_names_the_key(text, message):
    with pytest.raises(InvalidArgument, match=message):
        config.parse_toml(text)


@pytest.mark.parametrize("values, message", [
    ({"root": "relative/dir"}, "root: must be an absolute path"),
    ({"address": "@abstract"}, "address: must be an absolute path"),
    ({"address": "/" + "a" * 120}, "longer than 107 bytes"),
    ({"log_level": "chatty"}, "log_level"),
    ({"cgroup_driver": "cgroupv2"}, "cgroup_driver"),
    ({"max_concurrent_downloads": 0}, "max_concurrent_downloads"),
    ({"pull_progress_timeout": 0.0}, "pull_progress_timeout"),
    ({"streaming_address": "localhost"}, "streaming_address: 'localhost' is not an IP address"),
    ({"streaming_port": 70000}, "streaming_port: 70000 is not a port"),
])
def test_invalid_values(values, message):
    with pytest.raises(InvalidArgument, match=message):
        config.resolve(values)


NETWORK_TOML = """
[network]
mode = "cni"
bridge = "gtest0"
pod_cidr = "10.200.0.0/16"
pod_cidr_v6 = "fd87:200::/64"
mtu = 1400
masquerade = true
cni_conf_dir = "/etc/x/net.d"
cni_bin_dirs = ["/opt/x/bin"]
cni_cache_dir = "/var/lib/x/cni"
"""


def test_network_table():
    cfg = config.resolve(config.parse_toml(NETWORK_TOML))
    assert cfg.network_pod_cidr_v6 == "fd87:200::/64"
    assert (cfg.network_mode, cfg.network_bridge, cfg.network_pod_cidr, cfg.network_mtu, cfg.network_masquerade,
            cfg.cni_conf_dir, cfg.cni_bin_dirs, cfg.cni_cache_dir) == (
        "cni", "gtest0", "10.200.0.0/16", 1400, True, "/etc/x/net.d", ("/opt/x/bin",), "/var/lib/x/cni")


def test_network_defaults():
    cfg = config.Config()
    assert (cfg.network_mode, cfg.network_bridge, cfg.network_masquerade) == ("bridge", "gantry0", False)
    assert cfg.cni_bin_dirs == ("/usr/lib/cni", "/opt/cni/bin") and cfg.cni_cache_dir == ""


@pytest.mark.parametrize("toml, error", [
    ('[network]\nmode = "calico"', "network.mode: 'calico' is not one of bridge, cni, none"),
    ('[network]\nbridge = "a-name-that-is-too-long"', "network.bridge"),
    ('[network]\npod_cidr = "10.1.0.0/30"', "network.pod_cidr"),
    ('[network]\npod_cidr = "banana"', "network.pod_cidr"),
    ('[network]\npod_cidr_v6 = "10.0.0.0/8"', "network.pod_cidr_v6: '10.0.0.0/8' must be an IPv6 CIDR"),
    ('[network]\npod_cidr_v6 = "fd00::/127"', "network.pod_cidr_v6"),
    ('[network]\nmtu = 20', "network.mtu: 20"),
    ('[network]\nmasquerade = "yes"', "network.masquerade: expected bool"),
    ('[network]\ncni_bin_dirs = "/usr/lib/cni"', "network.cni_bin_dirs: expected a list of strings"),
    ('[network]\ncni_bin_dirs = ["lib/cni"]', "network.cni_bin_dirs: must be an absolute path"),
    ('[network]\ncni_cache_dir = "cache"', "network.cni_cache_dir"),
    ('[network]\nmode_typo = "cni"', "unknown key network.mode_typo"),
])
def test_network_table_errors(toml, error):
    with pytest.raises(InvalidArgument, match=error):
        config.resolve(config.parse_toml(toml))
def test_systemd_cgroup_driver_is_refused_at_start_up():
    from gantry.highlevel.errors import Unimplemented
    with pytest.raises(Unimplemented, match="cgroup_driver: 'systemd' is not supported.*--systemd-cgroup"):
        config.resolve(config.parse_toml('cgroup_driver = "systemd"'))
    with pytest.raises(Unimplemented, match="cgroup_driver"):
        config.resolve({}, {"cgroup_driver": "systemd"})
