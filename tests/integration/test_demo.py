"""`make demo` keeps working: the README's main job, run against a scratch root, through CRI end to end."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# the host's network namespace is shared: a bridge and CIDR of the demo test's own
NETWORK = '[network]\nbridge = "gtdemo0"\npod_cidr = "10.251.90.0/24"\n'


def demo(tmp_path, *extra, root=None):
    (tmp_path / "gantryd.toml").write_text(NETWORK)
    argv = [sys.executable, "-m", "tests.demo_stack", "--config", str(tmp_path / "gantryd.toml"),
            "--address", str(tmp_path / "gantryd.sock"),
            "--root", root or str(tmp_path / "root"), "--state", str(tmp_path / "state"),
            "--log-dir", str(tmp_path / "logs"), "--gantryd-log", str(tmp_path / "gantryd.log"),
            "--no-systemd", "--stop", *extra]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.root
@pytest.mark.slow
def test_make_demo_runs_a_container_through_cri(tmp_path):
    out = demo(tmp_path)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:] + "\ngantryd.log:\n" + (tmp_path / "gantryd.log").read_text()[-3000:]
    # every step, in order, with what the container printed (its output streams through gantryctl run)
    steps = ["== 1/5 filesystems", "== 2/5 gantryd as a background service", "== 3/5 an image without internet",
             "import ", "== 4/5 containers through CRI", "run --rm", "pid:       1\n", "image:     built by make demo",
             "rootfs:    overlay", "exit code 0", "run -d --name gantry-demo", "== 5/5", "ps -a", "pods",
             "tick ", "demo OK", "gantryd stopped"]   # (which ticks --tail 2 shows depends on the load)
    at = 0
    for text in steps:
        found = out.stdout.find(text, at)
        assert found >= 0, "%r missing after offset %d:\n%s" % (text, at, out.stdout)
        at = found
    assert "to stderr" in out.stderr                     # the container's stderr went to gantryctl's stderr
    assert "pid file %s" % (tmp_path / "state" / "gantryd.pid") in out.stdout
    assert "Traceback" not in log
    # the CRI listings showed the detached container and its pod, running
    listing = out.stdout[out.stdout.index("== 5/5"):]
    assert "gantry-demo" in listing and "Running" in listing and "Ready" in listing
    # --stop left nothing: no gantryd serving the socket, the pid file gone
    assert not (tmp_path / "gantryd.sock").exists()
    assert not (tmp_path / "state" / "gantryd.pid").exists()


@pytest.mark.root
@pytest.mark.kernel("overlay")
def test_a_root_on_overlayfs_is_refused_in_one_line(tmp_path):
    """The demo and gantryd itself both say what to do before starting anything."""
    for d in ("lower", "upper", "work", "merged"):
        (tmp_path / d).mkdir()
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", "lowerdir=%s,upperdir=%s,workdir=%s" % (
        tmp_path / "lower", tmp_path / "upper", tmp_path / "work"), str(tmp_path / "merged")], check=True)
    try:
        bad_root = str(tmp_path / "merged" / "gantry")
        out = demo(tmp_path, root=bad_root)
        assert out.returncode == 1
        failed = [line for line in out.stdout.splitlines() if line.startswith("demo FAILED")]
        assert failed == ["demo FAILED: root %s is on overlayfs, which cannot hold overlay upper dirs or whiteouts: "
                          "mount a tmpfs or a disk there first (mkdir -p %s && mount -t tmpfs -o size=4g tmpfs %s) "
                          "or use --root DIR on another filesystem" % (bad_root, bad_root, bad_root)], out.stdout
        assert "== 2/5" not in out.stdout and not (tmp_path / "gantryd.log").exists()

        gantryd = os.path.join(os.path.dirname(sys.executable), "gantryd")
        out = subprocess.run([gantryd, "--root", bad_root, "--state", str(tmp_path / "state"),
                              "--address", str(tmp_path / "g.sock")], capture_output=True, text=True, timeout=60)
        assert out.returncode == 1
        assert "gantryd: root %s is on overlayfs" % bad_root in out.stderr
        assert "Traceback" not in out.stderr
        assert not os.path.exists(bad_root)              # refused before anything was made
    finally:
        subprocess.run(["umount", str(tmp_path / "merged")], check=False)
