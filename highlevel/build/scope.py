"""ARG and ENV scoping, and the expansion of each instruction, step by step.

    GlobalScope(df, build_args, builtin)   the ARGs before the first FROM (and the builtin
                                           TARGETPLATFORM, BUILDARCH, ...): visible in FROM only
    StageScope(global_scope, env)          one stage: ``env`` is what the base image (or base
                                           stage) set; ``step(instr)`` returns the instruction
                                           with its values expanded and records ARG and ENV

What BuildKit expands: ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME WORKDIR (and ARG
defaults).  RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK are left to the shell; ONBUILD
triggers are kept as written (they expand in the build that runs them).  In a stage an ARG is
visible from its declaration on; ``ARG NAME`` without a default takes the build arg, else the
global ARG's value; ENV wins over an ARG of the same name.  RUN sees the stage's ENV plus its
ARG values (``run_env``); only ENV goes into the image config (``env``).
"""
import re
from dataclasses import replace

from . import expand
from .model import Arg, Copy, DockerfileError, Env, Expose, Label, StopSignal, User, Volume, Workdir

# build args RUN sees without an ARG line (BuildKit's predefined proxy args)
PROXY_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
              "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")
_CHMOD = re.compile(r"^[0-7]{3,4}$")
_PORT = re.compile(r"^[0-9]{1,5}(-[0-9]{1,5})?(/(tcp|udp|sctp))?$", re.I)


def builtin_args(target_platform, build_platform=None):
    """TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT and the BUILD* ones from
    ``os/arch[/variant]`` strings."""
    out = {}
    for prefix, platform in (("TARGET", target_platform), ("BUILD", build_platform or target_platform)):
        os_, _, rest = platform.partition("/")
        arch, _, variant = rest.partition("/")
        out.update({prefix + "PLATFORM": platform, prefix + "OS": os_, prefix + "ARCH": arch,
                    prefix + "VARIANT": variant})
    return out


def _expand(instr, text, env, escape):
    try:
        return expand.expand_word(text, env, escape)
    except expand.ExpandError as e:
        raise DockerfileError(instr.line, "%s: %s" % (instr.kind, e)) from None


class GlobalScope:
    """The ARGs before the first FROM, resolved: build arg if given, else the default
    (expanded with the ARGs above it), else unset."""

    def __init__(self, df, build_args=None, builtin=None):
        self.df = df
        self.build_args = dict(build_args or {})
        self.builtin = dict(builtin or {})
        self.values = dict(self.builtin)
        self.declared = set()
        for instr in df.args_before_from:
            for name, default in instr.args.pairs:
                self.declared.add(name)
                if name in self.build_args:
                    self.values[name] = self.build_args[name]
                elif default is not None:
                    self.values[name] = _expand(instr, default, self.values, df.escape)

    def from_line(self, stage):
        """``(base, platform)`` of the stage's FROM, expanded with the global ARGs."""
        env = self.values
        fake = _Where(stage.line, "FROM")
        base = _expand(fake, stage.base, env, self.df.escape)
        if not base.strip():
            raise DockerfileError(stage.line, "base name (%s) should not be blank" % stage.base)
        platform = None
        if stage.platform is not None:
            platform = _expand(fake, stage.platform, env, self.df.escape) or None
        return base, platform


class _Where:
    def __init__(self, line, kind):
        self.line, self.kind = line, kind


class StageScope:
    """One stage's ARG and ENV, advanced one instruction at a time by ``step``."""

    def __init__(self, global_scope, env=()):
        self.global_scope = global_scope
        self.escape = global_scope.df.escape
        self.env = dict(_pairs(env))       # the image config's Env, in order
        self.args = {}                     # ARGs declared in this stage: name -> value or None
        self._now = {}                     # lookup() as the current step began

    def lookup(self):
        """What ``$NAME`` sees now: the stage's ARG values, then ENV over them."""
        out = {k: v for k, v in self.args.items() if v is not None}
        out.update(self.env)
        return out

    def run_env(self):
        """The environment of a RUN step: ENV, plus ARG values ENV does not set, plus the proxy
        build args; a list of ``K=V`` like an image config's Env."""
        out = dict(self.env)
        for name, value in self.args.items():
            if value is not None and name not in out:
                out[name] = value
        for name in PROXY_ARGS:
            if name in self.global_scope.build_args and name not in out:
                out[name] = self.global_scope.build_args[name]
        return ["%s=%s" % kv for kv in out.items()]

    def config_env(self):
        return ["%s=%s" % kv for kv in self.env.items()]

    def step(self, instr):
        """The instruction with its values expanded (a new Instruction); ARG and ENV also
        change this scope.  Raises DockerfileError naming the line."""
        handler = _STEPS.get(type(instr.args))
        if handler is None:
            return instr
        self._now = self.lookup()
        return replace(instr, args=handler(self, instr))

    # -- per payload --------------------------------------------------------------------
    def _word(self, instr, text):
        return _expand(instr, text, self._now, self.escape)

    def _arg(self, instr):
        g = self.global_scope
        pairs = []
        for name, default in instr.args.pairs:
            if name in g.build_args:
                value = g.build_args[name]
            elif default is not None:
                value = self._word(instr, default)
            elif name in g.values:
                value = g.values[name]
            else:
                value = None
            self.args[name] = value
            if name not in self.env:
                if value is None:
                    self._now.pop(name, None)
                else:
                    self._now[name] = value
            pairs.append((name, value))
        return Arg(tuple(pairs))

    def _env(self, instr):
        # the whole line expands with the values before it (``ENV a=b c=$a``: c sees the old a)
        pairs = tuple((self._word(instr, k), self._word(instr, v)) for k, v in instr.args.pairs)
        if any(not k for k, _ in pairs):
            raise DockerfileError(instr.line, "ENV names can not be blank")
        self.env.update(pairs)
        return Env(pairs)

    def _label(self, instr):
        pairs = tuple((self._word(instr, k), self._word(instr, v)) for k, v in instr.args.pairs)
        if any(not k for k, _ in pairs):
            raise DockerfileError(instr.line, "LABEL names can not be blank")
        return Label(pairs)

    def _copy(self, instr):
        c = instr.args
        word = lambda text: None if text is None else self._word(instr, text)  # noqa: E731
        chmod = word(c.chmod)
        if chmod is not None and not _CHMOD.match(chmod):
            raise DockerfileError(instr.line, "%s --chmod=%s: only octal modes (like 0755) are supported"
                                  % (instr.kind, chmod))
        sources = tuple(word(s) for s in c.sources)
        if instr.kind == "ADD":
            for src in sources:
                if src.lower().startswith(("http://", "https://", "git@", "git://")):
                    raise DockerfileError(instr.line, "ADD from a URL is not supported: %s" % src)
        docs = []
        for doc in c.heredocs:
            if doc.expand:
                try:
                    doc = replace(doc, content=expand.expand_raw(doc.content, self._now))
                except expand.ExpandError as e:
                    raise DockerfileError(instr.line, "%s <<%s: %s" % (instr.kind, doc.name, e)) from None
            docs.append(doc)
        dest = word(c.dest)
        if not dest:
            raise DockerfileError(instr.line, "%s: the destination is empty" % instr.kind)
        return replace(c, sources=sources, dest=dest, from_=word(c.from_), chown=word(c.chown), chmod=chmod,
                       heredocs=tuple(docs), exclude=tuple(word(x) for x in c.exclude))

    def _expose(self, instr):
        ports = []
        env = self._now
        for text in instr.args.ports:
            try:
                ports.extend(expand.expand_words(text, env, self.escape))
            except expand.ExpandError as e:
                raise DockerfileError(instr.line, "EXPOSE: %s" % e) from None
        for port in ports:
            if not _PORT.match(port):
                raise DockerfileError(instr.line, "EXPOSE: invalid port %r (want port[-port][/tcp|udp|sctp])"
                                      % port)
        return Expose(tuple(ports))

    def _single(field, cls):  # noqa: N805 - a helper that builds methods
        def step(self, instr):
            value = self._word(instr, getattr(instr.args, field))
            if not value:
                raise DockerfileError(instr.line, "%s: empty after expansion (%s)"
                                      % (instr.kind, getattr(instr.args, field)))
            return cls(value)
        return step

    def _volume(self, instr):
        paths = tuple(self._word(instr, p) for p in instr.args.paths)
        if any(not p.strip() for p in paths):
            raise DockerfileError(instr.line, "VOLUME specified can not be an empty string")
        return Volume(paths)


def _pairs(env):
    if isinstance(env, dict):
        return list(env.items())
    out = []
    for item in env:
        name, _, value = item.partition("=")
        out.append((name, value))
    return out


_STEPS = {
    Arg: StageScope._arg,
    Env: StageScope._env,
    Label: StageScope._label,
    Copy: StageScope._copy,
    Expose: StageScope._expose,
    User: StageScope._single("user", User),
    Workdir: StageScope._single("path", Workdir),
    StopSignal: StageScope._single("signal", StopSignal),
    Volume: StageScope._volume,
}


def unused_build_args(df, build_args):
    """The build args no ARG of the file declares (BuildKit warns: "were not consumed"),
    sorted; the proxy args never count as unused."""
    declared = {name for instr in df.args_before_from for name, _ in instr.args.pairs}
    for stage in df.stages:
        for instr in stage.instructions:
            if instr.kind == "ARG":
                declared.update(name for name, _ in instr.args.pairs)
    return sorted(set(build_args) - declared - set(PROXY_ARGS))
