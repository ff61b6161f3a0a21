"""from_config: the Network the configuration asks for (see api.py for the interface)."""
import os

from ..errors import InvalidArgument
from .api import NoNetwork


def from_config(cfg, root, state):
    """gantryd Config -> Network; ``root`` holds persistent records (<root>/network/)."""
    mode = cfg.network_mode
    if mode == "bridge":
        from .bridge import BridgeNetwork
        return BridgeNetwork(os.path.join(root, "network", "ipam.db"), bridge=cfg.network_bridge,
                             pod_cidr=cfg.network_pod_cidr, mtu=cfg.network_mtu, masquerade=cfg.network_masquerade,
                             pod_cidr_v6=cfg.network_pod_cidr_v6)
    if mode == "cni":
        from .cni import CNINetwork
        cache = cfg.cni_cache_dir or os.path.join(root, "network", "cni")
        return CNINetwork(cfg.cni_conf_dir, cfg.cni_bin_dirs, cache)
    if mode == "none":
        return NoNetwork()
    raise InvalidArgument("config network.mode: %r is not one of bridge, cni, none" % mode)
