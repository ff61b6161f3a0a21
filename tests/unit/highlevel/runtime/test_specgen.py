"""specgen.container_spec, one table row per rule: CRI request fragment -> OCI spec fragment."""
import base64

import pytest
from gantry.api import cri_pb2
from gantry.highlevel.errors import FailedPrecondition, InvalidArgument, Unimplemented
from gantry.highlevel.runtime import seccomp_default, specgen
from gantry.highlevel.runtime.specgen import HostDevice, PodContext, SpecDefaults, User
from google.protobuf import json_format

NS = {"network": "/run/gantry/ns/p1/net", "ipc": "/run/gantry/ns/p1/ipc", "uts": "/run/gantry/ns/p1/uts"}
ETC = {"/etc/hosts": "/run/p1/hosts", "/etc/resolv.conf": "/run/p1/resolv.conf", "/etc/hostname": "/run/p1/hostname"}
IMAGE = {"config": {"Env": ["PATH=/bin:/usr/bin", "IMG=1", "SHARED=image"], "Entrypoint": ["/entry"],
                    "Cmd": ["default-cmd"], "WorkingDir": "/srv"}}
DEV_NULL = HostDevice("/dev/null", "c", 1, 3, 0o666, 0, 0)
DEV_SDA = HostDevice("/dev/sda", "b", 8, 0, 0o660, 0, 6)


def container_config(spec=None):
    spec = dict(spec or {})
    envs = spec.pop("envs", [])
    base = {"metadata": {"name": "app", "attempt": 0}, "image": {"image": "docker.io/library/busybox:1.36"}}
    base.update(spec)
    cfg = json_format.ParseDict(base, cri_pb2.ContainerConfig())
    for key, value in envs:
        cfg.envs.add(key=key, value=value.encode() if isinstance(value, str) else value)
    return cfg


def pod_context(pod_config=None, namespaces=None, **kw):
    base = {"metadata": {"name": "pod", "uid": "uid-1", "namespace": "ns", "attempt": 0}, "hostname": "podhost"}
    base.update(pod_config or {})
    cfg = json_format.ParseDict(base, cri_pb2.PodSandboxConfig())
    args = dict(id="p1", config=cfg, namespaces=dict(NS if namespaces is None else namespaces),
                cgroup_parent="/kubepods/pod1", shm_path="/run/p1/shm", etc_files=dict(ETC))
    args.update(kw)
    return PodContext(**args)


def make(cfg=None, pod=None, image=IMAGE, user=None, defaults=None, **kw):
    kw.setdefault("host_devices", [DEV_NULL, DEV_SDA])
    return specgen.container_spec("c1", container_config(cfg), pod or pod_context(), image, "/rootfs",
                                  user or User(0, 0, [0]), defaults or SpecDefaults(node_hostname="node1"), **kw)


def mount(spec, dest):
    found = [m for m in spec["mounts"] if m["destination"] == dest]
    assert len(found) <= 1, found
    return found[0] if found else None


def ns(spec, kind):
    found = [n for n in spec["linux"]["namespaces"] if n["type"] == kind]
    return found[0] if found else None


def env(spec):
    return dict(e.split("=", 1) for e in spec["process"]["env"])


PRIV_POD = {"linux": {"securityContext": {"privileged": True}}}

# (id, container config fragment, extra make() args, check(spec))
ROWS = [
    # --- command and args (kubelet's rule) -------------------------------------------------------
    ("image-entrypoint-and-cmd", {}, {}, lambda s: s["process"]["args"] == ["/entry", "default-cmd"]),
    ("command-drops-cmd", {"command": ["/bin/sh"]}, {}, lambda s: s["process"]["args"] == ["/bin/sh"]),
    ("command-and-args", {"command": ["/bin/sh"], "args": ["-c", "x"]}, {},
     lambda s: s["process"]["args"] == ["/bin/sh", "-c", "x"]),
    ("args-replace-cmd", {"args": ["a1"]}, {}, lambda s: s["process"]["args"] == ["/entry", "a1"]),
    ("cmd-only-image", {}, {"image": {"config": {"Cmd": ["/bin/true"]}}},
     lambda s: s["process"]["args"] == ["/bin/true"]),
    ("entrypoint-empty-string", {"args": ["x"]}, {"image": {"config": {"Entrypoint": [""]}}},
     lambda s: s["process"]["args"] == ["x"]),
    # --- env ---------------------------------------------------------------------------------------
    ("env-image-then-cri", {"envs": [("SHARED", "cri"), ("NEW", "n")]}, {},
     lambda s: env(s) == {"PATH": "/bin:/usr/bin", "HOSTNAME": "podhost", "IMG": "1", "SHARED": "cri", "NEW": "n"}),
    ("env-default-path", {}, {"image": {"config": {"Cmd": ["x"]}}},
     lambda s: env(s)["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
    ("env-order", {"envs": [("Z", "1")]}, {},
     lambda s: [e.split("=")[0] for e in s["process"]["env"]] == ["PATH", "HOSTNAME", "IMG", "SHARED", "Z"]),
    ("env-node-hostname", {}, {"pod": pod_context({"hostname": ""})}, lambda s: env(s)["HOSTNAME"] == "node1"),
    ("env-bytes-value", {"envs": [("B", b"\xff")]}, {},
     lambda s: "B=\udcff" in s["process"]["env"]),
    ("tty-term", {"tty": True}, {}, lambda s: s["process"]["terminal"] is True and env(s)["TERM"] == "xterm"),
    ("no-tty", {"stdin": True}, {}, lambda s: s["process"]["terminal"] is False and "TERM" not in env(s)),
    # --- working dir -------------------------------------------------------------------------------
    ("cwd-cri", {"workingDir": "/work"}, {}, lambda s: s["process"]["cwd"] == "/work"),
    ("cwd-image", {}, {}, lambda s: s["process"]["cwd"] == "/srv"),
    ("cwd-root", {}, {"image": {"config": {"Cmd": ["x"]}}}, lambda s: s["process"]["cwd"] == "/"),
    # --- hostname, user ----------------------------------------------------------------------------
    ("hostname-from-pod", {}, {}, lambda s: s["hostname"] == "podhost"),
    ("hostname-host-uts", {}, {"pod": pod_context(namespaces={})}, lambda s: "hostname" not in s),
    ("user", {}, {"user": User(1000, 1000, [1000, 1234, 50000], "u")},
     lambda s: s["process"]["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [1000, 1234, 50000]}),
    ("run-as-group-with-user", {"linux": {"securityContext": {"runAsUser": {"value": "1001"},
                                                              "runAsGroup": {"value": "1002"}}}},
     {"user": User(1001, 1002, [1002])}, lambda s: s["process"]["user"]["gid"] == 1002),
    ("user-primary-gid-in-groups", {}, {"user": User(5, 7, [])},
     lambda s: s["process"]["user"]["additionalGids"] == [7]),
    # --- default mounts ----------------------------------------------------------------------------
    ("default-mounts", {}, {},
     lambda s: [m["destination"] for m in s["mounts"][:6]] == ["/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys",
                                                              "/sys/fs/cgroup"]),
    ("sys-ro", {}, {}, lambda s: "ro" in mount(s, "/sys")["options"] and "ro" in mount(s, "/sys/fs/cgroup")["options"]),
    ("sys-rw-privileged", {"linux": {"securityContext": {"privileged": True}}}, {"pod": pod_context(PRIV_POD)},
     lambda s: "rw" in mount(s, "/sys")["options"] and "rw" in mount(s, "/sys/fs/cgroup")["options"]),
    ("shm-pod", {}, {}, lambda s: mount(s, "/dev/shm") == {"destination": "/dev/shm", "type": "bind",
                                                         "source": "/run/p1/shm", "options": ["rbind", "rprivate", "rw"]}),
    ("shm-host-ipc", {}, {"pod": pod_context(namespaces={"network": "/n", "uts": "/u"}, shm_path="")},
     lambda s: mount(s, "/dev/shm")["source"] == "/dev/shm"),
    ("shm-private-tmpfs", {}, {"pod": pod_context(shm_path="")}, lambda s: mount(s, "/dev/shm")["type"] == "tmpfs"),
    ("etc-files", {}, {},
     lambda s: [mount(s, p)["source"] for p in ("/etc/hosts", "/etc/resolv.conf", "/etc/hostname")]
     == ["/run/p1/hosts", "/run/p1/resolv.conf", "/run/p1/hostname"]),
    ("etc-files-ro-with-ro-rootfs", {"linux": {"securityContext": {"readonlyRootfs": True}}}, {},
     lambda s: mount(s, "/etc/hosts")["options"] == ["rbind", "rprivate", "ro"] and s["root"]["readonly"] is True),
    ("etc-file-replaced-by-cri", {"mounts": [{"containerPath": "/etc/hosts", "hostPath": "/mine/hosts"}]}, {},
     lambda s: mount(s, "/etc/hosts")["source"] == "/mine/hosts"),
    ("dev-mount-drops-dev-defaults", {"mounts": [{"containerPath": "/dev", "hostPath": "/dev"}]}, {},
     lambda s: mount(s, "/dev/pts") is None and mount(s, "/dev/mqueue") is None and mount(s, "/dev")["type"] == "bind"),
    # --- CRI mounts --------------------------------------------------------------------------------
    ("mount-private", {"mounts": [{"containerPath": "/data", "hostPath": "/srv/data"}]}, {},
     lambda s: mount(s, "/data") == {"destination": "/data", "type": "bind", "source": "/srv/data",
                                     "options": ["rbind", "rprivate", "rw"]} and "rootfsPropagation" not in s["linux"]),
    ("mount-readonly", {"mounts": [{"containerPath": "/data", "hostPath": "/d", "readonly": True}]}, {},
     lambda s: mount(s, "/data")["options"] == ["rbind", "rprivate", "ro"]),
    ("mount-rro", {"mounts": [{"containerPath": "/data", "hostPath": "/d", "readonly": True,
                               "recursiveReadOnly": True}]}, {},
     lambda s: mount(s, "/data")["options"] == ["rbind", "rprivate", "rro"]),
    ("mount-rslave", {"mounts": [{"containerPath": "/data", "hostPath": "/d",
                                  "propagation": "PROPAGATION_HOST_TO_CONTAINER"}]}, {},
     lambda s: mount(s, "/data")["options"][1] == "rslave" and s["linux"]["rootfsPropagation"] == "rslave"),
    ("mount-rshared", {"mounts": [{"containerPath": "/data", "hostPath": "/d",
                                   "propagation": "PROPAGATION_BIDIRECTIONAL"}]}, {},
     lambda s: mount(s, "/data")["options"][1] == "rshared" and s["linux"]["rootfsPropagation"] == "rshared"),
    ("mount-rshared-wins-over-rslave",
     {"mounts": [{"containerPath": "/a", "hostPath": "/d", "propagation": "PROPAGATION_BIDIRECTIONAL"},
                 {"containerPath": "/b", "hostPath": "/e", "propagation": "PROPAGATION_HOST_TO_CONTAINER"}]}, {},
     lambda s: s["linux"]["rootfsPropagation"] == "rshared"),
    ("mount-selinux-relabel-ignored", {"mounts": [{"containerPath": "/d", "hostPath": "/d", "selinuxRelabel": True}]},
     {}, lambda s: mount(s, "/d")["options"] == ["rbind", "rprivate", "rw"]),
    ("mount-sorted-by-depth", {"mounts": [{"containerPath": "/a/b/c", "hostPath": "/x"},
                                          {"containerPath": "/a", "hostPath": "/y"}]}, {},
     lambda s: [m["destination"] for m in s["mounts"] if m["destination"].startswith("/a")] == ["/a", "/a/b/c"]),
    ("mount-resolved-host-path", {"mounts": [{"containerPath": "/d", "hostPath": "/link"}]},
     {"host_paths": ["/real/dir"]}, lambda s: mount(s, "/d")["source"] == "/real/dir"),
    ("mount-path-cleaned", {"mounts": [{"containerPath": "/data/./x/", "hostPath": "/d"}]}, {},
     lambda s: mount(s, "/data/x") is not None),
    ("image-volumes", {}, {"volumes": {"/var/lib/data": "/c1/volumes/v1"}},
     lambda s: mount(s, "/var/lib/data") == {"destination": "/var/lib/data", "type": "bind",
                                              "source": "/c1/volumes/v1", "options": ["rbind", "rprivate", "rw"]}),
    ("image-volume-replaced-by-cri", {"mounts": [{"containerPath": "/var/lib/data", "hostPath": "/mine"}]},
     {"volumes": {"/var/lib/data": "/c1/volumes/v1"}}, lambda s: mount(s, "/var/lib/data")["source"] == "/mine"),
    # --- masked / readonly paths -------------------------------------------------------------------
    ("masked-defaults", {}, {}, lambda s: "/proc/kcore" in s["linux"]["maskedPaths"]
     and "/proc/sys" in s["linux"]["readonlyPaths"]),
    ("masked-cri-replaces", {"linux": {"securityContext": {"maskedPaths": ["/bin/ls"], "readonlyPaths": ["/tmp"]}}},
     {}, lambda s: s["linux"]["maskedPaths"] == ["/bin/ls"] and s["linux"]["readonlyPaths"] == ["/tmp"]),
    ("masked-none-in-defaults", {}, {"defaults": SpecDefaults(masked_paths=[], readonly_paths=[])},
     lambda s: s["linux"]["maskedPaths"] == [] and s["linux"]["readonlyPaths"] == []),
    ("masked-privileged-none", {"linux": {"securityContext": {"privileged": True, "maskedPaths": ["/x"]}}},
     {"pod": pod_context(PRIV_POD)}, lambda s: s["linux"]["maskedPaths"] == [] and s["linux"]["readonlyPaths"] == []),
    # --- devices ------------------------------------------------------------------------------------
    ("devices-default-deny", {}, {}, lambda s: s["linux"]["resources"]["devices"] == [{"allow": False, "access": "rwm"}]
     and "devices" not in s["linux"]),
    ("device-cri", {"devices": [{"containerPath": "/dev/mynull", "hostPath": "/dev/null", "permissions": "rw"}]},
     {"devices": {"/dev/null": [DEV_NULL]}},
     lambda s: s["linux"]["devices"] == [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
                                          "fileMode": 0o666, "uid": 0, "gid": 0}]
     and s["linux"]["resources"]["devices"][1] == {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"}),
    ("device-dir", {"devices": [{"containerPath": "/dev/in", "hostPath": "/dev/snd", "permissions": "rwm"}]},
     {"devices": {"/dev/snd": [HostDevice("/dev/snd/a", "c", 116, 1, 0o660, 0, 29),
                               HostDevice("/dev/snd/sub/b", "c", 116, 2, 0o660, 0, 29)]}},
     lambda s: [d["path"] for d in s["linux"]["devices"]] == ["/dev/in/a", "/dev/in/sub/b"]),
    ("devices-privileged", {"linux": {"securityContext": {"privileged": True}}}, {"pod": pod_context(PRIV_POD)},
     lambda s: [d["path"] for d in s["linux"]["devices"]] == ["/dev/null", "/dev/sda"]
     and s["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]),
    # --- capabilities -------------------------------------------------------------------------------
    ("caps-default", {}, {}, lambda s: s["process"]["capabilities"]["bounding"] == specgen.DEFAULT_CAPS
     and set(s["process"]["capabilities"]) == {"bounding", "effective", "permitted"}),
    ("caps-add", {"linux": {"securityContext": {"capabilities": {"addCapabilities": ["NET_ADMIN", "cap_sys_time"]}}}},
     {}, lambda s: s["process"]["capabilities"]["effective"][-2:] == ["CAP_NET_ADMIN", "CAP_SYS_TIME"]),
    ("caps-drop", {"linux": {"securityContext": {"capabilities": {"dropCapabilities": ["NET_RAW", "CAP_KILL"]}}}},
     {}, lambda s: not {"CAP_NET_RAW", "CAP_KILL"} & set(s["process"]["capabilities"]["permitted"])),
    ("caps-add-all", {"linux": {"securityContext": {"capabilities": {"addCapabilities": ["ALL"]}}}},
     {"defaults": SpecDefaults(all_caps=["CAP_CHOWN", "CAP_SYS_ADMIN"])},
     lambda s: s["process"]["capabilities"]["bounding"] == ["CAP_CHOWN", "CAP_SYS_ADMIN"]),
    ("caps-drop-all", {"linux": {"securityContext": {"capabilities": {"dropCapabilities": ["all"]}}}}, {},
     lambda s: s["process"]["capabilities"] == {"bounding": [], "effective": [], "permitted": []}),
    ("caps-drop-all-add-one", {"linux": {"securityContext": {"capabilities": {"dropCapabilities": ["ALL"],
                                                                              "addCapabilities": ["CHOWN"]}}}}, {},
     lambda s: s["process"]["capabilities"]["bounding"] == ["CAP_CHOWN"]),
    ("caps-privileged", {"linux": {"securityContext": {"privileged": True}}},
     {"pod": pod_context(PRIV_POD), "defaults": SpecDefaults(all_caps=["CAP_A_FAKE"])},
     lambda s: s["process"]["capabilities"]["bounding"] == ["CAP_A_FAKE"]),
    # --- seccomp -----------------------------------------------------------------------------------
    ("seccomp-unset-unconfined", {}, {}, lambda s: "seccomp" not in s["linux"]),
    ("seccomp-runtime-default", {"linux": {"securityContext": {"seccomp": {}}}}, {},
     lambda s: s["linux"]["seccomp"] == seccomp_default.profile_for(specgen.DEFAULT_CAPS)),
    ("seccomp-default-follows-caps", {"linux": {"securityContext": {
        "seccomp": {"profileType": "RuntimeDefault"}, "capabilities": {"addCapabilities": ["SYS_ADMIN"]}}}}, {},
     lambda s: any("unshare" in r["names"] and r["action"] == "SCMP_ACT_ALLOW" for r in s["linux"]["seccomp"]["syscalls"])),
    ("seccomp-unconfined", {"linux": {"securityContext": {"seccomp": {"profileType": "Unconfined"}}}}, {},
     lambda s: "seccomp" not in s["linux"]),
    ("seccomp-localhost", {"linux": {"securityContext": {"seccomp": {"profileType": "Localhost",
                                                                     "localhostRef": "/p/block.json"}}}},
     {"read_profile": lambda p: {"defaultAction": "SCMP_ACT_ALLOW", "path": p}},
     lambda s: s["linux"]["seccomp"] == {"defaultAction": "SCMP_ACT_ALLOW", "path": "/p/block.json"}),
    ("seccomp-localhost-prefixed", {"linux": {"securityContext": {"seccomp": {"profileType": "Localhost",
                                                                              "localhostRef": "localhost//p/x.json"}}}},
     {"read_profile": lambda p: {"defaultAction": "SCMP_ACT_ALLOW", "path": p}},
     lambda s: s["linux"]["seccomp"]["path"] == "/p/x.json"),
    ("seccomp-privileged-ignored", {"linux": {"securityContext": {"privileged": True, "seccomp": {
        "profileType": "Localhost", "localhostRef": "/p/x.json"}}}}, {"pod": pod_context(PRIV_POD)},
     lambda s: "seccomp" not in s["linux"]),
    ("seccomp-path-runtime-default", {"linux": {"securityContext": {"seccompProfilePath": "runtime/default"}}}, {},
     lambda s: s["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"),
    ("seccomp-path-docker-default", {"linux": {"securityContext": {"seccompProfilePath": "docker/default"}}}, {},
     lambda s: s["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"),
    ("seccomp-path-unconfined", {"linux": {"securityContext": {"seccompProfilePath": "unconfined"}}}, {},
     lambda s: "seccomp" not in s["linux"]),
    ("seccomp-path-localhost", {"linux": {"securityContext": {"seccompProfilePath": "localhost//etc/p.json"}}},
     {"read_profile": lambda p: {"defaultAction": "SCMP_ACT_LOG", "path": p}},
     lambda s: s["linux"]["seccomp"]["path"] == "/etc/p.json"),
    ("seccomp-field-wins-over-path", {"linux": {"securityContext": {"seccomp": {"profileType": "Unconfined"},
                                                                    "seccompProfilePath": "runtime/default"}}}, {},
     lambda s: "seccomp" not in s["linux"]),
    ("seccomp-default-dict", {"linux": {"securityContext": {"seccomp": {}}}},
     {"defaults": SpecDefaults(seccomp_default={"defaultAction": "SCMP_ACT_KILL"})},
     lambda s: s["linux"]["seccomp"] == {"defaultAction": "SCMP_ACT_KILL"}),
    # --- apparmor/selinux that need nothing ----------------------------------------------------------
    ("apparmor-runtime-default", {"linux": {"securityContext": {"apparmor": {"profileType": "RuntimeDefault"},
                                                                "apparmorProfile": ""}}}, {},
     lambda s: "apparmorProfile" not in s["process"]),
    ("apparmor-unconfined-path", {"linux": {"securityContext": {"apparmorProfile": "unconfined"}}}, {},
     lambda s: "apparmorProfile" not in s["process"]),
    # --- no_new_privs, rootfs, rlimits ---------------------------------------------------------------
    ("nnp-false", {}, {}, lambda s: s["process"]["noNewPrivileges"] is False),
    ("nnp-true", {"linux": {"securityContext": {"noNewPrivs": True}}}, {},
     lambda s: s["process"]["noNewPrivileges"] is True),
    ("rootfs", {}, {}, lambda s: s["root"] == {"path": "/rootfs", "readonly": False}),
    ("rlimits-none", {}, {}, lambda s: "rlimits" not in s["process"]),
    ("rlimits-defaults", {}, {"defaults": SpecDefaults(rlimits=[{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}])},
     lambda s: s["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]),
    # --- resources ---------------------------------------------------------------------------------
    ("cgroups-path", {}, {}, lambda s: s["linux"]["cgroupsPath"] == "/kubepods/pod1/c1"),
    ("cgroups-path-default-parent", {}, {"pod": pod_context(cgroup_parent="")},
     lambda s: s["linux"]["cgroupsPath"] == "/gantry/c1"),
    ("cpu", {"linux": {"resources": {"cpuPeriod": "100000", "cpuQuota": "50000", "cpuShares": "512",
                                     "cpusetCpus": "0-1", "cpusetMems": "0"}}}, {},
     lambda s: s["linux"]["resources"]["cpu"] == {"period": 100000, "quota": 50000, "shares": 512, "cpus": "0-1",
                                                  "mems": "0"}),
    ("memory-swap-equal", {"linux": {"resources": {"memoryLimitInBytes": "15728640"}}}, {},
     lambda s: s["linux"]["resources"]["memory"] == {"limit": 15728640, "swap": 15728640}),
    ("memory-swap-given", {"linux": {"resources": {"memoryLimitInBytes": "100", "memorySwapLimitInBytes": "300"}}}, {},
     lambda s: s["linux"]["resources"]["memory"] == {"limit": 100, "swap": 300}),
    ("memory-no-swap-controller", {"linux": {"resources": {"memoryLimitInBytes": "100",
                                                           "memorySwapLimitInBytes": "300"}}},
     {"defaults": SpecDefaults(swap_limit=False)}, lambda s: s["linux"]["resources"]["memory"] == {"limit": 100}),
    ("hugepages", {"linux": {"resources": {"hugepageLimits": [{"pageSize": "2MB", "limit": "4194304"}]}}}, {},
     lambda s: s["linux"]["resources"]["hugepageLimits"] == [{"pageSize": "2MB", "limit": 4194304}]),
    ("unified", {"linux": {"resources": {"unified": {"memory.high": "1000000"}}}}, {},
     lambda s: s["linux"]["resources"]["unified"] == {"memory.high": "1000000"}),
    ("oom-score-adj", {"linux": {"resources": {"oomScoreAdj": "500"}}}, {},
     lambda s: s["process"]["oomScoreAdj"] == 500),
    ("oom-score-adj-clamped", {"linux": {"resources": {"oomScoreAdj": "-999"}}},
     {"defaults": SpecDefaults(oom_score_adj_floor=0)}, lambda s: s["process"]["oomScoreAdj"] == 0),
    ("no-resources", {}, {}, lambda s: "cpu" not in s["linux"]["resources"] and "oomScoreAdj" not in s["process"]),
    # --- namespaces --------------------------------------------------------------------------------
    ("ns-pod", {}, {}, lambda s: [(n["type"], n.get("path")) for n in s["linux"]["namespaces"]] ==
     [("mount", None), ("network", NS["network"]), ("ipc", NS["ipc"]), ("uts", NS["uts"]), ("pid", None)]),
    ("ns-host-network", {}, {"pod": pod_context(namespaces={"ipc": "/i", "uts": "/u"})},
     lambda s: ns(s, "network") is None),
    ("pid-container", {"linux": {"securityContext": {"namespaceOptions": {"pid": "CONTAINER"}}}}, {},
     lambda s: ns(s, "pid") == {"type": "pid"}),
    ("pid-pod-shared", {"linux": {"securityContext": {"namespaceOptions": {"pid": "POD"}}}},
     {"pod": pod_context(namespaces=dict(NS, pid="/proc/42/ns/pid"))},
     lambda s: ns(s, "pid") == {"type": "pid", "path": "/proc/42/ns/pid"}),
    ("pid-node", {"linux": {"securityContext": {"namespaceOptions": {"pid": "NODE"}}}}, {},
     lambda s: ns(s, "pid") is None),
    ("pid-pod-of-host-pid-pod", {}, {"pod": pod_context({"linux": {"securityContext": {"namespaceOptions": {
        "pid": "NODE"}}}})}, lambda s: ns(s, "pid") is None),
    ("pid-target", {"linux": {"securityContext": {"namespaceOptions": {"pid": "TARGET", "targetId": "c0"}}}},
     {"target_pid_ns": "/proc/77/ns/pid"}, lambda s: ns(s, "pid") == {"type": "pid", "path": "/proc/77/ns/pid"}),
    ("userns-pod", {"linux": {"securityContext": {"namespaceOptions": {"usernsOptions": {
        "mode": "POD", "uids": [{"hostId": 1000, "containerId": 0, "length": 100000}],
        "gids": [{"hostId": 1000, "containerId": 0, "length": 100000}]}}}}},
     {"pod": pod_context({"linux": {"securityContext": {"namespaceOptions": {"usernsOptions": {
         "mode": "POD", "uids": [{"hostId": 1000, "containerId": 0, "length": 100000}],
         "gids": [{"hostId": 1000, "containerId": 0, "length": 100000}]}}}}},
         namespaces=dict(NS, user="/run/p1/user"))},
     lambda s: ns(s, "user") == {"type": "user", "path": "/run/p1/user"}
     and s["linux"]["uidMappings"] == [{"containerID": 0, "hostID": 1000, "size": 100000}]
     and s["linux"]["gidMappings"] == s["linux"]["uidMappings"]),
    ("userns-node", {"linux": {"securityContext": {"namespaceOptions": {"usernsOptions": {"mode": "NODE"}}}}},
     {"pod": pod_context({"linux": {"securityContext": {"namespaceOptions": {"usernsOptions": {"mode": "NODE"}}}}})},
     lambda s: ns(s, "user") is None and "uidMappings" not in s["linux"]),
    ("cgroupns-v2", {}, {"defaults": SpecDefaults(cgroup_namespace=True)}, lambda s: ns(s, "cgroup") == {"type": "cgroup"}),
    ("cgroupns-not-privileged", {"linux": {"securityContext": {"privileged": True}}},
     {"pod": pod_context(PRIV_POD), "defaults": SpecDefaults(cgroup_namespace=True)}, lambda s: ns(s, "cgroup") is None),
    # --- annotations -------------------------------------------------------------------------------
    ("annotations", {"image": {"image": "sha256:abc", "userSpecifiedImage": "busybox"}}, {},
     lambda s: s["annotations"] == {
         "io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": "p1",
         "io.kubernetes.cri.sandbox-namespace": "ns", "io.kubernetes.cri.sandbox-uid": "uid-1",
         "io.kubernetes.cri.sandbox-name": "pod", "io.kubernetes.cri.container-name": "app",
         "io.kubernetes.cri.image-name": "busybox"}),
    ("no-sysctls-in-container", {}, {"pod": pod_context({"linux": {"sysctls": {"kernel.shm_rmid_forced": "1"}}})},
     lambda s: "sysctl" not in s["linux"]),
]


@pytest.mark.parametrize("name,cfg,extra,check", ROWS, ids=[r[0] for r in ROWS])
def test_rule(name, cfg, extra, check):
    spec = make(cfg, **extra)
    assert check(spec), spec


SC = "linux.security_context"
# (id, container config fragment, extra make() args, error type, words the message must hold)
BAD = [
    ("no-command", {}, {"image": {"config": {}}}, InvalidArgument, "config.command"),
    ("nul-in-args", {"command": ["a\0b"]}, {}, InvalidArgument, "NUL"),
    ("relative-working-dir", {"workingDir": "srv"}, {}, InvalidArgument, "working_dir"),
    ("env-empty-key", {"envs": [("", "x")]}, {}, InvalidArgument, "envs[0]"),
    ("env-key-with-equals", {"envs": [("A=B", "x")]}, {}, InvalidArgument, "envs[0]"),
    ("relative-container-path", {"mounts": [{"containerPath": "data", "hostPath": "/d"}]}, {}, InvalidArgument,
     "mounts[0].container_path"),
    ("relative-host-path", {"mounts": [{"containerPath": "/data", "hostPath": "d"}]}, {}, InvalidArgument,
     "mounts[0].host_path"),
    ("unknown-propagation", {"mounts": [{"containerPath": "/data", "hostPath": "/d", "propagation": 7}]}, {},
     InvalidArgument, "propagation"),
    ("rro-not-readonly", {"mounts": [{"containerPath": "/d", "hostPath": "/d", "recursiveReadOnly": True}]}, {},
     InvalidArgument, "recursive_read_only"),
    ("rro-rslave", {"mounts": [{"containerPath": "/d", "hostPath": "/d", "readonly": True, "recursiveReadOnly": True,
                                "propagation": "PROPAGATION_HOST_TO_CONTAINER"}]}, {}, InvalidArgument, "PRIVATE"),
    ("rro-rshared", {"mounts": [{"containerPath": "/d", "hostPath": "/d", "readonly": True, "recursiveReadOnly": True,
                                 "propagation": "PROPAGATION_BIDIRECTIONAL"}]}, {}, InvalidArgument, "PRIVATE"),
    ("idmapped-mount", {"mounts": [{"containerPath": "/d", "hostPath": "/d",
                                    "uidMappings": [{"hostId": 1, "containerId": 0, "length": 1}]}]}, {},
     Unimplemented, "id-mapped"),
    ("device-bad-permissions", {"devices": [{"containerPath": "/dev/x", "hostPath": "/dev/null", "permissions": "rx"}]},
     {"devices": {"/dev/null": [DEV_NULL]}}, InvalidArgument, "devices[0].permissions"),
    ("device-relative-path", {"devices": [{"containerPath": "x", "hostPath": "/dev/null"}]},
     {"devices": {"/dev/null": [DEV_NULL]}}, InvalidArgument, "devices[0].container_path"),
    ("unknown-capability", {"linux": {"securityContext": {"capabilities": {"addCapabilities": ["NET_FLY"]}}}}, {},
     InvalidArgument, "add_capabilities: unknown capability 'NET_FLY'"),
    ("unknown-drop-capability", {"linux": {"securityContext": {"capabilities": {"dropCapabilities": ["X"]}}}}, {},
     InvalidArgument, "drop_capabilities"),
    ("ambient-capabilities", {"linux": {"securityContext": {"capabilities": {"addAmbientCapabilities": ["CHOWN"]}}}},
     {}, Unimplemented, "add_ambient_capabilities"),
    ("privileged-in-unprivileged-pod", {"linux": {"securityContext": {"privileged": True}}}, {}, InvalidArgument,
     "privileged"),
    ("seccomp-localhost-relative", {"linux": {"securityContext": {"seccomp": {"profileType": "Localhost",
                                                                              "localhostRef": "p.json"}}}},
     {}, InvalidArgument, "seccomp.localhost_ref"),
    ("seccomp-localhost-nul", {"linux": {"securityContext": {"seccomp": {"profileType": "Localhost",
                                                                         "localhostRef": "/p\u0000.json"}}}},
     {}, InvalidArgument, "NUL byte"),
    ("seccomp-ref-without-localhost", {"linux": {"securityContext": {"seccomp": {"profileType": "RuntimeDefault",
                                                                                 "localhostRef": "/p.json"}}}},
     {}, InvalidArgument, "localhost_ref"),
    ("seccomp-path-unknown", {"linux": {"securityContext": {"seccompProfilePath": "strict"}}}, {}, InvalidArgument,
     "seccomp_profile_path"),
    ("seccomp-path-localhost-relative", {"linux": {"securityContext": {"seccompProfilePath": "localhost/p.json"}}},
     {}, InvalidArgument, "seccomp_profile_path"),
    ("seccomp-profile-not-oci", {"linux": {"securityContext": {"seccomp": {"profileType": "Localhost",
                                                                           "localhostRef": "/p.json"}}}},
     {"read_profile": lambda p: {"syscalls": []}}, InvalidArgument, "defaultAction"),
    ("apparmor-localhost", {"linux": {"securityContext": {"apparmor": {"profileType": "Localhost",
                                                                       "localhostRef": "my-profile"}}}},
     {}, Unimplemented, "AppArmor"),
    ("apparmor-path-localhost", {"linux": {"securityContext": {"apparmorProfile": "localhost/my-profile"}}}, {},
     Unimplemented, "apparmor_profile"),
    ("selinux-label", {"linux": {"securityContext": {"selinuxOptions": {"type": "container_t"}}}}, {},
     Unimplemented, "selinux_options"),
    ("masked-relative", {"linux": {"securityContext": {"maskedPaths": ["proc/kcore"]}}}, {}, InvalidArgument,
     "masked_paths"),
    ("readonly-relative", {"linux": {"securityContext": {"readonlyPaths": ["tmp"]}}}, {}, InvalidArgument,
     "readonly_paths"),
    ("negative-memory", {"linux": {"resources": {"memoryLimitInBytes": "-1"}}}, {}, InvalidArgument,
     "memory_limit_in_bytes"),
    ("negative-shares", {"linux": {"resources": {"cpuShares": "-2"}}}, {}, InvalidArgument, "cpu_shares"),
    ("oom-out-of-range", {"linux": {"resources": {"oomScoreAdj": "1001"}}}, {}, InvalidArgument, "oom_score_adj"),
    ("hugetlb-missing", {"linux": {"resources": {"hugepageLimits": [{"pageSize": "2MB", "limit": "1"}]}}},
     {"defaults": SpecDefaults(hugetlb=False)}, FailedPrecondition, "hugepage_limits"),
    ("target-not-resolved", {"linux": {"securityContext": {"namespaceOptions": {"pid": "TARGET", "targetId": "c0"}}}},
     {}, InvalidArgument, "target_id"),
    ("userns-differs-from-pod", {"linux": {"securityContext": {"namespaceOptions": {"usernsOptions": {
        "mode": "POD", "uids": [{"hostId": 1000, "containerId": 0, "length": 10}],
        "gids": [{"hostId": 1000, "containerId": 0, "length": 10}]}}}}}, {}, InvalidArgument, "differs"),
    ("userns-container-mode", {"linux": {"securityContext": {"namespaceOptions": {"usernsOptions": {
        "mode": "CONTAINER"}}}}}, {}, InvalidArgument, "userns_options.mode"),
    ("user-uid-out-of-range", {}, {"user": User(-1, 0, [])}, InvalidArgument, "uid"),
    ("run-as-group-alone", {"linux": {"securityContext": {"runAsGroup": {"value": "1002"}}}}, {}, InvalidArgument,
     "run_as_group: set without run_as_user"),
]


@pytest.mark.parametrize("name,cfg,extra,error,words", BAD, ids=[r[0] for r in BAD])
def test_invalid(name, cfg, extra, error, words):
    with pytest.raises(error) as info:
        make(cfg, **extra)
    assert words in str(info.value)
    assert str(info.value).startswith("CreateContainer config"), str(info.value)


USERNS_WHERE = "RunPodSandbox config.linux.security_context.namespace_options.userns_options"


def userns(spec):
    return json_format.ParseDict(spec, cri_pb2.UserNamespace())


@pytest.mark.parametrize("spec,words", [
    ({"mode": "POD", "uids": [{"containerId": 0, "hostId": 1000, "length": 100000},
                              {"containerId": 0, "hostId": 2000, "length": 100000}],
      "gids": [{"containerId": 0, "hostId": 1000, "length": 100000}]}, "only one mapping"),
    ({"mode": "POD", "uids": [{"containerId": 1, "hostId": 1000, "length": 100000}],
      "gids": [{"containerId": 1, "hostId": 1000, "length": 100000}]}, "container id 0"),
    ({"mode": "CONTAINER"}, "only POD and NODE"),
    ({"mode": "TARGET"}, "only POD and NODE"),
    ({"mode": "POD"}, "needs one uid and one gid mapping"),
    ({"mode": "NODE", "uids": [{"containerId": 0, "hostId": 1, "length": 1}]}, "takes no id mappings"),
    ({"mode": "POD", "uids": [{"containerId": 0, "hostId": 1, "length": 0}],
      "gids": [{"containerId": 0, "hostId": 1, "length": 1}]}, "length"),
])
def test_userns_mappings_refused(spec, words):
    """critest's 'should fail' user namespace specs (the lead calls this in RunPodSandbox too)."""
    with pytest.raises(InvalidArgument) as info:
        specgen.specsecurity.userns_mappings(userns(spec), USERNS_WHERE)
    assert words in str(info.value) and USERNS_WHERE in str(info.value)


def test_userns_mappings_accepted():
    got = specgen.specsecurity.userns_mappings(userns({"mode": "POD",
                                                       "uids": [{"containerId": 0, "hostId": 1000, "length": 65536}],
                                                       "gids": [{"containerId": 0, "hostId": 2000, "length": 65536}]}),
                                               USERNS_WHERE)
    assert got == ([{"containerID": 0, "hostID": 1000, "size": 65536}], [{"containerID": 0, "hostID": 2000, "size": 65536}])
    assert specgen.specsecurity.userns_mappings(userns({"mode": "NODE"}), USERNS_WHERE) is None
    assert specgen.specsecurity.userns_mappings(None, USERNS_WHERE) is None


def test_privileged_without_host_devices_is_a_caller_error():
    with pytest.raises(ValueError):
        make({"linux": {"securityContext": {"privileged": True}}}, pod=pod_context(PRIV_POD), host_devices=None)


def test_spec_is_json_and_independent_of_defaults():
    import json
    defaults = SpecDefaults()
    a = make({"linux": {"securityContext": {"seccomp": {}}}}, defaults=defaults)
    a["process"]["capabilities"]["bounding"].append("CAP_X")
    a["linux"]["maskedPaths"].append("/x")
    b = make({"linux": {"securityContext": {"seccomp": {}}}}, defaults=defaults)
    assert "CAP_X" not in b["process"]["capabilities"]["bounding"] and "/x" not in b["linux"]["maskedPaths"]
    assert json.loads(json.dumps(b)) == b


def test_valid_for_gantry_oci():
    """Generated specs pass gantry-oci's own spec checks (config.json validation)."""
    from gantry.lowlevel import spec as oci_spec
    for cfg, extra in [({}, {}), ({"linux": {"securityContext": {"seccomp": {}, "privileged": True}}},
                                  {"pod": pod_context(PRIV_POD)}),
                       ({"mounts": [{"containerPath": "/d", "hostPath": "/tmp", "readonly": True,
                                     "recursiveReadOnly": True}]}, {})]:
        s = make(cfg, **extra)
        s["linux"]["namespaces"] = [n for n in s["linux"]["namespaces"] if "path" not in n] + \
            [{"type": t} for t in ("network", "ipc", "uts")]
        for check in oci_spec.CHECKS:
            if check.__name__ not in ("check_root", "check_namespaces"):
                check(s, "/bundle")


# ---------------------------------------------------------------------------- exec and sandbox

def test_exec_process_keeps_identity_and_replaces_args():
    spec = make({"linux": {"securityContext": {"noNewPrivs": True}}}, user=User(1000, 1000, [1000, 5]))
    p = specgen.exec_process(spec, ["id", "-G"], tty=False)
    assert p["args"] == ["id", "-G"] and p["terminal"] is False
    assert p["user"] == spec["process"]["user"] and p["capabilities"] == spec["process"]["capabilities"]
    assert p["noNewPrivileges"] is True and p["cwd"] == spec["process"]["cwd"]
    assert "TERM" not in env({"process": p})
    t = specgen.exec_process(spec, ["sh"], tty=True)
    assert t["terminal"] is True and env({"process": t})["TERM"] == "xterm"
    assert spec["process"]["args"] == ["/entry", "default-cmd"]      # the container spec is untouched
    with pytest.raises(InvalidArgument):
        specgen.exec_process(spec, [], tty=False)


def test_sandbox_spec():
    pod = pod_context(namespaces=dict(NS, pid="/ignored"))
    s = specgen.sandbox_spec(pod, "/pause-rootfs", ["/pause"])
    assert [(n["type"], n.get("path")) for n in s["linux"]["namespaces"]] == [
        ("pid", None), ("mount", None), ("network", NS["network"]), ("ipc", NS["ipc"]), ("uts", NS["uts"])]
    assert s["root"] == {"path": "/pause-rootfs", "readonly": True}
    assert s["process"]["capabilities"] == {"bounding": [], "effective": [], "permitted": []}
    assert s["process"]["noNewPrivileges"] is True and s["process"]["args"] == ["/pause"]
    assert s["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    assert s["linux"]["cgroupsPath"] == "/kubepods/pod1/p1" and s["hostname"] == "podhost"
    assert s["annotations"]["io.kubernetes.cri.container-type"] == "sandbox"
    with pytest.raises(InvalidArgument):
        specgen.sandbox_spec(pod, "/r", [])


# ---------------------------------------------------------------------------- sysctls

def pod_config(d):
    return json_format.ParseDict(d, cri_pb2.PodSandboxConfig())


@pytest.mark.parametrize("sysctls,ns_options,expected", [
    ({"kernel.shm_rmid_forced": "1"}, {}, {"ipc": {"kernel.shm_rmid_forced": "1"}}),
    ({"fs.mqueue.msg_max": "100", "net.ipv4.ip_forward": "1"}, {},
     {"ipc": {"fs.mqueue.msg_max": "100"}, "network": {"net.ipv4.ip_forward": "1"}}),
    ({"kernel.domainname": "example"}, {}, {"uts": {"kernel.domainname": "example"}}),
    ({}, {"network": "NODE"}, {}),
])
def test_sysctls_by_namespace(sysctls, ns_options, expected):
    cfg = pod_config({"linux": {"sysctls": sysctls, "securityContext": {"namespaceOptions": ns_options}}})
    assert specgen.sysctls_by_namespace(cfg) == expected


@pytest.mark.parametrize("sysctls,ns_options,words", [
    ({"kernel.panic": "1"}, {}, "not a namespaced sysctl"),
    ({"vm.swappiness": "1"}, {}, "not a namespaced sysctl"),
    ({"net.core.somaxconn": "1"}, {"network": "NODE"}, "host's network"),
    ({"kernel.sem": "1 2 3 4"}, {"ipc": "NODE"}, "host's ipc"),
])
def test_sysctls_refused(sysctls, ns_options, words):
    cfg = pod_config({"linux": {"sysctls": sysctls, "securityContext": {"namespaceOptions": ns_options}}})
    with pytest.raises(InvalidArgument) as info:
        specgen.sysctls_by_namespace(cfg)
    assert words in str(info.value) and "RunPodSandbox config.linux.sysctls" in str(info.value)


def test_env_value_base64_roundtrip_guard():
    # KeyValue.value is bytes on the wire: non-UTF-8 survives as surrogate escapes (os.fsencode gives them back)
    spec = make({"envs": [("K", base64.b64decode("/w=="))]})
    assert [e for e in spec["process"]["env"] if e.startswith("K=")] == ["K=\udcff"]
