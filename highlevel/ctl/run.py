"""run: docker's ``run`` over CRI, the way a kubelet would do it.

    image      ImageStatus; PullImage when missing (--pull missing|always|never), progress on stderr
    pod        RunPodSandbox: name = --name (or random), log directory <--log-dir>/<ns>_<name>_<uid>,
               -p port mappings, --runtime handler
    container  CreateContainer (runflags/configs: CMD, -e, -v, --user, --workdir, --memory, --cpus)
               + StartContainer
    then       -d: print the id and leave it running
               -i/-t: attach over the streaming URL (stdin, terminal, its size)
               else: follow the container's CRI log file, stdout to stdout and stderr to stderr
    end        wait for the exit (exitwatch.py: GetContainerEvents, subscribed before StartContainer,
               ContainerStatus behind it), exit with its code; --rm: StopPodSandbox and
               RemovePodSandbox (which stop and remove the pod's containers, as CRI says), then
               the log directory

Ctrl-C (or SIGTERM) asks StopContainer (10 s grace, the image's stop signal first); a second
one kills at once.  Anything failing before the container runs removes what was made.
"""
import os
import shutil
import signal
import sys
import threading

from gantry.api import cri_pb2

from . import configs, containers, pods
from .client import CtlError
from .exitwatch import ExitWatch

STOP_GRACE = 10


def cmd_run(client, args, out):
    if args.cmd and args.cmd[0] == "--":
        args.cmd = args.cmd[1:]
    name = args.name or configs.random_name("run")
    pod_cfg = configs.pod_config(name, log_dir=args.log_dir, publish=args.publish)
    if args.privileged:
        pod_cfg.linux.security_context.privileged = True
    ctr_cfg = configs.container_config(args, name)    # flags are checked before anything is made
    ensure_image(client, args.image, args.pull, args.timeout, pod_cfg)
    os.makedirs(pod_cfg.log_directory, mode=0o755, exist_ok=True)
    made = Made(client, pod_cfg.log_directory)
    watch = None
    try:
        made.pod = client.call("run: RunPodSandbox", client.runtime.RunPodSandbox,
                               cri_pb2.RunPodSandboxRequest(config=pod_cfg, runtime_handler=args.runtime),
                               timeout=max(client.timeout, pods.POD_TIMEOUT)).pod_sandbox_id
        made.ctr = containers.create(client, made.pod, ctr_cfg, pod_cfg)
        if not args.detach:
            watch = ExitWatch(client, made.ctr)
        containers.start(client, made.ctr)
    except BaseException:
        if watch is not None:
            watch.close()
        made.remove()
        raise
    if args.detach:
        out.write(made.ctr + "\n")
        return 0
    stopper = Stopper(client, made.ctr)
    previous = {s: signal.signal(s, stopper.on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if args.interactive or args.tty:
            _attach(client, made.ctr, args)
        else:
            from . import logs

            st = containers.status(client, made.ctr).status
            logs.follow(client, made.ctr, st.log_path, logs.Sink(), watch=watch)
        code = wait_exit(client, made.ctr, watch)
    finally:
        watch.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
        if args.rm:
            made.remove()
    return code


def _attach(client, cid, args):
    from .attach import attach

    try:
        attach(client, cid, "run: attach", args.interactive, args.tty)
    except CtlError:
        containers.stop(client, cid, 0)
        raise


def ensure_image(client, ref, policy, timeout, pod_cfg):
    from .images import image_status, pull

    present = image_status(client, ref).HasField("image")
    if policy == "never" and not present:
        raise CtlError("run: image %s is not present and --pull never" % ref)
    if policy == "always" or not present:
        pull(client, ref, timeout=timeout, sandbox_config=pod_cfg)


def wait_exit(client, cid, watch):
    """The container's exit code, once ``watch`` (an ExitWatch) saw the exit recorded."""
    watch.wait()
    return containers.status(client, cid).status.exit_code


class Made:
    """What run made, removed in reverse (each step's failure does not stop the next)."""

    def __init__(self, client, log_dir):
        self.client, self.log_dir = client, log_dir
        self.pod = self.ctr = None

    def remove(self):
        """The pod goes with its container: CRI's StopPodSandbox stops the pod's containers and
        RemovePodSandbox removes them (gantryd's pods.py; containerd and CRI-O alike)."""
        errors = []
        steps = []
        if self.pod:
            steps += [lambda: pods.stop_pod(self.client, self.pod), lambda: pods.remove_pod(self.client, self.pod)]
        for step in steps:
            try:
                step()
            except CtlError as exc:
                errors.append(str(exc))
        if self.pod:
            shutil.rmtree(self.log_dir, ignore_errors=True)
        for e in errors:
            sys.stderr.write("gantryctl: cleanup: %s\n" % e)


class Stopper:
    """SIGINT/SIGTERM while the container runs: StopContainer with a grace, then at once."""

    def __init__(self, client, cid):
        self.client, self.cid = client, cid
        self.count = 0

    def on_signal(self, signum, frame):
        self.count += 1
        grace = STOP_GRACE if self.count == 1 else 0
        threading.Thread(target=self._stop, args=(grace,), daemon=True).start()

    def _stop(self, grace):
        try:
            containers.stop(self.client, self.cid, grace)
        except CtlError as exc:
            sys.stderr.write("gantryctl: %s\n" % exc)
