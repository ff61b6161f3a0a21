"""malloctune: the arena cap is set through mallopt unless MALLOC_ARENA_MAX decides."""
from gantry.highlevel import malloctune


def test_environment_wins():
    assert malloctune.limit_arenas(2, environ={"MALLOC_ARENA_MAX": "4"}) is False


def test_cap_is_set_on_glibc():
    assert malloctune.limit_arenas(2, environ={}) is True
