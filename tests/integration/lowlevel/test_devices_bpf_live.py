"""The cgroup v2 device filter on the real kernel: a process in the cgroup can
open /dev/null but not a kmsg node; update swaps the program (one attached)."""
import os
import subprocess
import sys
import uuid

import pytest
from gantry.lowlevel.cgroups.layout import V2, detect
from gantry.lowlevel.cgroups.manager import Manager
from gantry.lowlevel.syscalls import get

pytestmark = pytest.mark.root

PARENT = "gantry-itest-bpf-%d" % os.getpid()


@pytest.fixture
def layout():
    layout = detect()
    if layout.unified is None:
        pytest.skip("no cgroup2 hierarchy")
    yield layout
    parent = os.path.join(layout.unified.mountpoint, PARENT)
    if os.path.isdir(parent):
        for d, _dirs, _ in os.walk(parent, topdown=False):
            os.rmdir(d)


def _v2_manager(layout, cid):
    """A pure-v2 manager on the cgroup2 hierarchy (here mounted at /sys/fs/cgroup/unified)."""
    root = layout.unified.mountpoint
    return Manager(V2, {}, os.path.join(root, PARENT, cid), set(layout.unified_controllers), root)


def test_v2_device_filter_denies_and_allows(layout, tmp_path):
    cid = uuid.uuid4().hex[:8]
    m = _v2_manager(layout, cid)
    m.create()
    m.apply({"devices": [{"allow": False, "access": "rwm"}]})
    os.mknod(str(tmp_path / "kmsg"), 0o600 | 0o020000, os.makedev(1, 11))
    os.mknod(str(tmp_path / "null"), 0o600 | 0o020000, os.makedev(1, 3))
    script = ("import os,sys\nopen('%s/cgroup.procs','w').write(str(os.getpid()))\n"
              "out=[]\n"
              "for name in ('null','kmsg'):\n"
              "    try:\n        os.close(os.open(sys.argv[1]+'/'+name, os.O_RDONLY|os.O_NONBLOCK)); out.append('ok')\n"
              "    except OSError as e: out.append(e.strerror)\n"
              "print(' '.join(out))\n") % m.unified
    run = subprocess.run([sys.executable, "-S", "-c", script, str(tmp_path)], capture_output=True, text=True,
                         timeout=30)
    assert run.stdout.split(" ", 1) == ["ok", "Operation not permitted\n"], run.stderr
    # update: allow kmsg too; the old program is replaced, not stacked
    m.apply({"devices": [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 1, "minor": 11,
                                                            "access": "r"}]})
    run = subprocess.run([sys.executable, "-S", "-c", script, str(tmp_path)], capture_output=True, text=True,
                         timeout=30)
    assert run.stdout.strip() == "ok ok", run.stderr

    fd = os.open(m.unified, os.O_RDONLY)
    try:
        assert len(get().bpf_prog_query(fd, 6)) == 1
    finally:
        os.close(fd)
    m.destroy()


