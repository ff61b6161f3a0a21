"""Stage references, --target and dependency order (tables)."""
import pytest
from gantry.highlevel.build import stages
from gantry.highlevel.build.dockerfile import DockerfileError, parse
from gantry.highlevel.build.scope import GlobalScope

MULTI = """\
ARG BASE=alpine
FROM $BASE AS base
FROM golang AS build
COPY --from=base /etc/os-release /
FROM base AS test
COPY --from=build /out /out
FROM scratch AS final
COPY --from=1 /out /app
COPY --from=busybox:1.36 /bin/sh /sh
FROM final
"""

SELECT = [
    # target, [indexes built, in order]
    (None, [0, 1, 3, 4]),
    ("final", [0, 1, 3]),
    ("FINAL", [0, 1, 3]),
    ("test", [0, 1, 2]),
    ("build", [0, 1]),
    ("base", [0]),
]


@pytest.mark.parametrize("target,order", SELECT)
def test_select(target, order):
    df = parse(MULTI)
    assert [r.index for r in stages.select(df, target, GlobalScope(df))] == order


def test_refs():
    df = parse(MULTI)
    refs = stages.resolve(df, GlobalScope(df, {"BASE": "debian"}))
    assert [(r.base_image, r.base_stage) for r in refs] == [
        ("debian", None), ("golang", None), (None, 0), ("scratch", None), (None, 3)]
    assert refs[3].copy_from == {8: ("stage", 1), 9: ("image", "busybox:1.36")}
    assert refs[1].copy_from == {4: ("stage", 0)}


REFS = [
    # a later stage's name in FROM is an image (only earlier stages count)
    ("FROM b AS a\nFROM x AS b", 0, (None, "b", None)),
    # COPY --from may name a later stage
    ("FROM x AS a\nCOPY --from=b / /\nFROM y AS b", 0, ({3 - 1: ("stage", 1)}, "x", None)),
    ("ARG S=a\nFROM x AS a\nFROM y\nCOPY --from=$S / /", 1, ({4: ("stage", 0)}, "y", None)),
    ("FROM x AS A\nFROM y\nCOPY --from=A / /", 1, ({3: ("stage", 0)}, "y", None)),
    ("FROM x\nFROM y\nCOPY --from=0 / /", 1, ({3: ("stage", 0)}, "y", None)),
]


@pytest.mark.parametrize("text,index,want", REFS)
def test_resolve_table(text, index, want):
    df = parse(text)
    r = stages.resolve(df, GlobalScope(df))[index]
    copy_from, base_image, base_stage = want
    if copy_from is not None:
        assert r.copy_from == copy_from
    assert (r.base_image, r.base_stage) == (base_image, base_stage)


ERRORS = [
    ("FROM x\nFROM y\nCOPY --from=5 / /", None, 3, "COPY --from=5: no stage with index 5 (there are 2)"),
    ("FROM x AS a\nCOPY --from=a / /", None, 2, "COPY --from=a refers to its own stage"),
    ("FROM x\nCOPY --from=0 / /", None, 2, "COPY --from=0 refers to its own stage"),
    ("FROM x\nCOPY --from=$NOPE / /", None, 2, "COPY --from=$NOPE is empty"),
    ("FROM x AS a\nCOPY --from=b / /\nFROM y AS b\nCOPY --from=a / /", None, 2,
     "circular dependency between stages: b -> a -> b"),
    ("FROM x AS a\nFROM y AS b", "c", 0, "target stage 'c' could not be found (stages: a, b)"),
    ("FROM x\nFROM y", "c", 0, "target stage 'c' could not be found (stages: none named)"),
]


@pytest.mark.parametrize("text,target,line,message", ERRORS)
def test_errors(text, target, line, message):
    df = parse(text)
    with pytest.raises(DockerfileError) as info:
        stages.select(df, target, GlobalScope(df))
    assert info.value.line == line
    assert message in str(info.value)


def test_find_target_default_is_last():
    df = parse("FROM x AS a\nFROM y AS b")
    assert stages.find_target(df, None).name == "b"
    assert stages.find_target(df, "A").index == 0
