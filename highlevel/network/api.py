"""What RunPodSandbox and StopPodSandbox see of pod networking.

Lifecycle of one pod (every implementation, see ``from_config``)::

    RunPodSandbox     netns file made, loopback up  ->  setup(PodNetwork) -> NetworkResult
    StopPodSandbox    teardown(pod_id)   (idempotent; the netns file may already be gone)
    RemovePodSandbox  teardown(pod_id) again is fine; then the netns file is removed
    start-up          recover(live_pod_ids): release what pods that no longer exist still hold

``teardown`` works from what ``setup`` recorded (sqlite rows in bridge mode,
the on-disk cache in CNI mode), never from the current configuration, so a
restart or a changed configuration cannot leak a pod's address, veth or rules.
Errors are the domain errors of highlevel/errors.py, carrying the cause
(a plugin's ``msg`` and ``details``, a netlink error, an iptables message).
"""
from dataclasses import dataclass, field

PROTOCOLS = ("TCP", "UDP", "SCTP")


@dataclass
class PortMapping:
    protocol: str          # "TCP" | "UDP" | "SCTP"
    container_port: int
    host_port: int         # 0 = no host port
    host_ip: str = ""


@dataclass
class PodNetwork:
    id: str                # pod sandbox id
    name: str
    namespace: str
    uid: str
    netns_path: str        # file the pod's network namespace is bound to (loopback already up)
    port_mappings: list = field(default_factory=list)   # [PortMapping]
    dns: object = None     # cri DNSConfig (servers, searches, options) or None
    annotations: dict = field(default_factory=dict)
    cgroup_parent: str = ""


@dataclass
class NetworkResult:
    ips: list              # ["10.x.y.z", optional IPv6]; the first is the pod's primary IP
    interface: str = "eth0"


class Network:
    """The interface; BridgeNetwork, CNINetwork and NoNetwork implement it."""

    def status(self):
        """(ready, reason, message) for the CRI NetworkReady condition."""
        raise NotImplementedError

    def setup(self, pod):
        """Connect the pod's netns; NetworkResult.  On error nothing stays behind."""
        raise NotImplementedError

    def teardown(self, pod_id):
        """Release everything setup recorded for pod_id; a no-op for an unknown pod."""
        raise NotImplementedError

    def update_pod_cidr(self, cidr):
        """CRI UpdateRuntimeConfig: addresses of pods set up from now on come from ``cidr``."""
        raise NotImplementedError

    def recover(self, live_pod_ids):
        """At start-up: tear down every recorded pod not in ``live_pod_ids``."""
        raise NotImplementedError

    def close(self):
        pass


class NoNetwork(Network):
    """mode = "none": pods keep only their loopback (what a host without networking gets)."""

    def status(self):
        return (True, "", "")

    def setup(self, pod):
        return NetworkResult(ips=[], interface="")

    def teardown(self, pod_id):
        pass

    def update_pod_cidr(self, cidr):
        pass

    def recover(self, live_pod_ids):
        pass
