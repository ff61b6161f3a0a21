"""kill -9 of gantryd in the middle of RunPodSandbox / CreateContainer / StopContainer / StopPodSandbox
/ RemovePodSandbox, then a restart; in both network modes (built-in bridge, CNI plugins).

A client thread keeps making pods (some with a host port) and containers, stopping them and
removing some pods; gantryd is killed after a random delay, many times over, so the kill lands
inside every step of those calls. After each restart the rows and the machine must agree: every
pod and container gantryd lists is real, nothing exists that it does not list (pod dirs and their
netns files, bundles, shim dirs, mounts, shims, snapshots, addresses, veths, CNI cache entries),
and removing everything leaves nothing at all (no address, veth, host-port rule, cache file).
"""
import itertools
import json
import os
import random
import sqlite3
import subprocess
import threading
import time

import grpc
import pytest
from gantry.api import cri_pb2
from gantry.highlevel.network.links import bridge_ports

from .criclient import Cri, container_config, pod_config

pytestmark = [pytest.mark.root, pytest.mark.slow]
ROUNDS = int(os.environ.get("GANTRY_CRASH_ROUNDS", "12"))
_host_ports = itertools.count(32100)


def _churn(cri, image, stop):
    while not stop.is_set():
        try:
            pcfg = pod_config()
            if random.random() < 0.3:
                pcfg.linux.security_context.namespace_options.pid = cri_pb2.POD     # with a pause process
            if random.random() < 0.3:
                pcfg.port_mappings.add(protocol=cri_pb2.TCP, container_port=80, host_port=next(_host_ports))
            pod = cri.run_pod(pcfg)
            cid = cri.run(pod, pcfg, container_config(image, command=["sleep", "100"]))
            cri.stop(cid, timeout=0)
            if random.random() < 0.5:
                cri.stop_pod(pod)
                cri.remove_pod(pod)
        except grpc.RpcError:
            return                      # gantryd went away under us: that is the point


def _shims_of(gd):
    """Shim processes of this gantryd (forks of its template carry the template's command line;
    the template itself is gantryd's child and does not count)."""
    out = subprocess.run(["pgrep", "-f", "gantry-shim.*%s" % gd.state], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split() if _ppid(int(pid)) != gd.proc.pid]


def _ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0


def _snapshot_keys(root):
    db = sqlite3.connect(os.path.join(root, "images", "metadata.db"))
    try:
        return {k for (k,) in db.execute("SELECT key FROM snapshots WHERE key LIKE 'ctr-%'")}
    finally:
        db.close()


def _check_consistent(gd, cri):
    pods = {p.id: p for p in cri.pods()}
    ctrs = {c.id: c for c in cri.containers()}
    state = gd.state
    assert set(os.listdir(os.path.join(state, "pods"))) == set(pods)
    assert set(os.listdir(os.path.join(state, "containers"))) == set(ctrs)
    shim_owners = {i[:16] for i in list(ctrs) + list(pods)}
    assert set(os.listdir(os.path.join(state, "shims"))) <= shim_owners
    assert _snapshot_keys(gd.root) == {"ctr-" + c for c in ctrs}
    for line in open("/proc/self/mountinfo"):
        mp = line.split()[4]
        if mp.startswith(state + "/"):
            rel = os.path.relpath(mp, state).split("/")
            assert rel[1] in (pods if rel[0] == "pods" else ctrs), "mount %s belongs to nobody" % mp
    for c in ctrs.values():
        assert c.state != cri_pb2.CONTAINER_UNKNOWN


def _check_network(gd, cri, mode):
    """Ready pods hold one address, veth and cache entry each; nothing else is held."""
    ready = [p.id for p in cri.pods() if p.state == cri_pb2.SANDBOX_READY]
    live = {p.id for p in cri.pods()}
    ips = {cri.pod_status(p).status.network.ip for p in ready}
    reserved = mode.reserved_ips(gd)
    assert ips <= reserved, "ready pods without their address: %s" % (ips - reserved)
    assert len(reserved) <= len(live), "addresses %s held for %d pods" % (sorted(reserved), len(live))
    assert len(bridge_ports(mode.bridge)) <= len(live)
    held = mode.cache_files(gd)
    assert {n[:-5] if n.endswith(".json") else n for n in held} <= live, "cache entries of gone pods: %s" % held


def test_kill_9_at_any_moment(net_gantryd, busybox_ref):
    gantryd, mode = net_gantryd
    cri = Cri(gantryd)
    cri.pull(busybox_ref[0])
    rng = random.Random(int(os.environ.get("GANTRY_CRASH_SEED", "8")))
    for _ in range(ROUNDS):
        stop = threading.Event()
        worker = threading.Thread(target=_churn, args=(cri, busybox_ref[0], stop))
        worker.start()
        time.sleep(rng.uniform(0.05, 1.2))
        gantryd.kill()
        stop.set()
        worker.join(30)
        gantryd.start()
        cri = Cri(gantryd)
        _check_consistent(gantryd, cri)
        _check_network(gantryd, cri, mode)
    for pod in cri.pods():
        cri.remove_pod(pod.id)
    assert cri.pods() == [] and cri.containers() == []
    _check_consistent(gantryd, cri)
    assert _shims_of(gantryd) == []
    assert mode.reserved_ips(gantryd) == set() and mode.cache_files(gantryd) == set()
    assert bridge_ports(mode.bridge) == [] and mode.rules() == []


def _mark_removing(root, table, row_id):
    """What a kill -9 inside a removal leaves: the row says ``removing`` (gantryd is not running)."""
    db = sqlite3.connect(os.path.join(root, "runtime.db"))
    try:
        doc = json.loads(db.execute("SELECT doc FROM %s WHERE id=?" % table, (row_id,)).fetchone()[0])
        doc["removing"] = True
        db.execute("UPDATE %s SET doc=? WHERE id=?" % table, (json.dumps(doc), row_id))
        db.commit()
    finally:
        db.close()


def test_a_remove_cut_short_is_finished_at_start_up(gantryd, busybox_ref):
    """RemoveContainer marks the row ``removing`` before it releases anything; a gantryd killed after
    that (here: the snapshot already gone, as a kill right after its removal leaves it) finishes the
    removal when it starts again instead of listing a container without its rootfs."""
    cri = Cri(gantryd)
    cri.pull(busybox_ref[0])
    pcfg = pod_config()
    pod = cri.run_pod(pcfg)
    kept = cri.run(pod, pcfg, container_config(busybox_ref[0], command=["sleep", "100"]))
    cut = cri.run(pod, pcfg, container_config(busybox_ref[0], command=["sleep", "100"], name="cut"))
    cri.stop(cut, timeout=0)
    gantryd.kill()
    _mark_removing(gantryd.root, "containers", cut)
    meta = sqlite3.connect(os.path.join(gantryd.root, "images", "metadata.db"))
    try:
        meta.execute("DELETE FROM snapshots WHERE key=?", ("ctr-" + cut,))
        meta.commit()
    finally:
        meta.close()
    gantryd.start()
    cri = Cri(gantryd)
    assert [c.id for c in cri.containers()] == [kept]
    assert not os.path.exists(os.path.join(gantryd.state, "containers", cut))
    _check_consistent(gantryd, cri)
    cri.remove_pod(pod)
    _check_consistent(gantryd, cri)


def test_a_pod_removal_cut_short_is_finished_at_start_up(gantryd, busybox_ref):
    """The same for RemovePodSandbox: a row marked ``removing`` whose pod directory is already gone."""
    cri = Cri(gantryd)
    pcfg = pod_config()
    gone, kept = cri.run_pod(pcfg), cri.run_pod(pod_config())
    cri.stop_pod(gone)
    gantryd.kill()
    _mark_removing(gantryd.root, "pods", gone)
    gantryd.start()
    cri = Cri(gantryd)
    assert [p.id for p in cri.pods()] == [kept]
    _check_consistent(gantryd, cri)
    cri.remove_pod(kept)
    _check_consistent(gantryd, cri)
