"""gantry-shim's command line documents itself: every subcommand and every flag has help."""
import pytest
from gantry.shim import cli


def subparsers():
    parser = cli._parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return parser, action.choices


def test_top_level_help_lists_every_subcommand():
    parser, subs = subparsers()
    text = parser.format_help()
    assert set(subs) == {"start", "delete", "call", "template"}
    for name in subs:
        assert "gantry-shim %s" % name in text


@pytest.mark.parametrize("name", ["start", "delete", "call", "template"])
def test_every_subcommand_and_flag_is_described(name):
    _, subs = subparsers()
    sub = subs[name]
    assert sub.description and len(sub.description) > 40
    for action in sub._actions:
        if action.dest != "help":
            assert action.help, "%s %s has no help" % (name, action.option_strings or action.dest)


def test_the_state_dir_layout_names_the_files_the_shim_writes():
    from gantry.api import shimstate
    from gantry.shim import daemon
    for name in (daemon.LOCK, daemon.SOCKET, daemon.ADDRESS, daemon.PIDFILE, shimstate.EXIT, "shim.log", "runtime.log"):
        assert "    %s " % name in cli.STATE_DIR_TEXT
