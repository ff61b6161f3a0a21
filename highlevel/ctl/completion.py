"""completion: a bash completion script made from the argparse tree (commands and their flags),
with container and pod names/ids asked from the endpoint (``gantryctl ps -aq``, ``pods -q``)."""

CONTAINER_COMMANDS = ("start", "stop", "rm", "inspect", "logs", "exec", "attach", "stats")
POD_COMMANDS = ("inspectp", "stopp", "rmp", "port-forward", "create")

TEMPLATE = """\
# bash completion for gantryctl: source <(gantryctl completion bash)
_gantryctl() {
    local cur cmd i
    cur="${COMP_WORDS[COMP_CWORD]}"
    cmd=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            --endpoint|--address|--timeout) ((i++)) ;;
            -*) ;;
            *) cmd="${COMP_WORDS[i]}"; break ;;
        esac
    done
    if [[ -z "$cmd" ]]; then
        COMPREPLY=($(compgen -W "%(commands)s %(global)s" -- "$cur"))
        return
    fi
    if [[ "$cur" == -* ]]; then
        case "$cmd" in
%(flags)s
        esac
        return
    fi
    case "$cmd" in
        %(containers)s) COMPREPLY=($(compgen -W "$(gantryctl ps -a -o json 2>/dev/null | \
            python3 -c 'import json,sys; [print(c["id"][:13], c["metadata"]["name"]) for c in json.load(sys.stdin)["containers"]]' 2>/dev/null)" -- "$cur")) ;;
        %(pods)s) COMPREPLY=($(compgen -W "$(gantryctl pods -o json 2>/dev/null | \
            python3 -c 'import json,sys; [print(p["id"][:13], p["metadata"]["name"]) for p in json.load(sys.stdin)["items"]]' 2>/dev/null)" -- "$cur")) ;;
        *) COMPREPLY=($(compgen -f -- "$cur")) ;;
    esac
}
complete -F _gantryctl gantryctl
"""


def bash_script(parser):
    import argparse

    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    flags = []
    for name, p in sorted(sub.choices.items()):
        opts = sorted(o for a in p._actions for o in a.option_strings)
        flags.append('            %s) COMPREPLY=($(compgen -W "%s" -- "$cur")) ;;' % (name, " ".join(opts)))
    global_opts = sorted(o for a in parser._actions for o in a.option_strings)
    return TEMPLATE % {"commands": " ".join(sorted(sub.choices)), "global": " ".join(global_opts),
                       "flags": "\n".join(flags), "containers": "|".join(CONTAINER_COMMANDS),
                       "pods": "|".join(POD_COMMANDS)}


def cmd_completion(client, args, out):
    from .cli import build_parser

    out.write(bash_script(build_parser()))
