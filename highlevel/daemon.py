"""gantryd: the composition root of the CRI daemon.

    gantryd [--config FILE] [--address PATH] [--root DIR] [--state DIR]
            [--registry-config-dir DIR] [--log-level L] [--print-systemd-unit]

Start-up, in order: settings (defaults < TOML file < flags, see config.py);
logfmt logs on stderr (logfmt.py); the root's filesystem (fscheck.py: overlay upper
dirs must be able to live there); the root and state directories; the images
facade; the CRI services; the gRPC server on the unix socket (server.py); then a
background garbage collection that clears what a crash left (collect_leftovers).
SIGTERM or SIGINT stops serving (in-flight calls get a few seconds, then are
cancelled), removes the socket and exits 0, within about ten seconds even when
a handler is stuck (the stores are crash-safe, so it does not wait for it).  A configuration or start-up error is one clear line
on stderr and exit status 1.
"""
import argparse
import logging
import os
import signal
import sys
import threading

from . import config as configmod
from . import errors

log = logging.getLogger("gantry.daemon")
STOP_GRACE_SECONDS = 5.0   # running calls finish or are cancelled after this
STOP_DRAIN_SECONDS = 5.0   # then their handler threads get this long to return
DIR_MODE = 0o711


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="gantryd", description="Gantry CRI daemon (Kubernetes CRI runtime.v1 over a unix socket)",
        epilog="Every option can also be set in the TOML file; flags win over the file.")
    p.add_argument("--version", action="version", version="gantryd %s" % runtime_version())
    p.add_argument("--config", metavar="FILE",
                   help="TOML configuration file (default: %s if it exists)" % configmod.DEFAULT_CONFIG_FILE)
    p.add_argument("--address", metavar="PATH", help="unix socket to serve CRI on (default: %s)" % configmod.Config.address)
    p.add_argument("--root", metavar="DIR", help="persistent state directory (default: %s)" % configmod.Config.root)
    p.add_argument("--state", metavar="DIR", help="runtime state directory (default: %s)" % configmod.Config.state)
    p.add_argument("--registry-config-dir", metavar="DIR",
                   help="registry hosts.toml directory, containerd layout (default: %s)"
                   % configmod.Config.registry_config_dir)
    p.add_argument("--log-level", metavar="L", choices=configmod.LOG_LEVELS, type=str.lower,
                   help="one of %s (default: info)" % ", ".join(configmod.LOG_LEVELS))
    p.add_argument("--print-systemd-unit", action="store_true",
                   help="print a systemd unit that runs this gantryd with the other flags given, then exit "
                        "(gantryd --print-systemd-unit > /etc/systemd/system/gantryd.service)")
    return p.parse_args(argv)


def print_systemd_unit(argv, out):
    """The unit text for this gantryd, with argv's flags minus --print-systemd-unit."""
    import shutil

    from .systemdunit import unit_text

    me = os.path.realpath(shutil.which(sys.argv[0]) or sys.argv[0])
    out.write(unit_text(me, [a for a in argv if a != "--print-systemd-unit"]))
    return 0


def runtime_version():
    try:
        from importlib.metadata import version

        return version("gantry")
    except Exception:  # noqa: BLE001 - running from a tree without metadata
        return "0.0.0+unknown"


def open_images(cfg):
    """The images facade over ``<root>/images`` (content, metadata, snapshots)."""
    from .images.service import ImageService as ImagesFacade
    from .images.store import ImageStore

    store = ImageStore(os.path.join(cfg.root, "images"))
    return ImagesFacade(store, puller=make_puller(cfg)), store


def make_puller(cfg):
    """The registry side of pulls, configured from cfg (registry dir, concurrency, stall timeout)."""
    from .images.pull import Puller

    return Puller.from_config(cfg)


_root_lock = None  # the open lock file: held for the life of the process


def lock_root(root):
    """One gantryd per root: an exclusive flock on ``<root>/gantryd.lock`` (it holds our pid).

    The kernel drops the lock when the process dies, however it dies, so a
    kill -9 never leaves a root locked."""
    import fcntl

    global _root_lock
    path = os.path.join(root, "gantryd.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
        os.close(fd)
        raise errors.FailedPrecondition("lock %s: root is in use by another gantryd (pid %s)" % (path, owner)) \
            from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, b"%d\n" % os.getpid(), 0)
    _root_lock = fd


def build(cfg):
    """Services and server for a config (nothing served yet); returns (server, store, runtime)."""
    from dataclasses import asdict

    from gantry.api import cri_pb2_grpc

    from . import imagetools
    from .build import service as build_service
    from .cri.image_service import ImageService
    from .cri.runtime_service import RuntimeService
    from .fscheck import overlay_problem
    from .server import CriServer

    problem = overlay_problem(cfg.root)
    if problem:
        raise errors.FailedPrecondition(problem)
    for directory in (cfg.root, cfg.state):
        os.makedirs(directory, mode=DIR_MODE, exist_ok=True)
    lock_root(cfg.root)
    images, store = open_images(cfg)
    runtime = open_runtime(cfg, images, store)
    service = RuntimeService(runtime_version(), readiness=runtime.readiness, config_info=asdict(cfg),
                             cgroup_driver=cfg.cgroup_driver, pods=runtime.pods, containers=runtime.containers,
                             ctx=runtime.ctx, streaming=runtime.streaming)
    image_service = ImageService(images, pulls_dir=os.path.join(cfg.state, "pulls"))

    def register(server):
        cri_pb2_grpc.add_RuntimeServiceServicer_to_server(service, server)
        cri_pb2_grpc.add_ImageServiceServicer_to_server(image_service, server)
        imagetools.register(server, runtime, cfg)    # tag, commit, push (proto/imagetools.proto)
        build_service.register(server, runtime, images, store)

    return CriServer(cfg.address, register), store, runtime


def open_runtime(cfg, images, image_store):
    """Pods and containers: the store, the shims, handlers, network; recovered from what is on disk."""
    from .runtime.assemble import Runtime

    return Runtime.open(cfg, images, image_store)


def collect_leftovers(store):
    """Start-up garbage collection, in a background thread (returned): it frees what a gantryd
    killed mid-pull left behind (its extraction snapshots and temporary directories, whose owner
    process is gone: see images/owner.py; snapshot directories without a row) and anything no
    image or lease refers to.  Partial downloads stay for a later pull to resume (they expire
    after a day).  Serving does not wait for it: a pull meanwhile only waits for the store lock
    at its end."""
    def run():
        try:
            result = store.gc()
        except Exception as exc:  # noqa: BLE001 - a failed sweep is retried by the next removal
            log.warning("start-up gc failed", extra={"fields": {"error": str(exc)}})
            return
        log.info("start-up gc done", extra={"fields": {
            "snapshots": len(result.snapshots), "orphans": len(result.orphans), "blobs": len(result.blobs),
            "ingests": len(result.ingests)}})

    thread = threading.Thread(target=run, name="startup-gc", daemon=True)
    thread.start()
    return thread


def wait_until_set(stop, poll=60.0):
    """Block the main thread until ``stop`` is set by a signal handler.

    A signal sent to the process may be delivered to any thread, and gRPC's threads do not block
    SIGTERM.  When another thread takes it, CPython runs the Python-level handler only once the
    main thread executes bytecode again; a main thread asleep in ``Event.wait(3600)`` would not,
    for an hour (seen in CI: SIGTERM ignored).  The C-level handler, whichever thread runs it,
    writes to the wakeup fd, which wakes this select at once; ``poll`` only bounds the worst case.
    """
    import select

    r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    previous = signal.set_wakeup_fd(w)
    try:
        while not stop.is_set():
            select.select([r], [], [], poll)
            try:
                os.read(r, 4096)
            except BlockingIOError:
                pass
    finally:
        signal.set_wakeup_fd(previous)
        os.close(r)
        os.close(w)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.print_systemd_unit:
        return print_systemd_unit(argv, sys.stdout)
    flags = {"address": args.address, "root": args.root, "state": args.state,
             "registry_config_dir": args.registry_config_dir, "log_level": args.log_level}
    try:
        cfg = configmod.load(args.config, flags)
    except errors.GantryError as exc:
        sys.stderr.write("gantryd: %s\n" % exc)
        return 1
    from . import logfmt

    logfmt.setup(cfg.log_level)
    stop = threading.Event()

    def on_signal(signum, frame):
        log.info("signal received, shutting down", extra={"fields": {"signal": signal.Signals(signum).name}})
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        server, store, runtime = build(cfg)
        server.start()
    except Exception as exc:  # noqa: BLE001 - any start-up failure is one clear line and exit 1
        log.error("start failed", extra={"fields": {"error": str(exc)}})
        sys.stderr.write("gantryd: %s\n" % exc)
        return 1
    log.info("gantryd started", extra={"fields": {"version": runtime_version(), "pid": os.getpid(),
                                                  "root": cfg.root, "state": cfg.state}})
    gc_thread = collect_leftovers(store)
    wait_until_set(stop)
    drained = server.stop(STOP_GRACE_SECONDS, STOP_DRAIN_SECONDS)
    gc_thread.join(STOP_DRAIN_SECONDS)
    if not drained or gc_thread.is_alive():
        # a handler thread is still busy (a pull blocked on a registry) or the start-up gc still
        # deletes trees: the store is crash-safe, so leave without waiting for it rather than
        # hang in the interpreter's thread join
        log.warning("gantryd stopped with calls still running")
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    runtime.close()
    store.close()
    log.info("gantryd stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
