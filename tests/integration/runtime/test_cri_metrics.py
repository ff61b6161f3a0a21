"""CRI metrics of a live container: ListMetricDescriptors, ListPodSandboxMetrics, StreamPodSandboxMetrics.

A busy-looping container with a CPU quota of half a core and a 64 MiB memory
limit: its CPU time must grow, CFS must count periods and throttle it, the
limits must read back, and every metric must carry as many label values as
its descriptor has keys.
"""
import time

from gantry.api import cri_pb2

from .criclient import TIMEOUT, container_config, pod_config

QUOTA, PERIOD, MEMORY = 50000, 100000, 64 << 20


def descriptors(cri):
    resp = cri.rt.ListMetricDescriptors(cri_pb2.ListMetricDescriptorsRequest(), timeout=TIMEOUT)
    return {d.name: d for d in resp.descriptors}


def pod_metrics(cri, pod_id):
    resp = cri.rt.ListPodSandboxMetrics(cri_pb2.ListPodSandboxMetricsRequest(), timeout=TIMEOUT)
    found = [p for p in resp.pod_metrics if p.pod_sandbox_id == pod_id]
    assert len(found) == 1, "pod %s: %d entries" % (pod_id, len(found))
    return found[0]


def container_values(pod, cid):
    """{name: {extra label values: value}} of one container, and its metrics."""
    [ctr] = [c for c in pod.container_metrics if c.container_id == cid]
    out = {}
    for m in ctr.metrics:
        out.setdefault(m.name, {})[tuple(m.label_values[6:])] = m.value.value
    return out, list(ctr.metrics)


def wait_for(what, fn, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %ss" % (what, timeout))
        time.sleep(0.5)


def test_metrics_of_a_busy_container(cri, busybox_ref):
    descs = descriptors(cri)
    assert all(d.help and list(d.label_keys[:6]) == ["container", "id", "image", "name", "namespace", "pod"]
               for d in descs.values())
    pcfg = pod_config()
    pod_id = cri.run_pod(pcfg)
    ccfg = container_config(busybox_ref[0], ["sh", "-c", "while :; do :; done"])
    ccfg.linux.resources.cpu_quota, ccfg.linux.resources.cpu_period = QUOTA, PERIOD
    ccfg.linux.resources.memory_limit_in_bytes = MEMORY
    t0 = int(time.time())
    cid = cri.run(pod_id, pcfg, ccfg)
    out = cri.exec_sync(cid, ["dd", "if=/dev/zero", "of=/written", "bs=1024", "count=1024"])
    assert out.exit_code == 0, out.stderr

    pod = pod_metrics(cri, pod_id)
    values, ms = container_values(pod, cid)
    for m in list(ms) + list(pod.metrics):
        assert m.name in descs, m.name
        assert len(m.label_values) == len(descs[m.name].label_keys), m.name
    m = ms[0]
    assert list(m.label_values[:6]) == [ccfg.metadata.name, cid, busybox_ref[0], cid, "gantry-test",
                                        pcfg.metadata.name]
    one = {name: v.get(()) for name, v in values.items()}
    assert (one["container_spec_cpu_quota"], one["container_spec_cpu_period"]) == (QUOTA, PERIOD)
    assert one["container_spec_memory_limit_bytes"] == MEMORY
    assert one["container_spec_cpu_shares"] > 0
    assert 0 < one["container_memory_working_set_bytes"] <= one["container_memory_usage_bytes"] <= MEMORY
    assert one["container_processes"] >= 1 and one["container_threads"] >= one["container_processes"]
    assert one["container_file_descriptors"] >= 1
    assert t0 - 2 <= one["container_start_time_seconds"] <= time.time()
    assert abs(one["container_last_seen"] - time.time()) < 30
    [fs_usage] = values["container_fs_usage_bytes"].values()
    assert fs_usage >= 1 << 20          # the file dd wrote in the writable layer
    [fs_limit] = values["container_fs_limit_bytes"].values()
    [inodes_total] = values["container_fs_inodes_total"].values()
    [inodes_free] = values["container_fs_inodes_free"].values()
    assert fs_limit > fs_usage and inodes_total >= inodes_free > 0
    assert set(values["container_memory_failures_total"]) == {
        ("pgfault", "container"), ("pgmajfault", "container"), ("pgfault", "hierarchy"), ("pgmajfault", "hierarchy")}
    assert values["container_memory_failures_total"][("pgfault", "hierarchy")] > 0

    # the pod's network namespace: loopback at least (gantryd without a network plugin has nothing else)
    net = {(m.name, m.label_values[-1]): m.value.value for m in pod.metrics}
    assert ("container_network_receive_bytes_total", "lo") in net
    assert {m.label_values[0] for m in pod.metrics} == {"POD"}

    # the loop burns CPU: whole seconds of it appear, grow, and the quota throttles it
    first = one["container_cpu_usage_seconds_total"]

    def grown():
        v, _ = container_values(pod_metrics(cri, pod_id), cid)
        return v if v["container_cpu_usage_seconds_total"][()] >= first + 1 else None
    later = wait_for("cpu usage grows by a second", grown)
    assert later["container_cpu_user_seconds_total"][()] + later["container_cpu_system_seconds_total"][()] >= 1
    assert later["container_cpu_cfs_periods_total"][()] > 0
    assert 0 < later["container_cpu_cfs_throttled_periods_total"][()] <= later["container_cpu_cfs_periods_total"][()]

    streamed = [p for r in cri.rt.StreamPodSandboxMetrics(cri_pb2.StreamPodSandboxMetricsRequest(), timeout=TIMEOUT)
                for p in r.pod_sandbox_metrics]
    assert pod_id in {p.pod_sandbox_id for p in streamed}

    # a stopped container has no metrics; its pod stays listed
    cri.stop(cid)
    assert [c.container_id for c in pod_metrics(cri, pod_id).container_metrics] == []


def test_network_of_a_pod_without_containers_comes_from_its_pause(cri):
    pcfg = pod_config()
    pcfg.linux.security_context.namespace_options.pid = cri_pb2.POD     # gantryd runs a pause process then
    pod_id = cri.run_pod(pcfg)
    pod = pod_metrics(cri, pod_id)
    assert list(pod.container_metrics) == []
    ifaces = {m.label_values[-1] for m in pod.metrics if m.name == "container_network_receive_packets_total"}
    assert "lo" in ifaces
