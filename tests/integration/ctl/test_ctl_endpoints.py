"""gantryctl against gantryd and against containerd 1.6: every command a CRI runtime must answer
the same way (images, pods, containers, logs, exec, attach, stats, run)."""
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time

import grpc
import pytest
import yaml
from gantry.api import cri_pb2, cri_pb2_grpc

pytestmark = pytest.mark.root


def run_args(ep):
    return ("run", "--log-dir", ep.log_dir)


def test_version_and_info(endpoint):
    r = endpoint.ok("version")
    assert "RuntimeName:  %s" % ("gantry" if endpoint.name == "gantryd" else "containerd") in r.stdout
    doc = json.loads(endpoint.ok("version", "-o", "json").stdout)
    assert doc["runtimeApiVersion"] == "v1"
    doc = json.loads(endpoint.ok("info", "-o", "json").stdout)
    conditions = {c["type"]: c["status"] for c in doc["status"]["conditions"]}
    assert conditions["RuntimeReady"] is True and isinstance(conditions["NetworkReady"], bool)
    assert all("name" in h for h in doc.get("runtimeHandlers", []))
    table = endpoint.ok("info").stdout
    assert table.startswith("CONDITION") and "RuntimeReady   true" in table
    assert yaml.safe_load(endpoint.ok("info", "-o", "yaml").stdout)["status"] == doc["status"]


def test_pull_images_inspecti_rmi(endpoint, ctl_images):
    ref = ctl_images.busybox
    r = endpoint.ok("pull", ref)
    assert r.stdout.startswith("Image is up to date for sha256:")
    image_id = r.stdout.split()[-1]
    rows = [line.split() for line in endpoint.ok("images").stdout.splitlines()]
    assert rows[0] == ["IMAGE", "TAG", "IMAGE", "ID", "SIZE"]
    assert [ref.rsplit(":", 1)[0], "1", image_id[7:20]] in [row[:3] for row in rows]
    assert image_id in endpoint.ok("images", "-q").stdout.split()
    listed = json.loads(endpoint.ok("images", "-o", "json", ref).stdout)["images"]
    assert [i["id"] for i in listed] == [image_id] and ref in listed[0]["repoTags"]
    doc = json.loads(endpoint.ok("inspecti", ref).stdout)
    assert doc["status"]["id"] == image_id
    assert yaml.safe_load(endpoint.ok("inspecti", "-o", "yaml", ref).stdout)["status"]["id"] == image_id
    r = endpoint.ctl("inspecti", ref + "-missing")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "no such image" in r.stderr


def test_run_rm_prints_output_and_exits_with_the_code(endpoint, ctl_images):
    r = endpoint.ctl(*run_args(endpoint), "--rm", "--name", "once", ctl_images.busybox,
                     "sh", "-c", "echo out; echo err >&2; echo $GREETING; exit 7", "-e", "GREETING=hi")
    # -e after CMD belongs to CMD (docker's rule): sh gets it as $0
    assert (r.returncode, r.stdout, r.stderr) == (7, "out\n\n", "err\n")
    r = endpoint.ctl(*run_args(endpoint), "--rm", "-e", "GREETING=hi", "-w", "/tmp", ctl_images.busybox,
                     "sh", "-c", "echo $GREETING $(pwd)")
    assert (r.returncode, r.stdout) == (0, "hi /tmp\n")
    assert endpoint.ok("pods", "-q").stdout == ""
    assert endpoint.ok("ps", "-aq").stdout == ""
    assert not os.path.exists(endpoint.log_dir) or os.listdir(endpoint.log_dir) == []


def test_run_detached_then_ps_logs_exec_stats_inspect_stop_rm(endpoint, ctl_images, tmp_path):
    (tmp_path / "in.txt").write_text("from the host\n")
    cid = endpoint.ok(*run_args(endpoint), "-d", "--name", "ticker", "-v", "%s:/data:ro" % tmp_path,
                      "--memory", "64m", "--cpus", "0.5", ctl_images.busybox, "sh", "-c",
                      "i=0; while true; do echo tick $i; echo tock $i >&2; i=$((i+1)); sleep 0.1; done"
                      ).stdout.strip()
    try:
        assert len(cid) == 64
        time.sleep(1.5)
        ps = endpoint.ok("ps").stdout.splitlines()
        assert ps[0].split()[:2] == ["CONTAINER", "IMAGE"] and cid[:13] in ps[1] and "Running" in ps[1]
        assert endpoint.ok("ps", "-q", "--name", "^tick").stdout.split() == [cid]
        assert endpoint.ok("ps", "-q", "--name", "nothing-like-it").stdout == ""
        pods = json.loads(endpoint.ok("pods", "-o", "json").stdout)["items"]
        assert [p["metadata"]["name"] for p in pods] == ["ticker"] and pods[0]["state"] == "SANDBOX_READY"
        r = endpoint.ok("logs", "--tail", "6", "ticker")      # the last 6 lines of both streams
        out, err = r.stdout.splitlines(), r.stderr.splitlines()
        assert len(out) + len(err) == 6 and len(out) >= 2 and len(err) >= 2
        assert all(x.startswith("tick ") for x in out) and all(x.startswith("tock ") for x in err)
        assert int(out[1].split()[1]) == int(out[0].split()[1]) + 1
        r = endpoint.ok("logs", "-t", "--since", "1s", cid[:12])
        stamps = [line.split()[0] for line in r.stdout.splitlines()]
        assert 3 <= len(stamps) <= 15 and all(s.endswith("Z") for s in stamps)
        assert endpoint.ok("logs", "--since", "2030-01-01T00:00:00Z", "ticker").stdout == ""
        r = endpoint.ctl("exec", "ticker", "sh", "-c", "cat /data/in.txt; exit 3")
        assert (r.returncode, r.stdout) == (3, "from the host\n")
        r = endpoint.ctl("exec", "--sync", "ticker", "sh", "-c", "echo synced; exit 4")
        assert (r.returncode, r.stdout) == (4, "synced\n")
        r = endpoint.ctl("exec", "ticker", "sh", "-c", "touch /data/x")
        assert r.returncode != 0 and "Read-only" in r.stderr
        stats = json.loads(endpoint.ok("stats", "--no-stream", "-o", "json").stdout)["stats"]
        assert [s["attributes"]["id"] for s in stats] == [cid]
        rows = endpoint.ok("stats", "--no-stream").stdout.splitlines()
        assert rows[0].split() == ["CONTAINER", "NAME", "CPU", "%", "MEM", "DISK", "INODES"] and "ticker" in rows[1]
        doc = json.loads(endpoint.ok("inspect", "ticker").stdout)
        assert doc["status"]["id"] == cid and doc["status"]["state"] == "CONTAINER_RUNNING"
        resources = doc["status"].get("resources", {}).get("linux")
        if resources:     # containerd 1.6 reports them; so does gantryd
            assert int(resources["memoryLimitInBytes"]) == 64 << 20 and int(resources["cpuQuota"]) == 50000
        r = endpoint.ctl("rm", "ticker")
        assert r.returncode == 1 and "is running" in r.stderr
        assert endpoint.ok("stop", "-t", "1", "ticker").stdout.split() == [cid]
        assert "Exited" in endpoint.ok("ps", "-a").stdout
        assert endpoint.ok("rm", "ticker").stdout.split() == [cid]
        assert endpoint.ok("ps", "-aq").stdout == ""
        r = endpoint.ok("stopp", "ticker")
        assert "Stopped sandbox" in r.stdout
        assert "NotReady" in endpoint.ok("pods").stdout
    finally:
        endpoint.clean()
    assert endpoint.ok("pods", "-q").stdout == ""


def test_ctrl_c_stops_a_running_container(endpoint, ctl_images):
    proc = endpoint.popen(*run_args(endpoint), "--rm", ctl_images.busybox, "sh", "-c",
                          'trap "echo got TERM; exit 9" TERM; echo ready; while true; do sleep 0.1; done')
    try:
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert (proc.returncode, out) == (9, "got TERM\n"), err
    assert endpoint.ok("pods", "-q").stdout == ""


def _pty_session(endpoint, args, script, timeout=60):
    """Run gantryctl on a terminal, type ``script`` once it prints, return (rc, everything shown)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.executable, [sys.executable, "-m", "gantry.highlevel.ctl", "--endpoint", endpoint.address, *args])
    shown = b""
    typed = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                if not typed and time.monotonic() > deadline - timeout + 3:
                    os.write(fd, script)
                    typed = True
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            shown += data
            if not typed and b"#" in shown:
                os.write(fd, script)
                typed = True
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode("utf-8", "replace")


def test_run_it_gives_a_terminal(endpoint, ctl_images):
    rc, shown = _pty_session(endpoint, [*run_args(endpoint), "-it", "--rm", ctl_images.busybox, "sh"],
                             b"tty; stty size; echo $((6*7)); exit 4\n")
    assert rc == 4, shown
    assert "/dev/pts/" in shown and "42" in shown
    assert endpoint.ok("pods", "-q").stdout == ""


def test_exec_it_and_attach(endpoint, ctl_images):
    endpoint.ok(*run_args(endpoint), "-d", "--name", "shell", "-i", ctl_images.busybox, "sh", "-c",
                "echo started; while read line; do echo got $line; done")
    try:
        rc, shown = _pty_session(endpoint, ["exec", "-it", "shell", "sh"], b"echo $((7*6)); exit 3\n")
        assert rc == 3 and "42" in shown, shown
        r = endpoint.ctl("exec", "-i", "shell", "sh", "-c", "read a; echo read $a; exit 2", input="hello\n")
        assert (r.returncode, r.stdout) == (2, "read hello\n"), r.stderr
        proc = endpoint.popen("attach", "-i", "shell", stdin=subprocess.PIPE)
        proc.stdin.write("ping\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == "got ping\n"
        proc.kill()
        proc.wait()
    finally:
        endpoint.clean()


def test_runp_create_start_from_config_files(endpoint, ctl_images, tmp_path):
    logs = tmp_path / "podlogs"
    (tmp_path / "pod.yaml").write_text(
        "metadata:\n  name: filepod\n  namespace: files\n  uid: filepod-uid\n"
        "log_directory: %s\nlabels:\n  app: files\n" % logs)
    (tmp_path / "ctr.json").write_text(json.dumps({
        "metadata": {"name": "printer"}, "image": {"image": ctl_images.busybox},
        "command": ["sh", "-c", "echo from a file; sleep 30"], "log_path": "printer/0.log"}))
    pod = endpoint.ok("runp", str(tmp_path / "pod.yaml")).stdout.strip()
    try:
        assert endpoint.ok("pods", "-q", "-l", "app=files").stdout.split() == [pod]
        assert endpoint.ok("pods", "-q", "-l", "app=other").stdout == ""
        cid = endpoint.ok("create", pod[:10], str(tmp_path / "ctr.json"), "--pod-config",
                          str(tmp_path / "pod.yaml")).stdout.strip()
        assert "Created" in endpoint.ok("ps", "-a", "--pod", "filepod").stdout
        endpoint.ok("start", cid)
        deadline = time.monotonic() + 10
        while "from a file" not in endpoint.ctl("logs", "printer").stdout:
            assert time.monotonic() < deadline, "no log line"
            time.sleep(0.1)
        assert (logs / "printer" / "0.log").exists()
        doc = json.loads(endpoint.ok("inspectp", "filepod").stdout)
        assert doc["status"]["id"] == pod and doc["status"]["labels"]["app"] == "files"
        endpoint.ok("stop", "-t", "0", "printer")
        assert "Removed sandbox" in endpoint.ok("rmp", "-f", "filepod").stdout
    finally:
        endpoint.clean()


def test_logs_follow_and_rotation(endpoint, ctl_images):
    cid = endpoint.ok(*run_args(endpoint), "-d", "--name", "rotating", ctl_images.busybox, "sh", "-c",
                      "i=0; while [ $i -lt 40 ]; do echo n $i; i=$((i+1)); sleep 0.05; done; sleep 2").stdout.strip()
    try:
        follower = endpoint.popen("logs", "-f", "rotating")
        time.sleep(1.0)
        path = json.loads(endpoint.ok("inspect", cid).stdout)["status"]["logPath"]
        os.rename(path, path + ".1")                # what kubelet's rotation does, then ReopenContainerLog
        channel = grpc.insecure_channel("unix:" + endpoint.address)
        cri_pb2_grpc.RuntimeServiceStub(channel).ReopenContainerLog(
            cri_pb2.ReopenContainerLogRequest(container_id=cid), timeout=30)
        channel.close()
        out, err = follower.communicate(timeout=60)   # ends when the container exits
        expected = ["n %d" % i for i in range(40)]
        assert out.splitlines() == expected, err
        assert os.path.exists(path) and os.path.exists(path + ".1")
        assert endpoint.ok("logs", "rotating").stdout.splitlines() == expected
        assert endpoint.ok("logs", "--tail", "3", "rotating").stdout.splitlines() == expected[-3:]
    finally:
        endpoint.clean()


def test_expected_errors_are_one_line(endpoint, ctl_images):
    for args, message in ((["rm", "no-such-container"], "no such container"),
                          (["stopp", "no-such-pod"], "no such pod"),
                          (["logs", "--since", "soon", "x"], "--since soon"),
                          ([*run_args(endpoint), "--rm", ctl_images.registry.host + "/ctl/none:1"], "ctl/none"),
                          ([*run_args(endpoint), "-p", "8080", "-v", "relative", ctl_images.busybox], "-v relative"),
                          (["exec", "-it", "nothing", "sh"], "no such container")):
        r = endpoint.ctl(*args)
        assert r.returncode == 1 and r.stderr.count("\n") == 1 and message in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr
    assert endpoint.ok("pods", "-q").stdout == ""


def test_port_forward(endpoint, ctl_images):
    """WebSocket port-forward (kubelet's v4 channel form, ``?port=``), which gantryd's streaming server
    takes beside SPDY and SPDY tunnelled in WebSocket."""
    import urllib.request

    ep = endpoint
    ep.ok(*run_args(ep), "-d", "--name", "www", ctl_images.busybox, "sh", "-c",
          "mkdir /www && echo served from the pod > /www/index.html && exec httpd -f -p 80 -h /www")
    forwarder = ep.popen("port-forward", "www", ":80", ":81")
    try:
        lines = [forwarder.stdout.readline() for _ in range(2)]
        assert lines[0].startswith("Forwarding from 127.0.0.1:") and lines[0].endswith(" -> 80\n"), lines
        local = int(lines[0].split(":")[1].split()[0])
        for _ in range(3):       # one PortForward call and one WebSocket per connection
            with urllib.request.urlopen("http://127.0.0.1:%d/index.html" % local, timeout=20) as resp:
                assert resp.read() == b"served from the pod\n"
        refused = int(lines[1].split(":")[1].split()[0])      # nothing listens on 81 in the pod
        with pytest.raises(OSError):
            urllib.request.urlopen("http://127.0.0.1:%d/" % refused, timeout=20).read()
    finally:
        forwarder.send_signal(signal.SIGINT)
        try:
            forwarder.wait(10)
        finally:
            forwarder.kill()
            ep.clean()
    assert forwarder.returncode == 0
