"""One RUN step in a container, through gantry-shim and the OCI runtime, exactly as gantryd runs containers.

    status = run_container(ctx, rootfs, RunSpec(...), on_output)   # -> exit status (int)

The exchange with the shim (proto/shim.proto), in order::

    template Spawn(id, bundle, runtime)  -> a shim for this step
    Create                               -> the runtime's `create` (namespaces, mounts, the process waits)
    Attach(stdout, stderr)               -> output from now on, as (stream, bytes)
    Start                                -> the runtime's `start`: the command runs
    ... output chunks -> on_output(stream_name, data) ...
    Wait                                 -> the exit status
    Delete(force) + the shim exits       (Shims.release: also on every error path)

``rootfs`` is the mounted overlay snapshot of the step (the caller prepares and
mounts it, and turns its upper dir into the layer afterwards).  The bundle
(config.json) lives under ``<state>/builds/<id>/`` and goes with the step.
The runtime is gantryd's default handler (gantry-oci unless configured).
"""
import json
import logging
import os
import shutil

from .. import errors
from ..runtime import handlers as handlermod
from .executor_spec import run_spec

log = logging.getLogger("gantry.build.run")
WAIT_GRACE_SECONDS = 30.0


def run_container(ctx, rootfs, req, on_output, on_started=None):
    """Run ``req`` (executor_spec.RunSpec, its id/rootfs filled here) on ``rootfs``; returns the exit status.

    ``on_started(client)`` gets the shim client once the process runs (the build keeps it to
    kill the step when its client goes away)."""
    run_id = ctx.new_id()
    req.id, req.rootfs = run_id, rootfs
    bundle = os.path.join(ctx.state, "builds", run_id)
    shim_dir = ctx.shim_dir(run_id)
    handler = handlermod.pick(ctx.handlers, "", "build RUN")
    os.makedirs(bundle, mode=0o711)
    address = ""
    try:
        req.scripts = {name: _write_script(bundle, name, content) for name, content in req.scripts.items()}
        spec = run_spec(req, ctx.spec_defaults)
        _write_json(os.path.join(bundle, "config.json"), spec)
        address = ctx.shims.spawn(run_id, bundle, handler, shim_dir)
        client = ctx.shims.client(address)
        client.create()
        with client.attach(stdout=True, stderr=True) as stream:
            client.start()
            if on_started is not None:
                on_started(client)
            for which, data in stream:
                on_output(which, data)
        status = client.wait(timeout=WAIT_GRACE_SECONDS)
        return status.exit_status
    finally:
        if on_started is not None:
            on_started(None)
        try:
            ctx.shims.release(run_id, bundle, shim_dir, address)
        except errors.GantryError as exc:
            log.warning("build RUN cleanup failed", extra={"fields": {"id": run_id, "error": str(exc)}})
        shutil.rmtree(bundle, ignore_errors=True)


def _write_script(bundle, name, content):
    """A heredoc script beside the bundle, executable (it is bound read-only into the container)."""
    path = os.path.join(bundle, "pipe-" + name)
    with open(path, "w") as f:
        f.write(content)
    os.chmod(path, 0o755)
    return path


def _write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)


def clean_leftovers(ctx, store):
    """After a crash: RUN containers, mounts and step snapshots a killed gantryd left behind.

    Only one gantryd serves a root (daemon.lock_root), so at start-up every ``build-*``
    snapshot and every entry of ``<state>/builds`` is a leftover: shims are told to delete
    their container, mounts are undone, snapshots and directories removed."""
    from ..images import snapshots as snapmod

    builds = os.path.join(ctx.state, "builds")
    for name in sorted(os.listdir(builds)) if os.path.isdir(builds) else []:
        path = os.path.join(builds, name)
        try:
            if os.path.exists(os.path.join(path, "config.json")):
                ctx.shims.release(name, path, ctx.shim_dir(name))
            for mounted in sorted(snapmod.mounts_below(path), key=len, reverse=True):
                snapmod.unmount(mounted)
            if not snapmod.mounts_below(path):
                shutil.rmtree(path, ignore_errors=True)
        except Exception as exc:  # noqa: BLE001 - one leftover must not stop the others
            log.warning("build leftover not removed", extra={"fields": {"path": path, "error": str(exc)}})
    for rec in store.meta.snapshots():
        if rec.key.startswith("build-") and rec.kind != "committed":
            try:
                store.snapshots.remove(rec.key)
            except errors.GantryError as exc:
                log.warning("build snapshot not removed", extra={"fields": {"key": rec.key, "error": str(exc)}})
