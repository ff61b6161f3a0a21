"""Start-up: make the rows tell the truth again after gantryd was stopped or killed.

Runs before gantryd serves, in this order:

1. a row still ``creating`` is a call that never finished: everything it recorded
   (shim, mounts, snapshot, namespaces, network) is undone and the row deleted; a container
   or pod whose RemoveContainer/RemovePodSandbox had begun releasing (``removing``) is removed
   the same way;
2. every created or running container gets its shim back: a shim that answers
   is asked for the process state (running: a watcher waits for its exit again;
   stopped meanwhile: the exit status and time it kept are recorded); a shim that
   is gone leaves its exit file (recorded), or nothing (exit 255, reason Unknown);
3. a pod whose StopPodSandbox was cut short is stopped (what it still held is released:
   a ready pod never reports an address it gave back); a pod whose pause process died
   is marked not ready;
4. the network releases what belongs to pods that no longer exist.

Containers never wait for any of this: their shims kept running, writing logs
and recording exits while gantryd was away.
"""
import logging

from gantry.api import shim_pb2

from .. import errors, shimclient

log = logging.getLogger("gantry.recovery")


def recover(ctx, pods, containers):
    store = ctx.store
    undone = 0
    for ctr in store.containers():
        if ctr.state == "creating" or ctr.removing:
            containers._undo(ctr)
            undone += 1
    for pod in store.pods():
        if pod.state == "creating" or pod.removing:
            pods._undo(pod)
            undone += 1
    reconnected = exited = 0
    for ctr in store.containers():
        if ctr.state not in ("created", "running"):
            continue
        state = _shim_state(ctr)
        if state is not None and state.status in (shim_pb2.RUNNING, shim_pb2.PAUSED, shim_pb2.CREATED):
            if ctr.state == "running":
                containers.watch(ctr)
            reconnected += 1
        elif state is not None:
            containers.record_exit(ctr.id, state_to_exit(state))
            exited += 1
        else:
            containers.record_exit(ctr.id, shimclient.exit_record(ctr.shim_dir))
            exited += 1
    for pod in store.pods():
        if pod.state == "ready" and pod.stopping:
            try:
                pods.stop(pod.id)
                log.info("finished the interrupted stop of pod %s", pod.id)
            except errors.GantryError as exc:
                log.warning("finish the interrupted stop of pod %s: %s", pod.id, exc)
            continue
        address = pod.infra.get("address")
        if pod.state == "ready" and address and not _alive(ctx, address):
            pod.state = "notready"
            store.put_pod(pod)
    if ctx.network is not None and hasattr(ctx.network, "recover"):
        ctx.network.recover({p.id for p in store.pods()})
    log.info("recovered", extra={"fields": {"undone": undone, "reconnected": reconnected,
                                            "exited_meanwhile": exited}})


class _Exit:
    def __init__(self, state):
        self.exit_status = state.exit_status
        self.exited_at_ns = state.exited_at_ns
        self.reason = state.reason


def state_to_exit(state):
    return _Exit(state)


def _shim_state(ctr):
    address = shimclient.address_in(ctr.shim_dir) or ctr.shim_address
    try:
        return shimclient.ShimClient(address, timeout=10).state()
    except errors.GantryError:
        return None


def _alive(ctx, address):
    try:
        return ctx.shims.client(address, timeout=5).state().status == shim_pb2.RUNNING
    except errors.GantryError:
        return False
