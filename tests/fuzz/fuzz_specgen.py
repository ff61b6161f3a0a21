"""highlevel/runtime/specgen.py and friends: CRI ContainerConfig + PodSandboxConfig -> OCI spec.

The input is a serialized ``runtime.v1.CreateContainerRequest`` (its ``config`` and
``sandbox_config``), mutated structurally by protomut.py.  The pod context is
built from the sandbox config as Pods does (a namespace file per namespace the
pod owns, in the scratch root); the helpers that feed ``container_spec`` run
for real: ``userinfo.resolve`` over a scratch rootfs with /etc/passwd and
/etc/group, ``hostmounts.check_host_mounts`` and ``hostfacts.lookup_devices``
(host paths only looked at), Localhost seccomp profiles read by
``hostfacts.read_seccomp_profile`` under the scratch root only.

Invariants: only the documented domain errors escape (InvalidArgument,
Unimplemented, FailedPrecondition, NotFound); a generated spec is JSON that
gantry-oci's own loader and checks accept (``lowlevel.spec.load`` +
``validate``), whose namespace, capability, seccomp and mount-option plans
build; ``exec_process`` of it is a valid process; the pod's infra spec
(``sandbox_spec``) validates too; ``sysctls_by_namespace`` only files
namespaced sysctls.  Nothing outside the scratch root changes."""
import json
import os

from gantry.api import cri_pb2
from gantry.highlevel import errors
from gantry.highlevel.runtime import hostfacts, hostmounts, podspec, specgen, userinfo
from gantry.lowlevel import capabilities, mountopts, namespaces, seccomp, spec

from . import protomut
from .harness import Target
from .scratch import Scratch

POD, CONTAINER, NODE, TARGET_NS = 0, 1, 2, 3
IMAGES = [
    {"config": {"Entrypoint": ["/bin/sh"], "Cmd": ["-c", "sleep 1"], "Env": ["PATH=/bin", "FROM_IMAGE=yes"],
                "User": "app:app", "WorkingDir": "/work", "Volumes": {"/data": {}}, "StopSignal": "SIGQUIT"}},
    {"config": {"Cmd": ["top"], "User": "1000"}},
    {"config": {"Entrypoint": [""], "WorkingDir": "relative"}},
    {},
]
PASSWD = b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nnobody:x:65534:65534::/:/sbin/nologin\n"
GROUP = b"root:x:0:\napp:x:1000:\nwheel:x:10:app,root\nnogroup:x:65534:\n"
PROFILE = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
           "syscalls": [{"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"}]}
ETC_FILES = ("/etc/hosts", "/etc/resolv.conf", "/etc/hostname")
ALLOWED = (errors.InvalidArgument, errors.Unimplemented, errors.FailedPrecondition, errors.NotFound)

_s = None
_defaults = None
_host_devices = None


def setup():
    global _s, _defaults, _host_devices
    _s = Scratch()
    for d in ("bundle/rootfs/etc", "ns", "profiles", "vol", "pod/shm", "pod/etc"):
        os.makedirs(_s.path(d))
    for name, data in (("bundle/rootfs/etc/passwd", PASSWD), ("bundle/rootfs/etc/group", GROUP),
                       ("profiles/profile.json", json.dumps(PROFILE).encode()), ("profiles/list.json", b"[1]"),
                       ("profiles/bad.json", b'{"defaultAction": "SCMP_ACT_NOPE"}'),
                       ("pod/etc/hosts", b""), ("pod/etc/resolv.conf", b""), ("pod/etc/hostname", b"")):
        with open(_s.path(name), "wb") as f:
            f.write(data)
    for kind in ("network", "ipc", "uts", "pid", "user", "target-pid"):
        open(_s.path("ns", kind), "w").close()
    _defaults = specgen.SpecDefaults(all_caps=hostfacts.current_capabilities(),
                                     swap_limit=hostfacts.swap_limit_supported(),
                                     hugetlb=hostfacts.hugetlb_supported(), cgroup_namespace=hostfacts.cgroup_unified(),
                                     node_hostname="fuzz-node")
    _host_devices = hostfacts.host_devices()


def _read_profile(path):
    """Localhost profiles come from the scratch root only (the real reader, another root)."""
    return hostfacts.read_seccomp_profile(_s.path("profiles", path.lstrip("/")))


def _pod_context(sandbox):
    opts = sandbox.linux.security_context.namespace_options
    ns = {}
    if opts.network != NODE:
        ns["network"] = ns["uts"] = None
    if opts.ipc != NODE:
        ns["ipc"] = None
    if opts.pid == POD:
        ns["pid"] = None
    if opts.HasField("userns_options") and opts.userns_options.mode == POD:
        ns["user"] = None
    ns = {k: _s.path("ns", k) for k in ns}
    return specgen.PodContext(id="pod0123", config=sandbox, namespaces=ns,
                              cgroup_parent=sandbox.linux.cgroup_parent,
                              shm_path=_s.path("pod/shm") if "ipc" in ns else "",
                              etc_files={p: _s.path("pod", p.lstrip("/")) for p in ETC_FILES})


def _validate(doc, what):
    """gantry-oci's loader and checks accept it, and its plans build."""
    bundle = _s.path("bundle")
    with open(os.path.join(bundle, "config.json"), "w") as f:
        f.write(json.dumps(doc))          # the C encoder (json.dump to a file is the Python one)
    try:
        cfg = spec.validate(spec.load(bundle), bundle)
    except spec.SpecError as exc:
        raise AssertionError("%s: gantry-oci refuses the generated spec: %s" % (what, exc)) from exc
    namespaces.plan(cfg["linux"]["namespaces"])
    capabilities.plan(cfg["process"]["capabilities"], 40)
    if cfg["linux"].get("seccomp"):
        seccomp.plan(cfg["linux"]["seccomp"])
    for mount in cfg["mounts"]:
        mountopts.parse(mount.get("options") or [])
    return cfg


def check(data):
    req = cri_pb2.CreateContainerRequest()
    try:
        req.ParseFromString(data)
    except Exception:  # noqa: BLE001 - not a message: nothing to do
        return
    config, sandbox = req.config, req.sandbox_config
    try:
        pod = _pod_context(sandbox)
        per_ns = specgen.sysctls_by_namespace(sandbox)
        assert set(per_ns) <= {"ipc", "network", "uts"}
        _validate(podspec.sandbox_spec(pod, _s.path("bundle", "rootfs"), ["/pause"]), "sandbox_spec")
        image = IMAGES[len(config.image.image) % len(IMAGES)]
        sc = config.linux.security_context if config.HasField("linux") else None
        user = userinfo.resolve(_s.path("bundle", "rootfs"), sc, image.get("config", {}).get("User", ""))
        host_paths = hostmounts.check_host_mounts(config)
        devices = hostfacts.lookup_devices(config)
        volumes = {p: _s.path("vol") for p in (image.get("config") or {}).get("Volumes") or {}}
        opts = sc.namespace_options if sc is not None else None
        target = _s.path("ns", "target-pid") if opts is not None and opts.pid == TARGET_NS and opts.target_id else ""
        doc = specgen.container_spec("ctr0123", config, pod, image, _s.path("bundle", "rootfs"), user, _defaults,
                                     volumes=volumes, host_paths=host_paths, devices=devices,
                                     host_devices=_host_devices if sc is not None and sc.privileged else None,
                                     target_pid_ns=target, read_profile=_read_profile)
        try:
            cfg = _validate(doc, "container_spec")
        except seccomp.SeccompError:
            # a Localhost profile is passed through as read (as containerd does): gantry-oci judges it at create
            assert sc.seccomp.profile_type == 2 or sc.seccomp_profile_path.startswith("localhost/")
            return
        assert cfg["process"]["args"] and cfg["root"]["path"] == _s.path("bundle", "rootfs")
        process = specgen.exec_process(cfg, ["sh", "-c", "id"], tty=bool(data[-1:] == b"\x01"))
        exec_cfg = json.loads(json.dumps(dict(cfg, process=process)))
        for step in (spec.check_types, spec.check_process, spec.check_capabilities):
            step(exec_cfg, _s.path("bundle"))     # gantry-oci exec's checks of a process (no file)
    finally:
        _s.assert_outside_unchanged()


def mutator(data, max_size, seed):
    return protomut.mutate_message(cri_pb2.CreateContainerRequest, data, max_size, seed)


TARGET = Target("specgen", check, ("gantry.highlevel.runtime.specgen", "gantry.highlevel.runtime.specmounts",
                                   "gantry.highlevel.runtime.specsecurity", "gantry.highlevel.runtime.podspec",
                                   "gantry.highlevel.runtime.userinfo"),
                allowed=ALLOWED, setup=setup, mutator=mutator)
