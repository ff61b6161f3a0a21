"""(Re)write the committed seed corpora from real formats: ``python -m tests.fuzz.seeds [TARGET ...]``.

Seeds are small, real inputs the fuzzer starts from: manifests and configs
built by the test fixtures (tests/fixtures/ociimage.py), the hostile layers of
tests/fixtures/hostilelayers.py, config.json from ``runc spec`` and ``crun spec``,
frames of every shim call.  Files named ``regress-*`` are regression inputs
(crashes found by fuzzing); this script never touches them.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from .harness import CORPUS_DIR, target_names


def _frames():
    from gantry.api import framing, shim_pb2, shimcalls

    out = {}
    for i, (name, call) in enumerate(sorted(shimcalls.CALLS.items())):
        req = call.request()
        for field, value in (("exec_id", ""), ("id", "fuzz"), ("log_path", "/var/log/pods/x.log"),
                             ("signal", 9), ("spec", '{"args": ["sh"]}'), ("resources", "{}")):
            desc = req.DESCRIPTOR.fields_by_name.get(field)
            if desc is not None:
                setattr(req, field, value.encode() if desc.type == desc.TYPE_BYTES else value)
        out[name] = framing.request(i + 1, name, req.SerializeToString())
    out["_attach_data_cancel"] = (framing.request(7, "Attach", shim_pb2.AttachRequest(stdout=True).SerializeToString())
                                  + framing.data(7, b"\x0a\x01x") + framing.cancel(7) + framing.end(7))
    out["_unknown_method"] = framing.request(1, "Nope", b"")
    out["_bad_payload"] = framing.request(1, "State", b"\xff\xff\xff")
    out["_response_from_client"] = framing.response(3, b"")
    out["_error"] = framing.error(4, framing.NOT_FOUND, "no such thing")
    out["_duplicate_id"] = out["Wait"] + out["Wait"]
    return out


def framing_seeds():
    return {"frame-%s" % k.strip("_"): b"\x0f" + v for k, v in _frames().items()}


def shim_server_seeds():
    frames = _frames()
    seeds = {"one-%s" % k.strip("_"): b"\x20" + v for k, v in frames.items()}
    seeds["all-calls-bytewise"] = b"\x00" + b"".join(v for k, v in sorted(frames.items()) if not k.startswith("_"))
    return seeds


def manifests_seeds():
    from tests.fixtures.ociimage import File, Image, Index, Layer

    from .fuzz_manifests import CONTENT_TYPES

    def ct(media_type):
        return bytes([CONTENT_TYPES.index(media_type)])

    layers = [Layer([File("a", b"a")]), Layer([File("b", b"b")], compression="zstd")]
    oci = Image(layers)
    docker = Image(layers, flavour="docker")
    arm = Image(layers, architecture="arm", variant="v7")
    index = Index([oci, arm, Image(layers, architecture="arm64", variant="v8")], attestation=True)
    mlist = Index([docker, Image(layers, flavour="docker", architecture="386")], flavour="docker")
    seeds = {
        "oci-manifest": ct(oci.media_type) + oci.manifest_bytes,
        "docker-manifest": ct(docker.media_type) + docker.manifest_bytes,
        "oci-index-attestation": ct(index.media_type) + index.manifest_bytes,
        "docker-manifest-list": ct(mlist.media_type) + mlist.manifest_bytes,
        "generic-manifest": b"\x00" + oci.manifest_bytes,
        "generic-index": b"\x01" + index.manifest_bytes,
        "config-2-layers": b"\x02" + oci.config_bytes,
        "schema1": b"\x07" + json.dumps({"schemaVersion": 1, "name": "x", "tag": "1", "fsLayers": []}).encode(),
    }
    return seeds


def reference_seeds():
    refs = ["busybox", "busybox:1.36", "library/busybox:latest", "docker.io/library/busybox:1.36",
            "index.docker.io/foo/bar", "127.0.0.1:5000/x/y:1", "localhost/a", "[::1]:5000/a/b:c",
            "quay.io/org/repo@sha256:" + "a" * 64, "ghcr.io/a/b:tag@sha256:" + "0" * 64,
            "registry.example.com:443/a__b/c-d/e.f:v1.2.3-rc_1", "a" * 64, "Foo/bar", "x@sha512:" + "f" * 128]
    return {"ref-%02d" % i: r.encode() for i, r in enumerate(refs)}


def auth_seeds():
    items = [
        b'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'
        b'\0{"token":"abc","expires_in":300}',
        b'Basic realm="Registry Realm"\0',
        b'Basic realm="r", Bearer realm="http://127.0.0.1:5001/token",service=reg\0{"access_token":"t"}',
        b'Bearer realm="https://a/t?x=1",scope="repository:a:pull repository:b:pull",error="insufficient_scope"'
        b'\0dXNlcjpwYXNz',
        b'Bearer realm="https://a/\\"q\\"",service="s\\\\"\0[]',
    ]
    return {"challenge-%d" % i: v for i, v in enumerate(items)}


def hosts_seeds():
    files = [
        'server = "https://registry-1.docker.io"\n[host."https://mirror.internal:5000"]\n'
        '  capabilities = ["pull", "resolve"]\n  ca = "mirror-ca.crt"\n',
        'server = "http://127.0.0.1:5000"\nskip_verify = true\nca = ["a.crt", "/etc/b.crt"]\n'
        'client = [["c.crt", "c.key"], ["both.pem"]]\n[header]\n  x-a = "1"\n  x-b = ["2", "3"]\n',
        '[host."mirror.example.com/base"]\n  override_path = true\n  client = "both.pem"\n'
        '[host."http://[::1]:5000"]\n  capabilities = ["pull"]\n  client = ["c.crt", "c.key"]\n',
    ]
    return {"hosts-%d" % i: f.encode() for i, f in enumerate(files)}


def crilog_seeds():
    outputs = [b"\x00\x00hello\nworld\n", b"\x01\x05line\r\nno newline", b"\x03\x00" + b"x" * 40 + b"\n\r\n",
               b"\x45\x02progress 10%\rprogress 20%\r", b"\x11\x00" + "ünïcode\n".encode() + b"\xff\xfe\n",
               b"\x02\x00" + b"2026-11-30T04:12:12.123456789Z stdout F hello\n"]
    return {"output-%d" % i: v for i, v in enumerate(outputs)}


def spec_seeds():
    seeds = {}
    with tempfile.TemporaryDirectory() as d:
        for tool, args in (("runc", []), ("runc", ["--rootless"]), ("crun", []), ("crun", ["--rootless"])):
            if shutil.which(tool) is None:
                continue
            path = os.path.join(d, "config.json")
            if os.path.exists(path):
                os.unlink(path)
            subprocess.run([tool, "spec"] + args, cwd=d, check=True)
            with open(path, "rb") as f:
                seeds["%s-spec%s" % (tool, "-rootless" if args else "")] = f.read()
    cfg = json.loads(seeds.get("runc-spec", b"{}") or b"{}")
    if cfg:
        cfg["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "architectures": ["SCMP_ARCH_X86_64"],
            "flags": ["SECCOMP_FILTER_FLAG_LOG"],
            "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                         {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}
        cfg["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "1"}
        cfg["linux"]["namespaces"].append({"type": "user"})
        cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1}]
        cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1}]
        cfg["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]
        cfg["hooks"] = {"prestart": [{"path": "/bin/true", "timeout": 5}]}
        cfg["process"]["rlimits"].append({"type": "RLIMIT_CORE", "soft": 0, "hard": 0})
        cfg["mounts"].append({"destination": "/data", "type": "bind", "source": "/tmp",
                              "options": ["rbind", "ro", "nosuid", "rro", "idmap"]})
        cfg["linux"]["personality"] = {"domain": "LINUX32"}
        seeds["runc-spec-everything"] = json.dumps(cfg, indent=1).encode()
    return seeds


def state_seeds():
    from .fuzz_state import RECORD

    return {"record": b"\x00" + RECORD, "torn-half": b"\x01\x00\x50", "zero-tail": b"\x02\x00\x30",
            "list": b"\x00[]", "no-id": b'\x00{"pid": 1}'}


def exitfile_seeds():
    rec = b'{"exited_at_ns": 1796000000000000000, "pid": 4242, "reason": "OOMKilled", "status": 137}\n'
    return {"record": b"\x00" + rec, "torn": b"\x01\x00\x20", "zero-tail": b"\x02\x00\x10",
            "status-str": b'\x00{"status": "1"}', "not-object": b"\x00[1]"}


def unpack_seeds():
    from tests.fixtures import hostilelayers
    from tests.fixtures.ociimage import (
        BlockDev,
        CharDev,
        Dir,
        Fifo,
        File,
        Hardlink,
        Opaque,
        Symlink,
        Whiteout,
        build_tar,
    )

    layers = {
        "plain": [Dir("etc"), File("etc/hosts", b"127.0.0.1 localhost\n"), File("bin/sh", b"\x7fELF", mode=0o4755),
                  Symlink("lib", "usr/lib"), Hardlink("bin/sh2", "bin/sh"), Fifo("run/fifo"),
                  CharDev("dev/null", 1, 3), BlockDev("dev/sda", 8, 0)],
        "whiteouts": [Dir("etc"), Whiteout("etc/passwd"), Opaque("etc/sub"), File("etc/sub/new", b"n"),
                      Whiteout("gone")],
        "hardlink-lower": [Hardlink("etc/passwd2", "etc/passwd"), Hardlink("deep/link", "etc/sub/file")],
        "xattrs": [File("cap", b"x", xattrs={"security.capability": b"\x01\x00\x00\x02"}),
                   File("bad", b"x", xattrs={"trusted.overlay.redirect": b"/etc"}),
                   Dir("d", xattrs={"user.comment": "hi"})],
        "long-names": [Dir("x" * 150), File("x" * 150 + "/" + "y" * 120, b"long"),
                       Symlink("l" * 10, "t" * 200)],
        "replace": [File("a", b"1"), Dir("a"), File("a/b", b"2"), File("a", b"3"), Symlink("a", "/")],
        "lower-symlink": [File("escape/x", b"x"), File("rootlink/etc/x", b"x")],
    }
    tars = {name: build_tar(entries) for name, entries in layers.items()}
    with tempfile.TemporaryDirectory() as d:
        dest = os.path.join(d, "dest")
        for case in hostilelayers.cases(dest) + hostilelayers.cases(dest, contained=True):
            tars["hostile-" + case.name] = case.layers[-1].tar
    # a PAX header that claims 1 GiB: the unpacker must refuse it, not allocate it
    huge = bytearray(build_tar([File("f", b"")]))
    huge[156:157] = b"x"
    huge[124:136] = b"%011o\0" % (1 << 30)
    tars["huge-pax-header"] = bytes(huge)
    seeds = {}
    for name, tar in tars.items():
        tar = tar.rstrip(b"\0")   # tarfile pads to 10 KiB; two zero blocks end the archive
        tars[name] = tar = tar + b"\0" * (-len(tar) % 512 + 1024)
        seeds[name] = b"\x00" + tar
    seeds["plain-gzip"] = b"\x01" + tars["plain"]
    seeds["whiteouts-zstd"] = b"\x02" + tars["whiteouts"]
    seeds["raw-unfixed"] = b"\x04" + tars["plain"]
    return seeds


def write(name, seeds):
    d = os.path.join(CORPUS_DIR, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if not f.startswith("regress-"):
            os.unlink(os.path.join(d, f))
    for key, data in seeds.items():
        with open(os.path.join(d, key), "wb") as f:
            f.write(data)
    return len(seeds)


def spdy_seeds():
    # programs of fuzz_spdy: op byte, then its arguments (see _client_program)
    syn = lambda sid, stype: bytes([0, sid, 0, 1, 2, len(stype)]) + stype.encode()   # noqa: E731
    exec_streams = syn(0, "error") + syn(1, "stdin") + syn(2, "stdout")
    reply_all = bytes([10, 0, 0, 0, 10, 0, 1, 0, 10, 0, 2, 0])
    data_in = bytes([1, 1, 2]) + b"abcdefgh" + b"\x01"
    data_out = bytes([10, 1, 2, 7, 10, 2, 2, 1])
    return {
        "exec-session": b"\x02\xff" + exec_streams + reply_all + data_in + data_out,
        "exec-bytewise-strict": b"\x03\x00" + exec_streams + reply_all + data_in + data_out,
        "ping-settings-window": b"\x02\x10" + syn(0, "data") + bytes([4, 0, 0, 0, 1, 3, 1, 7, 0, 1, 0, 0,
                                                                        5, 0, 0, 0, 16, 0, 10, 0, 0, 0, 10, 5, 0, 0]),
        "rst-and-goaway": b"\x02\x07" + syn(0, "error") + bytes([2, 0, 5, 10, 1, 0, 4, 7, 0, 0, 0, 0, 0]),
        "headers-frame": b"\x02\xff" + syn(0, "error") + bytes([6, 0, 0, 1, 3, 1, 0x31]),
        "raw-header-block": b"\x02\xff" + bytes([8, 0, 12]) + bytes(4) + b"\x00\x00\x00\x01" + bytes(4),
        "raw-garbage": b"\x02\x03" + bytes([9, 16]) + b"\x80\x03\x00\x01\x00\x00\x00\x08garbage!",
        "too-many-streams": b"\x02\xff" + b"".join(syn(i, "data") for i in range(6)),
    }


def wschannel_seeds():
    import base64

    from .fuzz_wschannel import PROTOCOLS

    def pi(name):
        return bytes([PROTOCOLS.index(name)])

    def msg(payload, text=False):
        return bytes([1 if text else 0, len(payload)]) + payload

    resize = b'{"Width":80,"Height":24}{"width":100,"height":50}'
    binary = msg(b"\x00echo hi\n") + msg(b"\x04" + resize) + msg(b"\xff\x00") + msg(b"")
    text = msg(b"0" + base64.b64encode(b"ls\n"), True) + msg(b"4" + base64.b64encode(resize), True) + msg(b"x!", True)

    def ws(*ops):
        return b"".join(bytes([op, (len(p) + 3) // 4]) + p.ljust((len(p) + 3) // 4 * 4, b" ") for op, p in ops)
    return {
        "v5-binary": pi("v5.channel.k8s.io") + b"\x00" + binary,
        "v4-base64": pi("v4.base64.channel.k8s.io") + b"\x00" + text,
        "headers": pi("channel.k8s.io") + b"\x00" + b"v4.channel.k8s.io, v3.channel.k8s.io\nchannel.k8s.io",
        "error-message": pi("v4.channel.k8s.io") + b"\x00m" + b"no such container",
        "ws-v5-stdin-resize-close": pi("v5.channel.k8s.io") + b"\x01" + ws(
            (0, b"\x00hello"), (0, b"\x04" + resize), (3, b"ping"), (0, b"\xff\x00"), (5, b"")),
        "ws-v4-base64-bytewise": pi("v4.base64.channel.k8s.io") + b"\x03" + ws(
            (2, b"0" + base64.b64encode(b"hi")), (2, b"4" + base64.b64encode(resize)), (1, b"\x00frag"), (0, b"ment")),
        "ws-bad-message": pi("v4.channel.k8s.io") + b"\x21" + ws((2, b"text on binary"), (0, b"\x00late")),
        "ws-raw": pi("channel.k8s.io") + b"\x01" + ws((0, b"\x00a"), (4, b"\x88\x80garbage")),
    }


def cni_seeds():
    import json as _json

    def j(doc):
        return _json.dumps(doc, indent=1).encode()
    result_100 = {"cniVersion": "1.0.0",
                  "interfaces": [{"name": "cni0", "mac": "0a:58:0a:58:00:01"},
                                 {"name": "veth1", "mac": "ae:5c:d1:2e:3a:11"},
                                 {"name": "eth0", "mac": "0a:58:0a:58:00:05", "sandbox": "/var/run/netns/p1"}],
                  "ips": [{"interface": 2, "address": "10.88.0.5/16", "gateway": "10.88.0.1"},
                          {"interface": 2, "address": "fd00:88::5/64", "gateway": "fd00:88::1"}],
                  "routes": [{"dst": "0.0.0.0/0"}], "dns": {}}
    result_040 = {"cniVersion": "0.4.0", "ips": [{"version": "4", "address": "10.9.0.6/24"}]}
    conflist = {"cniVersion": "0.4.0", "name": "podman", "plugins": [
        {"type": "bridge", "bridge": "cni-podman0", "isGateway": True, "ipMasq": True, "hairpinMode": True,
         "ipam": {"type": "host-local", "routes": [{"dst": "0.0.0.0/0"}],
                  "ranges": [[{"subnet": "10.88.0.0/16", "gateway": "10.88.0.1"}]]}},
        {"type": "portmap", "capabilities": {"portMappings": True}}, {"type": "firewall"}, {"type": "tuning"},
        {"type": "bandwidth", "capabilities": {"bandwidth": True}}]}
    conf = {"cniVersion": "1.0.0", "name": "mynet", "type": "bridge", "bridge": "cni0", "isGateway": True,
            "ipam": {"type": "host-local", "subnet": "10.22.0.0/16"}, "disableCheck": True}
    error = {"cniVersion": "1.0.0", "code": 11, "msg": "failed to allocate for range 0", "details": "range full"}
    cache = {"kind": "gantry-cni-cache-v1", "pod_id": "pod", "conf_file": "/etc/cni/net.d/87-podman.conflist",
             "conf": conflist, "netns": "/var/run/netns/p1", "ifname": "eth0",
             "cni_args": "IgnoreUnknown=1;K8S_POD_NAMESPACE=default", "capability_args": {}, "result": result_100}
    return {"result-1.0.0": b"\x00\x00" + j(result_100), "result-0.4.0-no-interfaces": b"\x00\x00" + j(result_040),
            "result-other-ifname": b"\x00\x01" + j(result_100), "error-json": b"\x01\x01" + j(error),
            "error-stderr": b"\x01\x02not json", "conf-bridge": b"\x02\x00" + j(conf),
            "conflist-podman": b"\x03\x00" + j(conflist), "cache-entry": b"\x04\x00" + j(cache)}


def remotecommand_seeds():
    from gantry.highlevel.streaming import remotecommand as rc

    resize = b'{"Width":80,"Height":24}\n{"width":100,"height":50}'
    return {"resize-two": b"\x00\x07" + resize, "resize-split": b"\x00\x03" + resize + b'{"Width":1',
            "status-success": b"\x01\x00" + rc.error_payload(4),
            "status-exit-3": b"\x01\x00" + rc.error_payload(4, 3, ["sh", "-c", "exit 3"]),
            "status-error": b"\x01\x00" + rc.error_payload(4, message="container not found"),
            "status-v1-text": b"\x01\x00" + rc.error_payload(1, 2),
            "exit-code-roundtrip": b"\x02\x00\x00\x07sh\x00-c\x00exit 7"}


def _cri_configs():
    """(PodSandboxConfig, [ContainerConfig]) as kubelet and critest send them."""
    from gantry.api import cri_pb2 as c

    pod = c.PodSandboxConfig(
        metadata=c.PodSandboxMetadata(name="web", uid="5f1c", namespace="default", attempt=0),
        hostname="web-0", log_directory="/var/log/pods/default_web_5f1c", labels={"app": "web"},
        annotations={"kubernetes.io/ingress-bandwidth": "10M"},
        port_mappings=[c.PortMapping(protocol=c.TCP, container_port=80, host_port=8080)],
        dns_config=c.DNSConfig(servers=["10.96.0.10"], searches=["default.svc.cluster.local"], options=["ndots:5"]),
        linux=c.LinuxPodSandboxConfig(
            cgroup_parent="/kubepods/besteffort/pod5f1c", sysctls={"net.ipv4.ip_unprivileged_port_start": "0",
                                                                    "kernel.shm_rmid_forced": "1"},
            security_context=c.LinuxSandboxSecurityContext(
                namespace_options=c.NamespaceOption(network=c.POD, pid=c.CONTAINER, ipc=c.POD),
                run_as_user=c.Int64Value(value=1000), supplemental_groups=[10],
                seccomp=c.SecurityProfile(profile_type=c.SecurityProfile.RuntimeDefault))))
    plain = c.ContainerConfig(
        metadata=c.ContainerMetadata(name="nginx", attempt=1), image=c.ImageSpec(image="docker.io/library/nginx:1"),
        command=["/bin/sh"], args=["-c", "sleep 1000"], working_dir="/srv",
        envs=[c.KeyValue(key="A", value=b"1"), c.KeyValue(key="PATH", value=b"/usr/bin")],
        mounts=[c.Mount(container_path="/etc/config", host_path="/etc", readonly=True),
                c.Mount(container_path="/cache", host_path="/tmp", propagation=c.PROPAGATION_PRIVATE)],
        devices=[c.Device(container_path="/dev/mynull", host_path="/dev/null", permissions="rwm")],
        labels={"io.kubernetes.container.name": "nginx"}, log_path="nginx/1.log", stdin=True, tty=True,
        linux=c.LinuxContainerConfig(
            resources=c.LinuxContainerResources(cpu_period=100000, cpu_quota=50000, cpu_shares=512,
                                                memory_limit_in_bytes=64 << 20, oom_score_adj=900,
                                                cpuset_cpus="0", unified={"memory.high": "50000000"}),
            security_context=c.LinuxContainerSecurityContext(
                capabilities=c.Capability(add_capabilities=["NET_ADMIN"], drop_capabilities=["MKNOD"]),
                namespace_options=c.NamespaceOption(network=c.POD, pid=c.CONTAINER, ipc=c.POD),
                run_as_user=c.Int64Value(value=1000), run_as_group=c.Int64Value(value=1000),
                readonly_rootfs=True, no_new_privs=True, masked_paths=["/proc/kcore"], readonly_paths=["/proc/sys"],
                seccomp=c.SecurityProfile(profile_type=c.SecurityProfile.RuntimeDefault),
                apparmor=c.SecurityProfile(profile_type=c.SecurityProfile.RuntimeDefault))))
    minimal = c.ContainerConfig(metadata=c.ContainerMetadata(name="c"), image=c.ImageSpec(image="busybox:1"))
    named_user = c.ContainerConfig(
        metadata=c.ContainerMetadata(name="u"), image=c.ImageSpec(image="img"), command=["id"],
        linux=c.LinuxContainerConfig(security_context=c.LinuxContainerSecurityContext(
            run_as_username="app", capabilities=c.Capability(drop_capabilities=["ALL"], add_capabilities=["CHOWN"]),
            seccomp=c.SecurityProfile(profile_type=c.SecurityProfile.Localhost, localhost_ref="/profile.json"),
            namespace_options=c.NamespaceOption(pid=c.TARGET, target_id="abc"))))
    return pod, [plain, minimal, named_user]


def specgen_seeds():
    from gantry.api import cri_pb2 as c

    pod, ctrs = _cri_configs()
    privileged_pod = c.PodSandboxConfig()
    privileged_pod.CopyFrom(pod)
    privileged_pod.linux.security_context.privileged = True
    privileged_pod.linux.security_context.namespace_options.network = c.NODE
    privileged_pod.linux.ClearField("sysctls")
    userns_pod = c.PodSandboxConfig()
    userns_pod.CopyFrom(pod)
    userns_pod.linux.security_context.namespace_options.userns_options.CopyFrom(c.UserNamespace(
        mode=c.POD, uids=[c.IDMapping(host_id=100000, container_id=0, length=65536)],
        gids=[c.IDMapping(host_id=100000, container_id=0, length=65536)]))
    privileged = c.ContainerConfig()
    privileged.CopyFrom(ctrs[1])
    privileged.linux.security_context.privileged = True
    userns = c.ContainerConfig()
    userns.CopyFrom(ctrs[1])
    userns.linux.security_context.namespace_options.userns_options.CopyFrom(
        userns_pod.linux.security_context.namespace_options.userns_options)
    out = {}
    for i, ctr in enumerate(ctrs):
        out["pod-ctr%d" % i] = c.CreateContainerRequest(pod_sandbox_id="p", config=ctr, sandbox_config=pod)
    out["privileged"] = c.CreateContainerRequest(config=privileged, sandbox_config=privileged_pod)
    out["userns"] = c.CreateContainerRequest(config=userns, sandbox_config=userns_pod)
    return {k: v.SerializeToString() for k, v in out.items()}


def cri_seeds():
    from gantry.api import cri_pb2 as c

    from .fuzz_cri import METHODS, encode_program

    def call(name, req):
        return (next(i for i, m in enumerate(METHODS) if m[1] == name), req)
    pod, ctrs = _cri_configs()
    image = c.ImageSpec(image="@ref")
    programs = {
        "status-lists": [call("Version", c.VersionRequest(version="v1")), call("Status", c.StatusRequest(verbose=True)),
                         call("ListPodSandbox", c.ListPodSandboxRequest(filter=c.PodSandboxFilter(
                             label_selector={"app": "web"}))),
                         call("ListContainers", c.ListContainersRequest(filter=c.ContainerFilter(
                             state=c.ContainerStateValue(state=c.CONTAINER_RUNNING)))),
                         call("RuntimeConfig", c.RuntimeConfigRequest())],
        "images": [call("ListImages", c.ListImagesRequest(filter=c.ImageFilter(image=image))),
                   call("ImageStatus", c.ImageStatusRequest(image=image, verbose=True)),
                   call("ImageStatus", c.ImageStatusRequest(image=c.ImageSpec(image="@image"))),
                   call("ImageFsInfo", c.ImageFsInfoRequest()),
                   call("RemoveImage", c.RemoveImageRequest(image=c.ImageSpec(image="docker.io/library/nope:1")))],
        "remove-image": [call("RemoveImage", c.RemoveImageRequest(image=image)),
                         call("ListImages", c.ListImagesRequest())],
        "create-container": [call("CreateContainer", c.CreateContainerRequest(
            pod_sandbox_id="nope", config=ctrs[0], sandbox_config=pod))],
        "container-calls": [call(n, r) for n, r in (
            ("StartContainer", c.StartContainerRequest(container_id="abc")),
            ("StopContainer", c.StopContainerRequest(container_id="abc", timeout=1)),
            ("ContainerStatus", c.ContainerStatusRequest(container_id="abc", verbose=True)),
            ("ExecSync", c.ExecSyncRequest(container_id="abc", cmd=["sh", "-c", "id"], timeout=1)),
            ("Exec", c.ExecRequest(container_id="abc", cmd=["sh"], tty=True, stdin=True, stdout=True)),
            ("Attach", c.AttachRequest(container_id="abc", stdin=True, stdout=True)),
            ("UpdateContainerResources", c.UpdateContainerResourcesRequest(
                container_id="abc", linux=c.LinuxContainerResources(memory_limit_in_bytes=1 << 20))),
            ("RemoveContainer", c.RemoveContainerRequest(container_id="abc")))],
        "pod-calls": [call(n, r) for n, r in (
            ("PodSandboxStatus", c.PodSandboxStatusRequest(pod_sandbox_id="p", verbose=True)),
            ("PortForward", c.PortForwardRequest(pod_sandbox_id="p", port=[80])),
            ("PodSandboxStats", c.PodSandboxStatsRequest(pod_sandbox_id="p")),
            ("StopPodSandbox", c.StopPodSandboxRequest(pod_sandbox_id="p")),
            ("RemovePodSandbox", c.RemovePodSandboxRequest(pod_sandbox_id="p")),
            ("UpdateRuntimeConfig", c.UpdateRuntimeConfigRequest(runtime_config=c.RuntimeConfig(
                network_config=c.NetworkConfig(pod_cidr="10.88.0.0/16")))))],
    }
    return {k: encode_program(v) for k, v in programs.items()}


def main(argv):
    names = argv or target_names()
    for name in names:
        fn = globals().get("%s_seeds" % name)
        if fn is None:
            print("%s: no seed generator (keep its corpus by hand)" % name)
            continue
        print("%s: %d seeds" % (name, write(name, fn())))


if __name__ == "__main__":
    main(sys.argv[1:])
