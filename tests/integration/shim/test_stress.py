"""Stress: sequential create/start/exit/delete cycles through template-forked
shims leave no zombie, fd, mount, cgroup or state file behind.

100 cycles per runtime here; GANTRY_SHIM_STRESS_CYCLES=1000 for the long run."""
import os
import time

import pytest
from gantry.highlevel import shimclient
from gantry.shim import cgroup

from tests.integration.shim.conftest import wait_for, zombie_children

pytestmark = pytest.mark.root
CYCLES = int(os.environ.get("GANTRY_SHIM_STRESS_CYCLES", "100"))


def mounts(*needles):
    """Mount points (as this process sees them) that mention one of needles.  The machine
    is shared: other tests mount and unmount meanwhile, so only ours are compared."""
    with open("/proc/self/mountinfo") as f:
        return sorted(p for p in (line.split()[4] for line in f) if any(n in p for n in needles))


def container_cgroups(pid, cid):
    """The cgroup directories the runtime made for the container (named after its id, the
    default cgroupsPath), as this process sees them; the machine's other cgroups are not ours."""
    with open("/proc/%d/cgroup" % pid) as f, open("/proc/self/mountinfo") as m:
        dirs = cgroup.parse(f.read(), m.read())
    return {d for d in dirs.values() if os.path.basename(d) == cid}


def test_cycles_leave_nothing_behind(shim_env):
    bundle_dir, _ = shim_env.bundle(["true"], name="stress")
    template = shimclient.start_template(os.path.join(shim_env.dir, "tpl.sock"), executable=shim_env.launcher[0])
    try:
        t = shimclient.TemplateClient(os.path.join(shim_env.dir, "tpl.sock"))
        prefix = "stress-%d-" % os.getpid()
        before = (len(os.listdir("/proc/self/fd")), mounts(shim_env.dir, prefix))
        state_root = os.path.join(shim_env.dir, "s")
        shim_pids = []
        made_cgroups = set()
        start = time.monotonic()
        for i in range(CYCLES):
            cid = prefix + str(i)
            r = t.spawn(cid, bundle_dir, shim_env.runtime, os.path.join(state_root, cid),
                        runtime_root=shim_env.runtime_root, log_path=os.path.join(shim_env.dir, "stress.log"))
            shim_pids.append(r.pid)
            c = shimclient.ShimClient(r.address, timeout=30)
            made_cgroups |= container_cgroups(c.create(), cid)
            c.start()
            assert c.wait(timeout=30).exit_status == 0
            wait_for(lambda r=r: not zombie_children(r.pid), timeout=5, what="the shim to reap every child")
            c.delete()
        elapsed = time.monotonic() - start
        wait_for(lambda: not any(os.path.exists("/proc/%d" % p) for p in shim_pids), timeout=30,
                 what="every shim to exit and be reaped")
        assert not zombie_children(template.pid)  # the template reaped its short-lived children
        assert len(os.listdir("/proc/self/fd")) == before[0]
        assert mounts(shim_env.dir, prefix) == before[1]
        assert len(made_cgroups) >= CYCLES  # the check below is not vacuous
        assert [d for d in sorted(made_cgroups) if os.path.exists(d)] == []
        assert not os.path.exists(state_root) or os.listdir(state_root) == []
        assert os.listdir(shim_env.runtime_root) == [] if os.path.exists(shim_env.runtime_root) else True
        print("%d cycles with %s: %.1f ms per cycle" % (CYCLES, shim_env.runtime_name, elapsed * 1000 / CYCLES))
    finally:
        template.kill()
        template.wait()
