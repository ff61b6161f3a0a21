"""from_config picks the implementation the [network] table asks for."""
from gantry.highlevel.config import Config
from gantry.highlevel.network import NoNetwork, from_config
from gantry.highlevel.network.bridge import BridgeNetwork
from gantry.highlevel.network.cni import CNINetwork
from gantry.highlevel.network.links import default_route_mtu


def test_bridge_is_the_default_and_keeps_its_records_under_root(tmp_path):
    net = from_config(Config(), str(tmp_path), "/run/x")
    try:
        assert isinstance(net, BridgeNetwork)
        assert net.store.path == str(tmp_path / "network" / "ipam.db")
        assert (net.bridge, str(net.subnet), net.masquerade) == ("gantry0", "10.87.0.0/16", False)
        assert net.mtu == default_route_mtu() >= 68                   # mtu = 0: the uplink's
    finally:
        net.close()


def test_cni_and_none(tmp_path):
    net = from_config(Config(network_mode="cni", cni_conf_dir="/etc/x"), str(tmp_path), "/run/x")
    assert isinstance(net, CNINetwork) and net.cache.directory == str(tmp_path / "network" / "cni")
    assert net.bin_dirs == ["/usr/lib/cni", "/opt/cni/bin"] and net.conf_dir == "/etc/x"
    net = from_config(Config(network_mode="cni", cni_cache_dir="/c"), str(tmp_path), "/run/x")
    assert net.cache.directory == "/c"
    none = from_config(Config(network_mode="none"), str(tmp_path), "/run/x")
    assert isinstance(none, NoNetwork) and none.status() == (True, "", "")
    assert none.setup(None).ips == []
