"""Each Dockerfile instruction applied to a stage: metadata into the config, RUN/COPY/ADD into layers.

    st = StageBuilder(executor, dockerfile, refs, context, global_scope, results).run()

``refs`` is the stage's stages.StageRefs (its base: scratch, an image or an
earlier stage; where each COPY --from reads).  Variables are the parser's:
scope.StageScope expands each instruction before it is applied (ADD, COPY,
ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR) and gives RUN its
environment (ENV plus the stage's ARG values); RUN, CMD and ENTRYPOINT are
left to the shell.  Only ENV reaches the image config.
"""
from __future__ import annotations

import posixpath
import time

from .. import errors
from ..runtime import userinfo
from . import executor_copy as cp
from .context import has_glob
from .executor_config import DEFAULT_PATH, ImageConfig
from .executor_run import run_container
from .executor_spec import PIPES_DIR, RunSpec
from .executor_stage import StageState, layer_step, view_of
from .scope import StageScope


class StageBuilder:
    def __init__(self, ex, dockerfile, refs, context, global_scope, results):
        self.ex = ex
        self.df = dockerfile
        self.refs = refs
        self.stage = dockerfile.stages[refs.index]
        self.context = context
        self.global_scope = global_scope
        self.results = results
        self.st = None
        self.scope = None

    # -- the stage -----------------------------------------------------------------------
    def run(self):
        from .dockerfile import parse_trigger

        where = "Dockerfile:%d: FROM" % self.stage.line
        started = time.monotonic()
        self.ex.step_no += 1
        base, platform = self.global_scope.from_line(self.stage)
        if platform and tuple(platform.split("/"))[:2] != tuple(self.ex.platform[:2]):
            raise errors.InvalidArgument("%s --platform=%s: only this machine's platform (%s) can run build steps"
                                         % (where, platform, "/".join(self.ex.platform[:2])))
        text = "FROM %s%s" % (base, " AS " + self.stage.name if self.stage.name else "")
        self.ex.step(StageState(self.stage.name, self.stage.index, None), text, self.stage.line)
        self.st = self._from(where)
        self.scope = StageScope(self.global_scope, self.st.cfg.env)
        self.ex.step(self.st, text, self.stage.line, seconds=time.monotonic() - started, done=True)
        for trigger in self.st.cfg.take_onbuild():
            self._instruction(parse_trigger(trigger, self.df.escape), onbuild=True)
        for instr in self.stage.instructions:
            self.ex.step_no += 1
            self._instruction(instr)
        return self.st

    def _from(self, where):
        plat = self.ex.platform
        if self.refs.base_stage is not None:
            prev = self.results[self.refs.base_stage]
            cfg = ImageConfig.from_base(prev.cfg.doc, plat)
            return StageState(self.stage.name, self.stage.index, cfg, list(prev.layers), prev.chain,
                              shell=list(prev.shell))
        if self.refs.base_image == "scratch":
            return StageState(self.stage.name, self.stage.index, ImageConfig.from_base(None, plat))
        _image_id, config, layers = self.ex.base_image(self.refs.base_image, where)
        return StageState(self.stage.name, self.stage.index, ImageConfig.from_base(config, plat),
                          [(lr.digest, lr.media_type, lr.size) for lr in layers],
                          layers[-1].chain_id if layers else None)

    def _instruction(self, instr, onbuild=False):
        started = time.monotonic()
        label = ("ONBUILD " if onbuild else "") + instr.original
        self.ex.step(self.st, label, instr.line)
        try:
            instr = self.scope.step(instr)
            cached = getattr(self, "_do_" + instr.kind.lower())(instr)
        except errors.GantryError as exc:
            message = str(exc)
            if not message.startswith("Dockerfile"):
                message = "Dockerfile:%d: %s: %s" % (instr.line, instr.kind, message)
            raise type(exc)(message) from None
        except ValueError as exc:                  # bad numbers and the like
            raise errors.InvalidArgument("Dockerfile:%d: %s: %s" % (instr.line, instr.kind, exc)) from None
        self.ex.step(self.st, label, instr.line, cached=bool(cached), seconds=time.monotonic() - started,
                     done=True)

    def _history(self, text, empty_layer=True):
        self.st.cfg.add_history(text, empty_layer, self.ex.source_date_epoch)

    # -- metadata ------------------------------------------------------------------------
    def _do_arg(self, instr):
        self.st.args.update(dict(instr.args.pairs))     # the scope has them; kept for the record

    def _do_env(self, instr):
        self.st.cfg.set_env(self.scope.config_env())
        self._history("ENV " + " ".join("%s=%s" % kv for kv in instr.args.pairs))

    def _do_label(self, instr):
        labels = dict(instr.args.pairs)
        self.st.cfg.add_labels(labels)
        self._history("LABEL " + " ".join("%s=%s" % kv for kv in labels.items()))

    def _do_maintainer(self, instr):
        self.st.cfg.doc["author"] = instr.args.name
        self._history("MAINTAINER " + instr.args.name)

    def _do_user(self, instr):
        user = instr.args.user
        self.st.cfg.set("User", user)
        self._history("USER " + user)

    def _do_workdir(self, instr):
        path = instr.args.path
        current = self.st.cfg.config.get("WorkingDir") or "/"
        full = posixpath.normpath(posixpath.join(current, path))
        self.st.cfg.set("WorkingDir", full)
        self._history("WORKDIR " + full)

    def _command(self, args):
        return list(args.args) if args.exec_form else self.st.shell + [args.args[0]]

    def _do_cmd(self, instr):
        argv = self._command(instr.args)
        self.st.cfg.set_cmd(argv)
        self._history("CMD %s" % _json(argv))

    def _do_entrypoint(self, instr):
        argv = self._command(instr.args)
        self.st.cfg.set_entrypoint(argv)
        self._history("ENTRYPOINT %s" % _json(argv))

    def _do_shell(self, instr):
        self.st.shell = list(instr.args.args)
        self._history("SHELL %s" % _json(self.st.shell))

    def _do_expose(self, instr):
        ports = [p.lower() if "/" in p else p + "/tcp" for p in instr.args.ports]
        self.st.cfg.add_ports(ports)
        self._history("EXPOSE " + " ".join(ports))

    def _do_volume(self, instr):
        paths = list(instr.args.paths)
        self.st.cfg.add_volumes(paths)
        self._history("VOLUME %s" % _json(paths))

    def _do_stopsignal(self, instr):
        sig = instr.args.signal
        self.st.cfg.set("StopSignal", sig)
        self._history("STOPSIGNAL " + sig)

    def _do_healthcheck(self, instr):
        h = instr.args
        check = {"Test": list(h.test)}
        for key, value in (("Interval", h.interval), ("Timeout", h.timeout), ("StartPeriod", h.start_period),
                           ("StartInterval", h.start_interval), ("Retries", h.retries)):
            if value is not None:
                check[key] = value
        self.st.cfg.set("Healthcheck", check)
        self._history("HEALTHCHECK " + " ".join(h.test))

    def _do_onbuild(self, instr):
        expression = instr.args.expression
        self.st.cfg.add_onbuild(expression)
        self._history("ONBUILD " + expression)

    # -- RUN -----------------------------------------------------------------------------
    def _do_run(self, instr):
        run = instr.args
        shebang = False
        if run.exec_form:
            argv = list(run.args)
        else:
            script, shebang = run.script()
            # a bare ``RUN <<EOF`` whose body starts with #! runs as that program (BuildKit's way)
            if shebang and (run.heredocs[0].name in (".", "..") or "/" in run.heredocs[0].name):
                raise errors.InvalidArgument("heredoc name %r cannot name a file" % run.heredocs[0].name)
            argv = [posixpath.join(PIPES_DIR, run.heredocs[0].name)] if shebang else self.st.shell + [script]
        cfg = self.st.cfg.config
        env = self.scope.run_env()
        if not any(e.startswith("PATH=") for e in env):
            env.insert(0, DEFAULT_PATH)             # as BuildKit: a RUN always has a PATH
        network = self.ex.network if run.network == "default" else run.network
        user, workdir = cfg.get("User") or "", cfg.get("WorkingDir") or "/"
        text = "RUN " + (script if not run.exec_form and shebang else " ".join(argv))   # the cache key's part
        state = {"env": env, "user": user, "workdir": workdir, "network": network}

        def apply(rootfs):
            cp.secure_join(rootfs, workdir, create_dirs=True)
            spec = RunSpec(id="", rootfs=rootfs, args=argv, env=env, cwd=workdir,
                           user=userinfo.resolve(rootfs, None, user), network=network,
                           scripts={run.heredocs[0].name: script} if shebang else {})
            code = run_container(self.ex.ctx, rootfs, spec, self.ex.output, self.ex.running)
            if code != 0:
                raise errors.FailedPrecondition("%s: exit code %d" % (" ".join(argv), code))

        cached = layer_step(self.ex, self.st, text, [], state, apply)
        self._history(text + " # buildkit", empty_layer=False)
        return cached

    # -- COPY and ADD --------------------------------------------------------------------
    def _do_copy(self, instr):
        return self._copy(instr)

    def _do_add(self, instr):
        return self._copy(instr)

    def _copy(self, instr):
        c = instr.args
        for flag, value in (("--exclude", c.exclude), ("--checksum", c.checksum), ("--keep-git-dir", c.keep_git_dir)):
            if value:
                raise errors.Unimplemented("%s is not supported" % flag)
        where = "Dockerfile:%d: %s" % (instr.line, instr.kind)
        sources, dest, chown = list(c.sources), c.dest, c.chown or None
        chmod = int(c.chmod, 8) if c.chmod else None
        workdir = self.st.cfg.config.get("WorkingDir") or "/"
        target = cp.container_dest(dest, workdir)
        several = len(sources) + len(c.heredocs) > 1 or any(has_glob(s) for s in sources)
        if several and not target.endswith("/"):
            raise errors.InvalidArgument("%s with more than one source file: the destination %s must be a "
                                         "directory and end with a /" % (instr.kind, dest))
        src_root, release, digests, keep_owner = self._sources(instr, sources, where)
        try:
            if src_root is None:
                matched = self.context.match(sources, where)
                host = [self.context.path(m) for m in matched]
                digests = [self.context.digest(matched)]
            else:
                host = _match_in(src_root, sources, where)
            digests += ["heredoc:%s:%s" % (h.name, h.content) for h in c.heredocs]
            text = "%s %s%s%s" % (instr.kind, "--from=%s " % c.from_ if c.from_ else "",
                                  " ".join(sources + ["<<" + h.name for h in c.heredocs]), " " + target)
            state = {"chown": chown, "chmod": c.chmod, "workdir": workdir}
            is_add = instr.kind == "ADD"

            def apply(rootfs):
                attrs = cp.Attrs(chown=self._owner(rootfs, chown) if chown else None, chmod=chmod,
                                 keep_owner=keep_owner)
                skip = self.context.skip if src_root is None else None
                _copy_into(rootfs, host, target, attrs, is_add and src_root is None, self.ex.work_dir, skip)
                for h in c.heredocs:
                    _write_heredoc(rootfs, target, h, attrs)

            cached = layer_step(self.ex, self.st, text, digests, state, apply)
        finally:
            release()
        self._history(text + " # buildkit", empty_layer=False)
        return cached

    def _sources(self, instr, sources, where):
        """(source root or None for the context, release, digests, keep owners) of a COPY."""
        if instr.kind != "COPY" or not instr.args.from_:
            return None, lambda: None, [], False
        kind, ref = self.refs.copy_from[instr.line]
        if kind == "stage":
            chain = self.results[ref].chain
            identity = "stage:" + (chain or "scratch")
        else:
            image_id, _config, layers = self.ex.base_image(ref, where)
            chain = layers[-1].chain_id if layers else None
            identity = "image:" + image_id
        path, release = view_of(self.ex, chain, "copy-from")
        return path, release, [identity, "paths:" + "\0".join(sources)], True

    @staticmethod
    def _owner(rootfs, chown):
        user = userinfo.resolve(rootfs, None, chown)
        if ":" not in chown and chown.isdigit():
            return user.uid, user.uid                  # --chown=55 is 55:55, as Docker
        return user.uid, user.gid


def _json(argv):
    import json

    return json.dumps(argv)


def _match_in(root, sources, where):
    """Host paths in a mounted stage/image tree the sources name (symlinks resolved inside it; globs on names)."""
    import fnmatch
    import os

    out = []
    for src in sources:
        parent, _, name = posixpath.normpath("/" + src).rpartition("/")
        if has_glob(name):
            base = cp.secure_join(root, parent or "/")
            found = sorted(os.path.join(base, n) for n in (os.listdir(base) if os.path.isdir(base) else [])
                           if fnmatch.fnmatchcase(n, name))
        else:
            path = cp.secure_join(root, src)
            found = [path] if os.path.lexists(path) else []
        if not found:
            raise errors.InvalidArgument("%s: %s: not found in the --from tree" % (where, src))
        out.extend(found)
    return out


def _copy_into(rootfs, host_sources, target, attrs, add, scratch, skip=None):
    import os
    import stat

    into_dir = target.endswith("/")
    for src in host_sources:
        st = os.lstat(src)
        if stat.S_ISDIR(st.st_mode):
            dest = cp.secure_join(rootfs, target, create_dirs=True, owner=attrs.chown)
            _chown_top(dest, attrs)
            for name in sorted(os.listdir(src)):
                cp.copy_entry(os.path.join(src, name), os.path.join(dest, name), attrs, skip)
            continue
        if add and stat.S_ISREG(st.st_mode) and cp.is_archive(src):
            dest = cp.secure_join(rootfs, target, create_dirs=True, owner=attrs.chown)
            cp.add_archive(src, dest, attrs, scratch)
            continue
        existing = cp.secure_join(rootfs, target)
        if into_dir or os.path.isdir(existing):
            dest_dir = cp.secure_join(rootfs, target, create_dirs=True, owner=attrs.chown)
            cp.copy_entry(src, os.path.join(dest_dir, os.path.basename(src)), attrs)
        else:
            parent = cp.secure_join(rootfs, posixpath.dirname(target), create_dirs=True, owner=attrs.chown)
            cp.copy_entry(src, os.path.join(parent, posixpath.basename(target)), attrs)


def _chown_top(path, attrs):
    import os

    if attrs.chown is not None:
        os.chown(path, *attrs.chown)


def _write_heredoc(rootfs, target, heredoc, attrs):
    import os

    content = heredoc.content
    if target.endswith("/"):
        dest = os.path.join(cp.secure_join(rootfs, target, create_dirs=True, owner=attrs.chown), heredoc.name)
    else:
        dest = os.path.join(cp.secure_join(rootfs, posixpath.dirname(target), create_dirs=True, owner=attrs.chown),
                            posixpath.basename(target))
    cp._clear(dest)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(content)
    os.chown(dest, *(attrs.chown or (0, 0)))
    os.chmod(dest, attrs.chmod if attrs.chmod is not None else 0o644)
