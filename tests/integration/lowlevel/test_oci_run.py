"""gantry-oci run/create/start/state/kill/delete on busybox, checked from inside with a probe."""
import json
import os
import socket
import subprocess
import time

import pytest

from tests.fixtures import bundle
from tests.integration.lowlevel.oci_harness import PROBE, Runtime, host_ns, make_bundle, probe_values

pytestmark = pytest.mark.root

DEFAULT_CAP_MASK = "00000000a80425fb"   # tests/fixtures/bundle.py DEFAULT_CAPS


@pytest.fixture
def oci(tmp_path):
    rt = Runtime(str(tmp_path / "state"))
    yield rt
    rt.cleanup()


def test_run_probe_sees_a_proper_container(tmp_path, busybox_rootfs, oci):
    path, _ = make_bundle(tmp_path, busybox_rootfs, ["/bin/sh", "-c", PROBE], hostname="probe-host",
                          domainname="probe.local")
    cfg = json.load(open(os.path.join(path, "config.json")))
    cfg["process"]["env"].append("FOO=bar")
    cfg["process"]["cwd"] = "/tmp"
    cfg["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [5, 6], "umask": 0o027}
    cfg["process"]["capabilities"]["ambient"] = []
    json.dump(cfg, open(os.path.join(path, "config.json"), "w"))
    # an inherited descriptor must not reach the container
    with open("/etc/hostname") as leak:
        run = oci("run", "--bundle", path, oci.new_id(), pass_fds=[leak.fileno()])
    v = probe_values(run.stdout)
    assert v["hostname"] == "probe-host" and v["domainname"] == "probe.local"
    assert v["pid"] == "1"
    assert v["uid"] == "1000" and v["gid"] == "1000"
    assert set(v["groups"].split()) == {"1000", "5", "6"}
    assert v["cwd"] == "/tmp"
    assert v["fds"].split() == ["0", "1", "2", "3"]    # 3: the directory ls itself reads
    assert v["nnp"] == "1" and v["nofile"] == "1024" and v["umask"] == "0027"
    assert v["sigign"] == v["sigblk"] == "0" * 16      # nothing of the runtime's signal state leaks in
    assert v["env_foo"] == "bar" and v["home"] == "/"
    assert v["capbnd"] == DEFAULT_CAP_MASK
    for ns in ("pid", "net", "ipc", "uts", "mnt"):
        assert v["ns_" + ns] != host_ns(ns), ns
    assert v["ns_user"] == host_ns("user")
    mounts = {m.split(":")[0]: m for m in v["mounts"].split()}
    if os.path.exists("/proc/keys"):
        assert mounts["/proc/keys"].split(":")[1] in ("devtmpfs", "tmpfs")   # maskedPaths: /dev/null over it
    assert mounts["/proc"].split(":")[1] == "proc"
    assert mounts["/sys"].split(":")[1] == "sysfs" and "ro" in mounts["/sys"].split(":")[2]
    assert mounts["/dev"].split(":")[1] == "tmpfs" and mounts["/dev/pts"].split(":")[1] == "devpts"
    assert "ro" in mounts["/proc/sys"].split(":")[2]          # readonlyPaths
    assert v["sysrq"] == "denied"
    for dev in ("null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm", "fd", "stdin"):
        assert dev in v["devices"].split(), dev
    assert v["null"] == "ok" and v["lo"] in ("unknown", "up")


def test_create_start_state_kill_delete(tmp_path, busybox_rootfs, oci):
    path, _ = make_bundle(tmp_path, busybox_rootfs, ["sleep", "60"])
    cid = oci.new_id()
    pid_file = str(tmp_path / "pid")
    oci("create", "--bundle", path, "--pid-file", pid_file, cid, detached=True)
    st = json.loads(oci("state", cid).stdout)
    assert st["status"] == "created" and st["id"] == cid and st["bundle"] == path
    assert st["pid"] == int(open(pid_file).read())
    assert st["ociVersion"].startswith("1.") and st["created"]
    assert os.path.exists("/proc/%d" % st["pid"])
    listed = json.loads(oci("list", "--format", "json").stdout)
    assert [(c["id"], c["status"]) for c in listed] == [(cid, "created")]
    assert oci("list", "-q").stdout.split() == [cid]
    run = oci("delete", cid, check=False)             # the spec: deleting a created container is an error
    assert run.returncode == 1 and "not stopped: created" in run.stderr
    oci("start", cid)
    assert json.loads(oci("state", cid).stdout)["status"] == "running"
    assert json.loads(oci("ps", "--format", "json", cid).stdout) == [st["pid"]]
    assert "sleep" in oci("ps", cid).stdout
    run = oci("start", cid, check=False)
    assert run.returncode == 1 and "cannot start" in run.stderr
    oci("kill", cid, "KILL")
    deadline = time.monotonic() + 5
    while json.loads(oci("state", cid).stdout)["status"] != "stopped":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    run = oci("kill", cid, check=False)
    assert run.returncode == 1 and "container not running" in run.stderr
    oci("delete", cid)
    run = oci("state", cid, check=False)
    assert run.returncode == 1 and "does not exist" in run.stderr
    assert not os.path.exists(os.path.join(oci.root, cid))


def test_run_exit_status_and_signals(tmp_path, busybox_rootfs, oci):
    path, _ = make_bundle(tmp_path, busybox_rootfs, ["/bin/sh", "-c", "exit 7"])
    assert oci("run", "--bundle", path, oci.new_id(), check=False).returncode == 7
    # pid 1 of a pid namespace cannot be SIGKILLed from inside: this one runs without one
    path, cfg = make_bundle(tmp_path, busybox_rootfs, ["/bin/sh", "-c", "kill -9 $$"], name="b2")
    cfg["linux"]["namespaces"] = [ns for ns in cfg["linux"]["namespaces"] if ns["type"] != "pid"]
    bundle.write_bundle(path, busybox_rootfs, cfg)
    assert oci("run", "--bundle", path, oci.new_id(), check=False).returncode == 137
    assert os.listdir(oci.root) == []       # run without --keep deletes


def test_foreground_run_forwards_signals(tmp_path, busybox_rootfs, oci):
    path, _ = make_bundle(tmp_path, busybox_rootfs, ["/bin/sh", "-c", "trap 'echo got-term; exit 3' TERM; "
                                                     "echo ready; while true; do sleep 0.05; done"])
    cid = oci.new_id()
    p = subprocess.Popen([oci.binary, "--root", oci.root, "run", "--bundle", path, cid], stdout=subprocess.PIPE,
                         text=True, stdin=subprocess.DEVNULL)
    assert p.stdout.readline().strip() == "ready"
    p.terminate()
    out, _ = p.communicate(timeout=10)
    assert "got-term" in out and p.returncode == 3


@pytest.mark.parametrize("edit,message", [
    ({"process": {"args": ["/nonexistent"], "cwd": "/"}}, 'exec: "/nonexistent": stat /nonexistent: no such file'),
    ({"process": {"args": ["nosuchcmd"], "cwd": "/"}}, 'exec: "nosuchcmd": executable file not found in $PATH'),
    ({"mounts": [{"destination": "/x", "type": "nosuchfs", "source": "none"}]}, "mount none to /"),
    ({"process": {"args": ["true"], "cwd": "/", "oomScoreAdj": -999}},
     "oom_score_adj -999: Permission denied (lowering oom_score_adj needs CAP_SYS_RESOURCE"),
    ({"process": {"args": ["true"], "cwd": "/", "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1 << 30, "hard": 1 << 30}]}},
     "setrlimit RLIMIT_NOFILE"),
    ({"linux": {"namespaces": [{"type": "mount"}, {"type": "uts"}], "sysctl": {"net.ipv4.ip_forward": "1"}}},
     "requires a new network namespace"),
    ({"ociVersion": "2.0.0"}, "only runtime-spec 1.x"),
])
def test_errors_carry_their_cause(tmp_path, busybox_rootfs, oci, edit, message):
    cfg = bundle.default_config(["true"])
    for key, value in edit.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key].update(value)
        else:
            cfg[key] = value
    path = str(tmp_path / "b")
    bundle.write_bundle(path, busybox_rootfs, cfg)
    log = str(tmp_path / "log.json")
    run = oci("--log", log, "--log-format", "json", "create", "--bundle", path, oci.new_id(), check=False)
    assert run.returncode == 1
    assert message in run.stderr, run.stderr
    last = json.loads(open(log).read().splitlines()[-1])
    assert last["level"] == "error" and message in last["msg"] and last["time"]
    assert not os.path.exists(oci.root) or os.listdir(oci.root) == []     # nothing left behind


def test_state_and_kill_of_missing_container(oci):
    assert oci("delete", "--force", "nope").returncode == 0      # as runc: nothing to force-delete is fine
    for args in (["state", "nope"], ["start", "nope"], ["kill", "nope"], ["delete", "nope"]):
        run = oci(*args, check=False)
        assert run.returncode == 1 and "does not exist" in run.stderr, args


def test_duplicate_id_and_unknown_capability(tmp_path, busybox_rootfs, oci):
    path, cfg = make_bundle(tmp_path, busybox_rootfs, ["sleep", "10"])
    cid = oci.new_id()
    oci("create", "--bundle", path, cid, detached=True)
    run = oci("create", "--bundle", path, cid, check=False)
    assert run.returncode == 1 and "already exists" in run.stderr
    oci("delete", "--force", cid)
    cfg["process"]["capabilities"]["bounding"].append("CAP_BOGUS")
    bundle.write_bundle(path, busybox_rootfs, cfg)
    run = oci("create", "--bundle", path, oci.new_id(), check=False)
    assert run.returncode == 1 and "CAP_BOGUS" in run.stderr


def test_no_process_can_be_created_not_started(tmp_path, busybox_rootfs, oci):
    path, cfg = make_bundle(tmp_path, busybox_rootfs, ["true"])
    del cfg["process"]
    bundle.write_bundle(path, busybox_rootfs, cfg)
    cid = oci.new_id()
    oci("create", "--bundle", path, cid, detached=True)
    run = oci("start", cid, check=False)
    assert run.returncode == 1 and "has no process" in run.stderr
    assert json.loads(oci("state", cid).stdout)["status"] == "stopped"   # the init had nothing to run
    oci("delete", cid)


def test_console_socket_receives_the_pty(tmp_path, busybox_rootfs, oci):
    path, cfg = make_bundle(tmp_path, busybox_rootfs, ["/bin/sh", "-c", "tty; echo on-tty"])
    cfg["process"]["terminal"] = True
    bundle.write_bundle(path, busybox_rootfs, cfg)
    sock_path = str(tmp_path / "console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    server.listen(1)
    cid = oci.new_id()
    oci("create", "--bundle", path, "--console-socket", sock_path, cid, detached=True)
    conn, _ = server.accept()
    _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
    master = fds[0]
    oci("start", cid)
    out = b""
    deadline = time.monotonic() + 5
    while b"on-tty" not in out and time.monotonic() < deadline:
        try:
            out += os.read(master, 1024)
        except OSError:
            break
    os.close(master)
    assert b"/dev/pts/0" in out and b"on-tty" in out


def test_preserve_fds(tmp_path, busybox_rootfs, oci):
    path, _ = make_bundle(tmp_path, busybox_rootfs, ["/bin/sh", "-c", "cat <&3; ls /proc/self/fd | tr '\\n' ' '"])
    r, w = os.pipe()
    os.write(w, b"through-fd-3\n")
    os.close(w)
    try:   # a shell puts the pipe on fd 3, then becomes gantry-oci
        run = subprocess.run(["/bin/sh", "-c", 'exec 3<&0 0</dev/null; exec "$@"', "sh", oci.binary, "--root",
                              oci.root, "run", "--preserve-fds", "1", "--bundle", path, oci.new_id()],
                             capture_output=True, text=True, timeout=30, stdin=r)
    finally:
        os.close(r)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "through-fd-3"
    assert lines[1].split() == ["0", "1", "2", "3", "4"]   # 4: the directory ls reads


def test_no_pivot_and_readonly_root_and_sysctl(tmp_path, busybox_rootfs, oci):
    path, cfg = make_bundle(tmp_path, busybox_rootfs, ["/bin/sh", "-c", "cat /proc/sys/net/ipv4/ip_forward; "
                                                       "touch /x 2>/dev/null && echo rw || echo ro; "
                                                       "touch /tmp/y 2>/dev/null && echo tmp-rw || echo tmp-ro"])
    cfg["root"]["readonly"] = True
    cfg["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    cfg["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]})
    bundle.write_bundle(path, busybox_rootfs, cfg)
    for extra in ([], ["--no-pivot"]):
        run = oci("run", *extra, "--bundle", path, oci.new_id())
        assert run.stdout.split() == ["1", "ro", "tmp-rw"], extra


def test_mount_destination_symlink_cannot_escape(tmp_path, busybox_rootfs, oci):
    rootfs = str(tmp_path / "rootfs")
    subprocess.run(["cp", "-a", busybox_rootfs, rootfs], check=True)
    host_dir = tmp_path / "host-target"
    host_dir.mkdir()
    os.symlink(str(host_dir), os.path.join(rootfs, "evil"))      # absolute link at a host path
    path, cfg = make_bundle(tmp_path, rootfs, ["/bin/sh", "-c", "grep -c ' %s/x ' /proc/self/mountinfo" % host_dir])
    cfg["mounts"].append({"destination": "/evil/x", "type": "tmpfs", "source": "tmpfs"})
    bundle.write_bundle(path, rootfs, cfg)
    run = oci("run", "--bundle", path, oci.new_id())
    assert run.stdout.strip() == "1"                      # mounted, inside the container's tree
    assert not (host_dir / "x").exists()                   # the host directory was never touched
    assert os.path.isdir(os.path.join(rootfs, str(host_dir).lstrip("/"), "x"))


def test_hooks_run_in_order_with_state(tmp_path, busybox_rootfs, oci):
    record = tmp_path / "hooks.log"

    def hook(name):
        return {"path": "/bin/sh", "args": ["sh", "-c", "read s; echo %s $(echo \"$s\" | grep -o '\"status\":\"[a-z]*\"') "
                                            ">> %s" % (name, record)]}
    path, cfg = make_bundle(tmp_path, busybox_rootfs, ["true"])
    kinds = ["prestart", "createRuntime", "createContainer", "poststart", "poststop"]
    cfg["hooks"] = {k: [hook(k)] for k in kinds}
    # startContainer runs inside the container: its path resolves there
    cfg["hooks"]["startContainer"] = [{"path": "/bin/sh", "args": ["sh", "-c", "echo startContainer-in > /dev/null"]}]
    bundle.write_bundle(path, busybox_rootfs, cfg)
    cid = oci.new_id()
    oci("create", "--bundle", path, cid, detached=True)
    oci("start", cid)
    time.sleep(0.2)
    oci("delete", "--force", cid)
    lines = record.read_text().splitlines()
    assert [line.split()[0] for line in lines] == kinds
    statuses = [line.split()[1].split(":")[1].strip('"') for line in lines]
    # prestart sees "created" (as runtime-tools and crun have it), createRuntime/createContainer "creating"
    assert statuses == ["created", "creating", "creating", "running", "stopped"]


def _userns_unavailable():
    """Why user namespaces cannot be made here (None when they can): inside a chroot the kernel refuses
    unshare(CLONE_NEWUSER) with EPERM, as do hosts with user.max_user_namespaces=0."""
    try:
        probe = subprocess.run(["unshare", "-U", "true"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "unshare -U cannot run: %s" % e
    if probe.returncode != 0:
        return "this host cannot create user namespaces (unshare -U: %s)" % probe.stderr.strip()
    return None


USERNS_UNAVAILABLE = _userns_unavailable()


@pytest.mark.skipif(USERNS_UNAVAILABLE is not None, reason=str(USERNS_UNAVAILABLE))
def test_user_namespace_with_mappings(busybox_rootfs, oci):
    import pathlib
    import shutil
    import tempfile
    tmp_path = pathlib.Path(tempfile.mkdtemp(dir="/tmp"))   # pytest's tmp dirs are 0700: unreachable from uid 100000
    try:
        _userns(tmp_path, busybox_rootfs, oci)
    finally:
        shutil.rmtree(str(tmp_path))


def _userns(tmp_path, busybox_rootfs, oci):
    rootfs = str(tmp_path / "rootfs")
    subprocess.run(["cp", "-a", busybox_rootfs, rootfs], check=True)
    subprocess.run(["chown", "-R", "100000:100000", rootfs], check=True)
    os.chmod(str(tmp_path), 0o755)
    path, cfg = make_bundle(tmp_path, rootfs, ["/bin/sh", "-c", "id -u; cat /proc/self/uid_map; touch /ok && echo w"])
    cfg["linux"]["namespaces"].append({"type": "user"})
    cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] not in ("/sys", "/sys/fs/cgroup")]
    bundle.write_bundle(path, rootfs, cfg)
    run = oci("run", "--bundle", path, oci.new_id())
    out = run.stdout.split()
    assert out[0] == "0" and out[1:4] == ["0", "100000", "65536"] and out[4] == "w"
    assert os.stat(os.path.join(rootfs, "ok")).st_uid == 100000
    # exec joins the user namespace first, then the others
    cfg["process"]["args"] = ["sleep", "30"]
    bundle.write_bundle(path, rootfs, cfg)
    cid = oci.new_id()
    oci("run", "--detach", "--bundle", path, cid, detached=True)
    out = oci("exec", cid, "/bin/sh", "-c", "id -u; cat /proc/self/uid_map").stdout.split()
    assert out == ["0", "0", "100000", "65536"]
    oci("delete", "--force", cid)     # before the caller removes the rootfs


def test_spec_features_version(tmp_path, oci):
    oci("spec", "--bundle", str(tmp_path))
    cfg = json.load(open(str(tmp_path / "config.json")))
    assert cfg["ociVersion"].startswith("1.") and cfg["process"]["args"] == ["sh"]
    assert oci("spec", "--bundle", str(tmp_path), check=False).returncode == 1
    feats = json.loads(oci("features").stdout)
    assert "rro" in feats["mountOptions"] and "pid" in feats["linux"]["namespaces"]
    out = oci("--version").stdout.splitlines()
    assert out[0].startswith("gantry-oci version ") and out[1].startswith("spec: 1.")
    run = oci("--systemd-cgroup", "list", check=False)
    assert run.returncode == 1 and "--systemd-cgroup is not supported" in run.stderr


def test_tmpcopyup_and_unsupported_idmap(tmp_path, busybox_rootfs, oci):
    path, cfg = make_bundle(tmp_path, busybox_rootfs, ["/bin/sh", "-c", "grep -c root /etc/passwd; "
                                                       "grep ' /etc ' /proc/self/mountinfo | grep -c tmpfs"])
    cfg["mounts"].append({"destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup"]})
    bundle.write_bundle(path, busybox_rootfs, cfg)
    assert oci("run", "--bundle", path, oci.new_id()).stdout.split() == ["1", "1"]
    cfg["mounts"][-1] = {"destination": "/mnt", "type": "bind", "source": "/tmp", "options": ["bind", "idmap"]}
    bundle.write_bundle(path, busybox_rootfs, cfg)
    run = oci("run", "--bundle", path, oci.new_id(), check=False)
    assert run.returncode == 1 and "mount /mnt: option idmap is not supported" in run.stderr


def test_session_keyring_per_container(tmp_path, busybox_rootfs, oci):
    path, _ = make_bundle(tmp_path, busybox_rootfs, ["sleep", "30"])
    own, shared = oci.new_id(), oci.new_id()
    oci("run", "--detach", "--bundle", path, own, detached=True)
    oci("run", "--detach", "--no-new-keyring", "--bundle", path, shared, detached=True)
    with open("/proc/keys") as f:
        keys = f.read()
    assert "_ses.%s" % own in keys and "_ses.%s" % shared not in keys


@pytest.mark.parametrize("nnp", [False, True])
def test_seccomp_profile_denying_runtime_syscalls(tmp_path, busybox_rootfs, oci, nnp):
    """Without no_new_privs the filter is loaded before the runtime's last steps: those must not need
    syscalls an older profile denies (close_range, keyctl, rt_sigaction are absent from some)."""
    path, cfg = make_bundle(tmp_path, busybox_rootfs, ["/bin/sh", "-c", "echo alive"])
    cfg["process"]["noNewPrivileges"] = nnp
    cfg["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                               "syscalls": [{"names": ["close_range", "keyctl"], "action": "SCMP_ACT_ERRNO"}]}
    bundle.write_bundle(path, busybox_rootfs, cfg)
    assert oci("run", "--bundle", path, oci.new_id()).stdout.strip() == "alive"


def test_time_namespace_offsets(tmp_path, busybox_rootfs, oci):
    path, cfg = make_bundle(tmp_path, busybox_rootfs, ["/bin/sh", "-c", "cut -d. -f1 /proc/uptime"])
    cfg["linux"]["namespaces"].append({"type": "time"})
    cfg["linux"]["timeOffsets"] = {"boottime": {"secs": 10 ** 6, "nanosecs": 0}}
    bundle.write_bundle(path, busybox_rootfs, cfg)
    with open("/proc/uptime") as f:
        host = float(f.read().split()[0])
    inside = int(oci("run", "--bundle", path, oci.new_id()).stdout)
    assert 10 ** 6 + host - 5 < inside < 10 ** 6 + host + 60


def test_rshared_root_propagation_on_a_rootfs_that_is_a_mount(tmp_path, busybox_rootfs, oci):
    """A rootfs that is a mount point of its own (an overlay snapshot, as gantryd makes) with
    rootfsPropagation rshared: pivot_root needs the rootfs' own mount private (found by critest)."""
    path, _ = make_bundle(tmp_path, busybox_rootfs, ["/bin/sh", "-c", "awk '$5 == \"/\" {print $7}' /proc/self/mountinfo"])
    cfg = json.load(open(os.path.join(path, "config.json")))
    rootfs = cfg["root"]["path"] if os.path.isabs(cfg["root"]["path"]) else os.path.join(path, cfg["root"]["path"])
    subprocess.run(["mount", "--bind", rootfs, rootfs], check=True)
    try:
        subprocess.run(["mount", "--make-shared", rootfs], check=True)
        cfg["linux"]["rootfsPropagation"] = "rshared"
        json.dump(cfg, open(os.path.join(path, "config.json"), "w"))
        run = oci("run", "--bundle", path, oci.new_id())
        assert run.stdout.strip().startswith("shared:")
    finally:
        subprocess.run(["umount", "-l", rootfs], check=False)
