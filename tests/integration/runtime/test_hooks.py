"""The hook points a plugin system (NRI) gets, in-process: their order, and a failing hook leaves nothing."""
import os

import pytest
from gantry.highlevel import config as configmod
from gantry.highlevel import errors
from gantry.highlevel.daemon import open_images
from gantry.highlevel.runtime.assemble import Runtime
from gantry.highlevel.runtime.hooks import Hooks

from .criclient import container_config, pod_config

pytestmark = [pytest.mark.root]


class Recorder(Hooks):
    def __init__(self):
        self.calls = []
        self.fail = None

    def __getattribute__(self, name):
        attr = object.__getattribute__(self, name)
        if name in ("calls", "fail") or name.startswith("_") or not callable(attr):
            return attr

        def hook(*args):
            self.calls.append(name)
            if self.fail == name:
                raise errors.FailedPrecondition("hook %s refused" % name)
            return attr(*args)
        return hook


@pytest.fixture
def runtime(tmp_path, busybox_ref):
    cfg = configmod.resolve({"root": str(tmp_path / "root"), "state": str(tmp_path / "state"),
                             "registry_config_dir": busybox_ref[2], "network_mode": "none"})
    os.makedirs(cfg.root)
    images, store = open_images(cfg)
    images.pull(busybox_ref[0])
    rt = Runtime.open(cfg, images, store)
    rt.ctx.hooks = Recorder()
    yield rt
    for pod in rt.ctx.store.pods():
        rt.pods.remove(pod.id)
    rt.close()
    store.close()


def test_hooks_in_lifecycle_order_and_failures_leave_nothing(runtime, busybox_ref):
    hooks = runtime.ctx.hooks
    pcfg = pod_config()
    pod = runtime.pods.run(pcfg)
    ctr = runtime.containers.create(pod.id, container_config(busybox_ref[0], command=["sleep", "100"]))
    runtime.containers.start(ctr.id)
    runtime.containers.stop(ctr.id, timeout=0)
    runtime.containers.remove(ctr.id)
    runtime.pods.stop(pod.id)
    runtime.pods.remove(pod.id)
    assert hooks.calls == ["run_pod_sandbox", "create_container", "post_create_container", "start_container",
                           "post_start_container", "stop_container", "remove_container", "stop_pod_sandbox",
                           "remove_pod_sandbox"]
    hooks.fail = "run_pod_sandbox"
    with pytest.raises(errors.FailedPrecondition, match="refused"):
        runtime.pods.run(pod_config())
    assert runtime.ctx.store.pods() == [] and os.listdir(os.path.join(runtime.ctx.state, "pods")) == []
    hooks.fail = "create_container"
    pod = runtime.pods.run(pod_config())
    with pytest.raises(errors.FailedPrecondition, match="refused"):
        runtime.containers.create(pod.id, container_config(busybox_ref[0], command=["true"]))
    assert runtime.ctx.store.containers() == []
    assert os.listdir(os.path.join(runtime.ctx.state, "containers")) == []
    assert os.listdir(os.path.join(runtime.ctx.state, "shims")) == []
    hooks.fail = None
    runtime.containers.create(pod.id, container_config(busybox_ref[0], command=["true"]))   # a retry works
