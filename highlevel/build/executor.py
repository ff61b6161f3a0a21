"""The build executor: a parsed Dockerfile -> layers in gantryd's snapshot and content stores -> a tagged image.

    ex = Executor(runtime_ctx, images, store, emit)      # emit(build_pb2.BuildProgress)
    result = ex.build(request)                            # build_pb2.Result; raises domain errors

Order of a build::

    parse (dockerfile.py) -> the stages the target needs (FROM a stage, COPY --from) -> for each:
      base: scratch (empty) | an earlier stage | an image (resolved, else pulled through gantryd)
      ONBUILD triggers of the base, then each instruction:
        metadata (ENV, LABEL, USER, WORKDIR, CMD, ...)  -> the image config and an empty_layer history entry
        RUN, COPY, ADD                                   -> executor_stage.layer_step: cache or a new layer
    config + manifest -> content store -> record_image under the tags (CRI ListImages sees it)

Every error raised while an instruction runs is re-raised with the same
kind and ``Dockerfile:<line>: <instruction>:`` in front, so the client
sees which line failed.  A RUN that exits non-zero is FailedPrecondition
with its exit code (its output was streamed before).
"""
from __future__ import annotations

import os
import platform as platmod
import shutil
import threading
import time
import uuid

from gantry.api import build_pb2

from .. import errors
from ..images import reference
from . import executor_instr
from .cache import LayerCache
from .context import BuildContext
from .executor_config import MANIFEST_MEDIA_TYPE, manifest

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


def host_platform():
    return ("linux", _ARCH.get(platmod.machine(), platmod.machine()), "")


def parse_platform(text, where="build platform"):
    if not text:
        return host_platform()
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise errors.InvalidArgument("%s %r: expected os/arch[/variant]" % (where, text))
    return (parts[0], parts[1], parts[2] if len(parts) == 3 else "")


class Executor:
    def __init__(self, ctx, images, store, emit):
        self.ctx = ctx                  # runtime.context.RuntimeContext (shims, handlers, state)
        self.images = images            # images.service.ImageService (resolve, pull, config)
        self.store = store              # images.store.ImageStore
        self.emit = emit
        self.cache = LayerCache(store)
        self.no_cache = False
        self.compression = "gzip"
        self.source_date_epoch = None
        self.network = "none"
        self.work_dir = None
        self.platform = host_platform()
        self.step_no = 0
        self.total = 0
        self._running = None            # the shim client of the RUN step in progress
        self._lock = threading.Lock()
        self.cancelled = False

    # -- the build -----------------------------------------------------------------------
    def build(self, req):
        from .dockerfile import parse

        self.no_cache = req.no_cache
        self.compression = req.compression or "gzip"
        self.network = req.network or "none"
        self.platform = host_platform()
        if self.network not in ("none", "host"):
            raise errors.InvalidArgument("build network %r: none or host" % req.network)
        if parse_platform(req.platform)[:2] != host_platform()[:2]:
            raise errors.InvalidArgument("build platform %s: only this machine's platform %s can run build steps"
                                         % (req.platform, "/".join(host_platform()[:2])))
        epoch = req.build_args.get("SOURCE_DATE_EPOCH")
        if epoch:
            if not epoch.isdigit():
                raise errors.InvalidArgument("build arg SOURCE_DATE_EPOCH=%r: not a number of seconds" % epoch)
            self.source_date_epoch = int(epoch)
        tags = [self._tag_name(t) for t in req.tags]
        context = self._context(req.context_path)
        text = req.dockerfile_text or self._read_dockerfile(context, req.dockerfile_path or "Dockerfile")
        dockerfile = parse(text)
        self.work_dir = os.path.join(self.ctx.state, "builds", "b-" + uuid.uuid4().hex[:16])
        os.makedirs(self.work_dir, mode=0o700)
        try:
            return self._build(dockerfile, context, req, tags)
        finally:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def _build(self, dockerfile, context, req, tags):
        from . import scope, stages

        plat = "/".join(p for p in self.platform if p)
        global_scope = scope.GlobalScope(dockerfile, dict(req.build_args), scope.builtin_args(plat))
        order = stages.select(dockerfile, req.target, global_scope)
        self.total = sum(len(dockerfile.stages[r.index].instructions) + 1 for r in order)
        results = {}
        for refs in order:
            results[refs.index] = executor_instr.StageBuilder(self, dockerfile, refs, context, global_scope,
                                                              results).run()
        return self._commit(results[order[-1].index], tags)

    # -- helpers the instructions use ----------------------------------------------------------
    def step(self, st, text, line, cached=False, seconds=0.0, done=False):
        self.emit(build_pb2.BuildProgress(step=build_pb2.Step(
            stage=st.name or str(st.index), index=self.step_no, total=self.total, text=text, line=line,
            cached=cached, seconds=seconds, done=done)))

    def output(self, which, data):
        self.emit(build_pb2.BuildProgress(output=build_pb2.Output(index=self.step_no, stderr=which == "stderr",
                                                                  data=data)))

    def base_image(self, ref, where):
        """(image id, config dict, [LayerRecord]) of ``ref``, pulled through gantryd when missing."""
        image_id = self.images.resolve(ref)
        if image_id is None:
            self.emit(build_pb2.BuildProgress(output=build_pb2.Output(
                index=self.step_no, data=("pulling %s\n" % ref).encode())))
            try:
                image_id = self.images.pull(ref)
            except errors.GantryError as exc:
                raise errors.NotFound("%s: base image %s: not stored and pull failed: %s" % (where, ref, exc)) from None
        rec = self.store.meta.get_image(image_id)
        if rec is None:
            raise errors.NotFound("%s: image %s vanished" % (where, ref))
        return image_id, self.store.config(image_id), list(rec.layers)

    def running(self, client):
        """executor_run's report of the RUN in progress (None: it ended)."""
        with self._lock:
            self._running = client
            cancelled = self.cancelled
        if client is not None and cancelled:
            self._kill(client)

    def cancel(self):
        """The client went away: kill the RUN in progress (the build stops at its next step)."""
        with self._lock:
            self.cancelled = True
            client = self._running
        if client is not None:
            self._kill(client)

    @staticmethod
    def _kill(client):
        import signal

        try:
            client.kill(signal.SIGKILL, all=True)
        except errors.GantryError:
            pass                           # already gone

    # -- the result -------------------------------------------------------------------------
    def _commit(self, st, tags):
        created = self.source_date_epoch if self.source_date_epoch is not None else time.time()
        config_bytes = st.cfg.to_bytes(created)
        with self.store.lease() as lease:
            config_digest = _put(self.store, lease, config_bytes)
            manifest_bytes = manifest(config_digest, len(config_bytes), st.layers)
            manifest_digest = _put(self.store, lease, manifest_bytes)
            for digest, _mt, _size in st.layers:
                lease.add_content(digest)
            image_id = self.store.record_image([(t, "tag") for t in tags], manifest_digest, MANIFEST_MEDIA_TYPE,
                                               config_digest, st.layers)
        return build_pb2.Result(image_id=image_id, manifest_digest=manifest_digest, tags=tags,
                                layers=len(st.layers))

    @staticmethod
    def _tag_name(tag):
        try:
            return reference.parse(tag).tagged_name()
        except errors.InvalidArgument as exc:
            raise errors.InvalidArgument("build tag %r: %s" % (tag, exc)) from None

    @staticmethod
    def _read_dockerfile(context, rel):
        path = rel if os.path.isabs(rel) else os.path.join(context.root, rel)
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        except OSError as e:
            raise errors.NotFound("Dockerfile %s: %s" % (path, e.strerror)) from None
        except UnicodeDecodeError:
            raise errors.InvalidArgument("Dockerfile %s: not UTF-8 text" % path) from None

    @staticmethod
    def _context(root):
        from .ignore import load

        context = BuildContext(root)           # checks the path first
        return BuildContext(root, load(context.root))


def _put(store, lease, data):
    import hashlib

    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    lease.add_content(digest)
    return store.content.put_bytes(data, digest)
