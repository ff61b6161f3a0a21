"""The gRPC adapter of the build API (proto/build.proto): request -> Executor -> a stream of progress.

    register(server, runtime, images, store)     # adds the Builder service to gantryd's gRPC server

``Build`` runs the executor in a worker thread of its own and yields what it
emits (steps, RUN output, the result) as it comes; a domain error raised by
the executor ends the stream through gantryd's one error interceptor
(server.py), with the message naming the Dockerfile line.  A client that
goes away stops the build: the RUN in progress is killed (SIGKILL to its
container), and the next progress event the executor emits ends it; the steps
finished before stay in the cache.
"""
import logging
import queue
import threading

from gantry.api import build_pb2, build_pb2_grpc

from .. import errors

log = logging.getLogger("gantry.build")
_DONE = object()


class _Cancelled(Exception):
    pass


class BuilderService(build_pb2_grpc.BuilderServicer):
    def __init__(self, runtime_ctx, images, store):
        self.ctx = runtime_ctx
        self.images = images
        self.store = store

    def Build(self, request, context):
        from .executor import Executor

        events = queue.Queue(maxsize=256)
        outcome = {}
        cancelled = threading.Event()

        def emit(progress):
            if cancelled.is_set():
                raise _Cancelled()
            events.put(progress)

        executor = Executor(self.ctx, self.images, self.store, emit)

        def on_rpc_end():                     # grpc calls it when the call ends, also on a client gone
            if not outcome:
                cancelled.set()
                executor.cancel()

        context.add_callback(on_rpc_end)

        def work():
            try:
                outcome["result"] = executor.build(request)
            except _Cancelled:
                log.info("build cancelled by the client")
            except BaseException as exc:  # noqa: BLE001 - handed to the stream below
                outcome["error"] = exc
            finally:
                events.put(_DONE)

        worker = threading.Thread(target=work, name="build", daemon=True)
        worker.start()
        try:
            while True:
                item = events.get()
                if item is _DONE:
                    break
                yield item
        finally:
            cancelled.set()
            if worker.is_alive():
                executor.cancel()
            while worker.is_alive():          # unblock a worker waiting on a full queue
                try:
                    events.get(timeout=0.1)
                except queue.Empty:
                    pass
        if "error" in outcome:
            raise outcome["error"]
        if "result" not in outcome:
            raise errors.Internal("Build: the executor ended without a result")
        yield build_pb2.BuildProgress(result=outcome["result"])


def register(server, runtime, images, store):
    """Serve the Builder service on gantryd's gRPC server (call from daemon.build's register);
    first clears what builds of a killed gantryd left (executor_run.clean_leftovers)."""
    from .executor_run import clean_leftovers

    clean_leftovers(runtime.ctx, store)
    build_pb2_grpc.add_BuilderServicer_to_server(BuilderService(runtime.ctx, images, store), server)
