"""One logical line to one ``Instruction``: the keyword, its flags, its typed payload.

``PARSERS`` maps each keyword to the function that builds its payload from ``Line`` (the
arguments after the flags, the flags, the heredocs).  Errors raise ``DockerfileError`` naming
the line.  FROM is parsed here too (``from_payload``); ``dockerfile.py`` turns it into a Stage.
"""
import re
from dataclasses import dataclass

from . import durations, words
from .heredoc import parse_heredoc_word, split_words
from .model import (
    Arg,
    Command,
    Copy,
    DockerfileError,
    Env,
    Expose,
    Healthcheck,
    Instruction,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    StopSignal,
    User,
    Volume,
    Workdir,
)

NETWORK_MODES = ("default", "none", "host")
_CHMOD = re.compile(r"^[0-7]{3,4}$")
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9\-_.]*$")
_SPACE = " \t\v\f\r\n"


@dataclass
class Line:
    kind: str
    rest: str
    flags: dict
    heredocs: tuple
    escape: str
    lineno: int

    def error(self, message):
        return DockerfileError(self.lineno, message)


# flag name -> "str" | "bool" | "strings" (may repeat), per keyword; anything else is unknown
FLAGS = {
    "FROM": {"platform": "str"},
    "RUN": {"network": "str", "mount": "strings", "security": "str"},
    "COPY": {"from": "str", "chown": "str", "chmod": "str", "link": "bool", "parents": "bool",
             "exclude": "strings"},
    "ADD": {"chown": "str", "chmod": "str", "link": "bool", "keep-git-dir": "bool", "checksum": "str",
            "exclude": "strings", "from": "str"},
    "HEALTHCHECK": {"interval": "str", "timeout": "str", "start-period": "str", "start-interval": "str",
                    "retries": "str"},
}


def _flags(kind, pairs, lineno):
    allowed = FLAGS.get(kind, {})
    out = {}
    for name, value in pairs:
        typ = allowed.get(name)
        if typ is None:
            raise DockerfileError(lineno, "Unknown flag: %s" % name)
        if typ == "strings":
            if value is None or value == "":
                raise DockerfileError(lineno, "Missing a value on flag: --%s" % name)
            out[name] = out[name] + "\n" + value if name in out else value
            continue
        if name in out:
            raise DockerfileError(lineno, "Duplicate flag specified: %s" % name)
        if typ == "bool":
            value = "true" if value is None else value.lower()
            if value not in ("true", "false"):
                raise DockerfileError(lineno, "expecting boolean value for flag %s, not: %s" % (name, value))
        elif value is None or value == "":
            raise DockerfileError(lineno, "Missing a value on flag: --%s" % name)
        out[name] = value
    return out


def parse_line(text, lineno, escape="\\", heredocs=(), end_line=0):
    """One logical line to an Instruction (FROM included, as a ``From`` payload)."""
    stripped = text.strip(_SPACE)
    parts = stripped.split(None, 1)
    if not parts:
        raise DockerfileError(lineno, "empty instruction")
    kind = parts[0].upper()
    rest = parts[1].strip(_SPACE) if len(parts) > 1 else ""
    parser = PARSERS.get(kind)
    if parser is None:
        raise DockerfileError(lineno, "unknown instruction %s" % parts[0])
    if kind in FLAGS:
        try:
            pairs, rest = words.split_flags(rest)
        except ValueError as e:
            raise DockerfileError(lineno, str(e)) from None
        flags = _flags(kind, pairs, lineno)
    else:
        flags = {}
    line = Line(kind, rest, flags, tuple(heredocs), escape, lineno)
    try:
        payload = parser(line)
    except ValueError as e:
        raise DockerfileError(lineno, str(e)) from None
    return Instruction(kind, lineno, stripped, payload, flags, end_line or lineno)


# -- payloads -------------------------------------------------------------------------------


class From:
    """FROM's payload before it becomes a Stage (not kept in a stage's instructions)."""

    def __init__(self, base, name, platform):
        self.base, self.name, self.platform = base, name, platform


def from_payload(line):
    args = line.rest.split()
    if len(args) not in (1, 3) or (len(args) == 3 and args[1].lower() != "as"):
        raise line.error("FROM requires either one or three arguments (FROM image [AS name])")
    name = None
    if len(args) == 3:
        name = args[2].lower()
        if not _STAGE_NAME.match(name):
            raise line.error("invalid name for build stage: %r, name can't start with a number or contain symbols"
                             % args[2])
    return From(args[0], name, line.flags.get("platform"))


def _need(line, what="at least one argument"):
    return line.error("%s requires %s" % (line.kind, what))


def _maybe_json(line):
    """(args, exec_form): the JSON array, or the whole rest as one shell string."""
    array = words.json_form(line.rest)
    if array is not None:
        return tuple(array), True
    return ((line.rest,), False) if line.rest else ((), False)


def run_payload(line):
    if "mount" in line.flags:
        raise line.error("RUN --mount is not supported (cache, secret, ssh and bind mounts: none in gantry builds)")
    security = line.flags.get("security", "sandbox")
    if security != "sandbox":
        raise line.error("RUN --security=%s is not supported (only sandbox)" % security)
    network = line.flags.get("network", "default")
    if network not in NETWORK_MODES:
        raise line.error("RUN --network=%s is not supported (default, none or host)" % network)
    args, exec_form = _maybe_json(line)
    if not args:
        raise _need(line)
    if line.heredocs and exec_form:
        raise line.error("RUN in exec form cannot take heredocs")
    return Run(args, exec_form, network, line.heredocs)


def command_payload(line):
    args, exec_form = _maybe_json(line)
    if not args and not exec_form:
        raise _need(line)
    return Command(args, exec_form)


def shell_payload(line):
    array = words.json_form(line.rest)
    if array is None:
        raise line.error("SHELL requires the arguments to be in JSON form")
    if not array:
        raise _need(line)
    return Shell(tuple(array))


def _list(line):
    array = words.json_form(line.rest)
    return (array, True) if array is not None else (line.rest.split(), False)


def copy_payload(line):
    if line.kind == "ADD" and "from" in line.flags:
        raise line.error("ADD does not take --from (use COPY --from)")
    if line.flags.get("parents") == "true":
        raise line.error("%s --parents is not supported" % line.kind)
    args, exec_form = _list(line)
    if len(args) < 2:
        raise line.error("%s requires at least two arguments, but only %d %s provided"
                         % (line.kind, len(args), "was" if len(args) == 1 else "were"))
    *sources, dest = args
    if not exec_form and parse_heredoc_word(dest) is not None:
        raise line.error("%s cannot accept a heredoc as a destination" % line.kind)
    paths, inline, docs = [], [], list(line.heredocs)
    for src in sources:
        found = None if exec_form else parse_heredoc_word(src)
        if found is None:
            paths.append(src)
            continue
        if not docs or docs[0].name != found[0]:
            raise line.error("%s: heredoc %s has no body" % (line.kind, src))
        inline.append(docs.pop(0))
    if line.kind == "ADD":
        for src in paths:
            if _is_url(src):
                raise line.error("ADD from a URL is not supported: %s" % src)
    chmod = line.flags.get("chmod")
    if chmod is not None and "$" not in chmod and not _CHMOD.match(chmod):
        raise line.error("%s --chmod=%s: only octal modes (like 0755) are supported" % (line.kind, chmod))
    exclude = tuple(line.flags["exclude"].split("\n")) if "exclude" in line.flags else ()
    return Copy(tuple(paths), dest, line.flags.get("from"), line.flags.get("chown"), chmod,
                line.flags.get("link") == "true", tuple(inline), exclude, line.flags.get("checksum"),
                line.flags.get("keep-git-dir") == "true")


def _is_url(src):
    lower = src.lower()
    return lower.startswith(("http://", "https://", "git@", "git://"))


def env_payload(line):
    pairs = words.name_values(line.rest, line.escape, line.kind)
    if not pairs:
        raise _need(line)
    return (Env if line.kind == "ENV" else Label)(tuple(pairs))


def arg_payload(line):
    ws = words.kv_words(line.rest, line.escape)
    if not ws:
        raise _need(line)
    pairs = []
    for word in ws:
        name, eq, value = word.partition("=")
        if not name:
            raise line.error("ARG names can not be blank")
        pairs.append((name, value if eq else None))
    return Arg(tuple(pairs))


def expose_payload(line):
    ports = line.rest.split()
    if not ports:
        raise _need(line)
    return Expose(tuple(ports))


def volume_payload(line):
    paths, _ = _list(line)
    if not paths:
        raise _need(line)
    if any(not p.strip(_SPACE) for p in paths):
        raise line.error("VOLUME specified can not be an empty string")
    return Volume(tuple(paths))


def _one_string(cls):
    def parse(line):
        if not line.rest:
            raise _need(line, "exactly one argument")
        return cls(line.rest)
    return parse


def healthcheck_payload(line):
    parts = line.rest.split(None, 1)
    if not parts:
        raise _need(line)
    typ = parts[0].upper()
    if typ == "NONE":
        if len(parts) > 1:
            raise line.error("HEALTHCHECK NONE takes no arguments")
        return Healthcheck(("NONE",))
    if typ != "CMD":
        raise line.error("Unknown type %r in HEALTHCHECK (try CMD)" % parts[0])
    sub = Line(line.kind, parts[1] if len(parts) > 1 else "", {}, (), line.escape, line.lineno)
    args, exec_form = _maybe_json(sub)
    if not args:
        raise line.error("Missing command after HEALTHCHECK CMD")
    test = ("CMD",) + args if exec_form else ("CMD-SHELL",) + args
    values = {}
    for flag in ("interval", "timeout", "start-period", "start-interval"):
        text = line.flags.get(flag)
        values[flag] = None if text is None else durations.interval(flag, text)
    retries = line.flags.get("retries")
    if retries is not None:
        if not re.match(r"^[+-]?[0-9]{1,10}$", retries) or not -2**31 <= int(retries) < 2**31:
            raise line.error("--retries=%s: not an integer" % retries)
        if int(retries) < 0:
            raise line.error("--retries cannot be negative (%d)" % int(retries))
    return Healthcheck(test, values["interval"], values["timeout"], values["start-period"],
                       values["start-interval"], None if retries is None else int(retries))


def onbuild_payload(line):
    if not line.rest:
        raise _need(line)
    trigger_kind = line.rest.split(None, 1)[0].upper()
    if trigger_kind == "ONBUILD":
        raise line.error("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger_kind in ("FROM", "MAINTAINER"):
        raise line.error("%s isn't allowed as an ONBUILD trigger" % trigger_kind)
    if trigger_kind in ("RUN", "COPY", "ADD") and any(parse_heredoc_word(w) for w in split_words(line.rest)):
        raise line.error("heredocs in ONBUILD triggers are not supported")
    trigger = parse_line(line.rest, line.lineno, line.escape)
    return Onbuild(line.rest, trigger)


PARSERS = {
    "FROM": from_payload,
    "RUN": run_payload,
    "CMD": command_payload,
    "ENTRYPOINT": command_payload,
    "SHELL": shell_payload,
    "COPY": copy_payload,
    "ADD": copy_payload,
    "ENV": env_payload,
    "LABEL": env_payload,
    "ARG": arg_payload,
    "EXPOSE": expose_payload,
    "VOLUME": volume_payload,
    "USER": _one_string(User),
    "WORKDIR": _one_string(Workdir),
    "STOPSIGNAL": _one_string(StopSignal),
    "MAINTAINER": _one_string(Maintainer),
    "HEALTHCHECK": healthcheck_payload,
    "ONBUILD": onbuild_payload,
}
