"""Pod networking for gantryd: the built-in bridge, CNI plugins, or none (see api.py)."""
from .api import Network, NetworkResult, NoNetwork, PodNetwork, PortMapping
from .factory import from_config

__all__ = ["Network", "NetworkResult", "NoNetwork", "PodNetwork", "PortMapping", "from_config"]
