"""Benchmark: pod network setup + teardown, built-in bridge vs the standard CNI plugins.

    python -m bench.network [--pods 50] [--json FILE]

Each pod: a fresh netns file (not timed), then ``setup`` (with one TCP and one
UDP host port) and ``teardown``, timed in this process:

- bridge: gantryd's built-in bridge (rtnetlink by hand, network/rtnl.py, sqlite IPAM, one
  iptables-restore per setup and per teardown);
- cni: gantryd's CNI mode running Debian's bridge + host-local + portmap +
  loopback plugins (the chain containerd runs for its pods; its own overhead
  comes on top, see bench/cri for RunPodSandbox side by side with containerd).

Private bridge names and 10.251.9x.0/24 subnets; everything is removed after.
Prints the medians and the ratio bridge / cni.  Needs root.  No traffic.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from gantry.highlevel.network.api import PodNetwork, PortMapping
from gantry.highlevel.network.bridge import BridgeNetwork
from gantry.highlevel.network.cni import CNINetwork

CNI_PLUGINS = "/usr/lib/cni"


def measure(net, workdir, pods):
    ns = os.path.join(workdir, "ns")
    setups, teardowns = [], []
    for i in range(pods):
        open(ns, "w").close()
        subprocess.run(["unshare", "--net=" + ns, "ip", "link", "set", "lo", "up"], check=True)
        pod = PodNetwork(id="bench-%d" % i, name="b%d" % i, namespace="bench", uid="u%d" % i, netns_path=ns,
                         port_mappings=[PortMapping("TCP", 80, 31990), PortMapping("UDP", 53, 31991)])
        start = time.perf_counter()
        net.setup(pod)
        mid = time.perf_counter()
        net.teardown(pod.id)
        setups.append(mid - start)
        teardowns.append(time.perf_counter() - mid)
        subprocess.run(["umount", ns], check=True)
        os.unlink(ns)
    return statistics.median(setups) * 1000, statistics.median(teardowns) * 1000


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.network")
    parser.add_argument("--pods", type=int, default=50)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="gantry-bench-net-") as workdir:
        bridge = BridgeNetwork(os.path.join(workdir, "ipam.db"), bridge="gtbench0", pod_cidr="10.251.90.0/24")
        try:
            results["bridge"] = measure(bridge, workdir, args.pods)
        finally:
            bridge.remove_host_state()
            bridge.close()
        conf = os.path.join(workdir, "net.d")
        os.mkdir(conf)
        with open(os.path.join(conf, "10-bench.conflist"), "w") as f:
            json.dump({"cniVersion": "1.0.0", "name": "gantry-bench", "plugins": [
                {"type": "bridge", "bridge": "gtbenchcni0", "isGateway": True, "hairpinMode": True,
                 "ipam": {"type": "host-local", "dataDir": os.path.join(workdir, "ipam"),
                          "ranges": [[{"subnet": "10.251.91.0/24"}]]}},
                {"type": "portmap", "capabilities": {"portMappings": True}}, {"type": "loopback"}]}, f)
        if os.access(os.path.join(CNI_PLUGINS, "bridge"), os.X_OK):
            try:
                results["cni"] = measure(CNINetwork(conf, [CNI_PLUGINS], os.path.join(workdir, "cache")),
                                         workdir, args.pods)
            finally:
                subprocess.run(["ip", "link", "del", "gtbenchcni0"], capture_output=True)
        else:
            print("cni: skipped, no plugins in %s" % CNI_PLUGINS)
    for name, (setup, teardown) in results.items():
        print("%-7s setup %6.1f ms  teardown %6.1f ms  total %6.1f ms  (median of %d pods)"
              % (name, setup, teardown, setup + teardown, args.pods))
    if "cni" in results:
        print("bridge / cni: %.2fx" % (sum(results["bridge"]) / sum(results["cni"])))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({k: {"setup_ms": v[0], "teardown_ms": v[1]} for k, v in results.items()}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
