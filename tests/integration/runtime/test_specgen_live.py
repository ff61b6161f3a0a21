"""Specs from specgen.container_spec run by gantry-oci on busybox, probed from the inside.

A holder process (``unshare --net --ipc --uts sleep``) plays the pod: its
namespaces are joined by path, as gantryd's pinned pod namespaces will be.
"""
import json
import os
import shutil
import subprocess
import time
import uuid

import pytest
from gantry.api import cri_pb2
from gantry.highlevel.runtime import hostfacts, hostmounts, specgen, userinfo
from gantry.lowlevel import capabilities
from google.protobuf import json_format

from tests.fixtures import busybox
from tests.integration.lowlevel.oci_harness import OCI, Runtime, probe_values

pytestmark = pytest.mark.root

PROBE = r"""
echo "uid=$(id -u)"
echo "gid=$(id -g)"
echo "groups=$(id -G)"
echo "pid=$$"
echo "cwd=$(pwd)"
echo "foo=$FOO"
echo "hostname=$(hostname)"
echo "capeff=$(grep CapEff /proc/self/status | cut -f2)"
echo "capbnd=$(grep CapBnd /proc/self/status | cut -f2)"
echo "seccomp=$(grep '^Seccomp:' /proc/self/status | cut -f2)"
echo "nnp=$(grep NoNewPrivs /proc/self/status | cut -f2)"
echo "unshare=$(unshare -U true 2>/dev/null && echo allowed || echo blocked)"
echo "rootfs=$( (touch /probe-file) 2>/dev/null && echo rw || echo ro)"
echo "hosts=$(cat /etc/hosts)"
echo "data=$(cat /data/flag 2>&1)"
echo "data_write=$( (touch /data/new) 2>/dev/null && echo rw || echo ro)"
echo "firmware=$(ls /sys/firmware | wc -l)"
echo "procsys=$( (echo 1 > /proc/sys/kernel/shm_rmid_forced) 2>/dev/null && echo rw || echo ro)"
echo "shm=$(echo from-container > /dev/shm/probe && echo ok)"
echo "sysfs=$(grep ' /sys ' /proc/self/mounts | cut -d' ' -f4 | cut -d, -f1)"
echo "net=$(readlink /proc/self/ns/net)"
echo "devcount=$(ls /dev | wc -l)"
echo "chmod=$( (chmod 400 /tmp) 2>&1 && echo allowed)"
"""

PASSWD_EXTRA = "app:x:1000:1000::/home/app:/bin/sh\n"
GROUP_EXTRA = "app:x:1000:\nteam:x:50000:app\n"


@pytest.fixture
def pod(tmp_path):
    holder = subprocess.Popen(["unshare", "--net", "--ipc", "--uts", "sleep", "600"])
    try:
        etc = tmp_path / "pod"
        (etc / "shm").mkdir(parents=True)
        os.chmod(etc / "shm", 0o1777)                 # as the pod's /dev/shm tmpfs
        (etc / "hosts").write_text("127.0.0.1 localhost pod-hosts-file\n")
        (etc / "resolv.conf").write_text("nameserver 127.0.0.1\n")
        (etc / "hostname").write_text("podhost\n")
        cfg = json_format.ParseDict({"metadata": {"name": "pod", "uid": "u1", "namespace": "ns"}, "hostname": "podhost",
                                     "linux": {"securityContext": {"privileged": True}}}, cri_pb2.PodSandboxConfig())
        parent = "/gantry-specgen-%s" % uuid.uuid4().hex[:8]
        ns = {kind: "/proc/%d/ns/%s" % (holder.pid, name) for kind, name in
              (("network", "net"), ("ipc", "ipc"), ("uts", "uts"))}
        yield specgen.PodContext("pod1", cfg, ns, parent, str(etc / "shm"),
                                 {p: str(etc / os.path.basename(p)) for p in specgen.specmounts.ETC_FILES})
    finally:
        holder.kill()
        holder.wait()
        _remove_cgroup_parent(parent)


def _remove_cgroup_parent(parent):
    for hierarchy in os.listdir("/sys/fs/cgroup"):
        path = os.path.join("/sys/fs/cgroup", hierarchy, parent.lstrip("/"))
        if os.path.isdir(path):
            for child in os.listdir(path):
                if os.path.isdir(os.path.join(path, child)):
                    os.rmdir(os.path.join(path, child))
            os.rmdir(path)


@pytest.fixture
def rootfs(tmp_path):
    # a fresh tree: the session's shared busybox rootfs may hold what other tests' containers left
    root = tmp_path / "rootfs"
    busybox.build_rootfs(str(root))
    with open(root / "etc" / "passwd", "a") as f:
        f.write(PASSWD_EXTRA)
    with open(root / "etc" / "group", "a") as f:
        f.write(GROUP_EXTRA)
    return str(root)


@pytest.fixture(params=["gantry-oci", "runc"])
def oci(request, tmp_path, pod):
    """The spec must run the same under gantry-oci and runc (the runtime handlers gantryd offers).

    Depends on ``pod`` so that its containers are deleted before the pod's cgroup parent is removed."""
    binary = OCI if request.param == "gantry-oci" else shutil.which("runc")
    if binary is None:
        pytest.skip("runc is not installed (Debian package runc)")
    rt = Runtime(str(tmp_path / "state"), binary=binary)
    yield rt
    rt.cleanup()


def run(oci, tmp_path, pod, rootfs, cfg, read_profile=None, defaults=None):
    config = json_format.ParseDict(dict({"metadata": {"name": "probe"}, "image": {"image": "busybox"}}, **cfg),
                                   cri_pb2.ContainerConfig())
    sc = config.linux.security_context if config.linux.HasField("security_context") else None
    user = userinfo.resolve(rootfs, sc, "")
    defaults = defaults or specgen.SpecDefaults(all_caps=hostfacts.current_capabilities(),
                                                swap_limit=hostfacts.swap_limit_supported(),
                                                cgroup_namespace=hostfacts.cgroup_unified())
    cid = oci.new_id()
    spec = specgen.container_spec(
        cid, config, pod, {"config": {"Cmd": ["/bin/sh", "-c", PROBE], "Env": ["FOO=image"]}}, rootfs, user, defaults,
        host_paths=hostmounts.check_host_mounts(config), devices=hostfacts.lookup_devices(config),
        host_devices=hostfacts.host_devices() if sc is not None and sc.privileged else None,
        read_profile=read_profile)
    bundle = tmp_path / ("bundle-" + cid)
    bundle.mkdir()
    (bundle / "config.json").write_text(json.dumps(spec))
    result = oci("run", "--bundle", str(bundle), cid)
    oci("delete", "--force", cid, check=False)
    return probe_values(result.stdout), spec


def test_runtime_default_container(oci, tmp_path, pod, rootfs):
    data = tmp_path / "data"
    data.mkdir()
    (data / "flag").write_text("flag-from-host")
    v, spec = run(oci, tmp_path, pod, rootfs, {
        "envs": [{"key": "FOO", "value": "YnJpZGdl"}],        # base64 of "bridge": KeyValue.value is bytes
        "workingDir": "/tmp",
        "mounts": [{"containerPath": "/data", "hostPath": str(data), "readonly": True}],
        "linux": {"securityContext": {"runAsUser": {"value": "1000"}, "supplementalGroups": ["1234"],
                                      "seccomp": {"profileType": "RuntimeDefault"}, "readonlyRootfs": True,
                                      "noNewPrivs": True}}})
    assert (v["uid"], v["gid"], v["groups"]) == ("1000", "1000", "1000 1234 50000")
    assert v["pid"] == "1" and v["cwd"] == "/tmp" and v["foo"] == "bridge"
    assert v["hostname"] == "podhost" and v["net"] == os.readlink(pod.namespaces["network"])
    assert v["capeff"] == "0" * 16                                       # uid 1000: no effective caps
    assert int(v["capbnd"], 16) == capabilities.mask(specgen.DEFAULT_CAPS)
    assert v["seccomp"] == "2" and v["nnp"] == "1"
    assert v["unshare"] == "blocked"                                     # RuntimeDefault blocks unshare(2)
    assert v["rootfs"] == "ro"
    assert v["hosts"] == "127.0.0.1 localhost pod-hosts-file"
    assert v["data"] == "flag-from-host" and v["data_write"] == "ro"
    assert v["firmware"] == "0" and v["procsys"] == "ro" and v["sysfs"] == "ro"
    assert v["shm"] == "ok" and open(os.path.join(pod.shm_path, "probe")).read() == "from-container\n"
    assert v["chmod"] != "allowed"                                       # not the owner, and a read-only rootfs
    assert spec["linux"]["cgroupsPath"].startswith(pod.cgroup_parent + "/")


def unshare_without_seccomp():
    """What the probe's ``unshare -U`` gives with no seccomp filter: "allowed", unless this machine
    refuses new user namespaces to everyone (a chroot, user.max_user_namespaces = 0), as the host shows."""
    host = subprocess.run(["unshare", "-U", "true"], capture_output=True, timeout=30)
    return "allowed" if host.returncode == 0 else "blocked"


def test_unconfined_root_container_can_unshare(oci, tmp_path, pod, rootfs):
    v, _ = run(oci, tmp_path, pod, rootfs, {"linux": {"securityContext": {"seccomp": {"profileType": "Unconfined"}}}})
    assert v["uid"] == "0" and v["seccomp"] == "0" and v["nnp"] == "0"
    assert v["unshare"] == unshare_without_seccomp() and v["rootfs"] == "rw" and v["chmod"] == "allowed"
    assert int(v["capeff"], 16) == capabilities.mask(specgen.DEFAULT_CAPS)


def test_localhost_profile_blocks_chmod(oci, tmp_path, pod, rootfs):
    profile = tmp_path / "block-chmod.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW",
                                   "syscalls": [{"names": ["chmod", "fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO"}]}))
    v, _ = run(oci, tmp_path, pod, rootfs, {"linux": {"securityContext": {
        "seccomp": {"profileType": "Localhost", "localhostRef": str(profile)}}}},
        read_profile=hostfacts.read_seccomp_profile)
    assert "Operation not permitted" in v["chmod"] and v["seccomp"] == "2"


def test_masked_paths_and_dropped_caps(oci, tmp_path, pod, rootfs):
    v, _ = run(oci, tmp_path, pod, rootfs, {"linux": {"securityContext": {
        "maskedPaths": ["/etc/hosts"], "readonlyPaths": ["/tmp"], "capabilities": {"dropCapabilities": ["ALL"]}}}})
    assert v["hosts"] == ""                         # masked: /dev/null bound over the pod's file
    assert v["firmware"] != "0"                     # the CRI lists replace the defaults
    assert v["capbnd"] == "0" * 16 and v["chmod"] != "allowed"


def test_privileged_container(oci, tmp_path, pod, rootfs):
    v, spec = run(oci, tmp_path, pod, rootfs, {"linux": {"securityContext": {"privileged": True,
                                                                            "seccomp": {"profileType": "RuntimeDefault"}}}})
    assert int(v["capbnd"], 16) == capabilities.mask(hostfacts.current_capabilities())
    assert v["seccomp"] == "0" and v["sysfs"] == "rw" and v["procsys"] == "rw"
    assert v["unshare"] == unshare_without_seccomp()
    assert int(v["devcount"]) > 10 and len(spec["linux"]["devices"]) > 3


def test_pid_sharing_pod_infra_is_pid_1(oci, tmp_path, pod, rootfs):
    """sandbox_spec's infra process holds the pod's pid namespace; a POD-mode container sees it as pid 1."""
    infra_id = oci.new_id()
    bundle = tmp_path / "infra"
    bundle.mkdir()
    infra = specgen.sandbox_spec(pod, rootfs, ["/bin/sleep", "600"])
    (bundle / "config.json").write_text(json.dumps(infra))
    pid_file = str(tmp_path / "infra.pid")
    oci("run", "--detach", "--pid-file", pid_file, "--bundle", str(bundle), infra_id, detached=True)
    infra_pid = int(open(pid_file).read())
    deadline = time.monotonic() + 10                  # run --detach returns before the init has exec'd
    while open("/proc/%d/cmdline" % infra_pid, "rb").read() != b"/bin/sleep\x00600\x00":
        assert time.monotonic() < deadline, "the infra process never exec'd"
        time.sleep(0.02)
    with open("/proc/%d/status" % infra_pid) as f:
        status = dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)
    assert status["CapBnd"].strip() == "0" * 16 and status["NoNewPrivs"].strip() == "1"
    assert status["Seccomp"].strip() == "2"
    shared = specgen.PodContext(pod.id, pod.config, dict(pod.namespaces, pid="/proc/%d/ns/pid" % infra_pid),
                                pod.cgroup_parent, pod.shm_path, pod.etc_files)
    config = json_format.ParseDict({"metadata": {"name": "c"}, "image": {"image": "busybox"},
                                    "command": ["/bin/sh", "-c", "echo one=$(cat /proc/1/cmdline | tr '\\0' ' ')"],
                                    "linux": {"securityContext": {"namespaceOptions": {"pid": "POD"}}}},
                                   cri_pb2.ContainerConfig())
    cid = oci.new_id()
    spec = specgen.container_spec(cid, config, shared, {}, rootfs, userinfo.resolve(rootfs, None, ""),
                                  specgen.SpecDefaults())
    cbundle = tmp_path / "c"
    cbundle.mkdir()
    (cbundle / "config.json").write_text(json.dumps(spec))
    out = probe_values(oci("run", "--bundle", str(cbundle), cid).stdout)
    assert out["one"] == "/bin/sleep 600"
    oci("delete", "--force", infra_id)


@pytest.mark.parametrize("rro", [False, True])
def test_recursive_read_only_mount(oci, tmp_path, pod, rootfs, rro):
    """critest 'Container Mount Readonly': a read-only mount with a tmpfs below; rro makes the tmpfs read-only too."""
    host = tmp_path / "vol"
    (host / "tmpfs").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "none", str(host / "tmpfs")], check=True)
    try:
        config = json_format.ParseDict({
            "metadata": {"name": "c"}, "image": {"image": "busybox"},
            "command": ["/bin/sh", "-c", "echo sub=$( (touch /mnt/tmpfs/f) 2>/dev/null && echo rw || echo ro);"
                                         "echo top=$( (touch /mnt/f) 2>/dev/null && echo rw || echo ro)"],
            "mounts": [{"containerPath": "/mnt", "hostPath": str(host), "readonly": True, "recursiveReadOnly": rro,
                        "selinuxRelabel": True}]}, cri_pb2.ContainerConfig())
        cid = oci.new_id()
        spec = specgen.container_spec(cid, config, pod, {}, rootfs, userinfo.resolve(rootfs, None, ""),
                                      specgen.SpecDefaults(), host_paths=hostmounts.check_host_mounts(config))
        bundle = tmp_path / "b"
        bundle.mkdir()
        (bundle / "config.json").write_text(json.dumps(spec))
        out = probe_values(oci("run", "--bundle", str(bundle), cid).stdout)
        assert out == {"sub": "ro" if rro else "rw", "top": "ro"}
    finally:
        subprocess.run(["umount", "-l", str(host / "tmpfs")], check=False)
