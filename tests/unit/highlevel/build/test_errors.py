"""Every error parse() raises, with the line it names (a table)."""
import pytest
from gantry.highlevel.build.dockerfile import DockerfileError, parse
from gantry.highlevel.errors import InvalidArgument

ERRORS = [
    # text, line, message (a part of it)
    ("FROM x\nFRM y", 2, "unknown instruction FRM"),
    ("FROM x\n\n\n  bogus", 4, "unknown instruction bogus"),
    ("RUN a\nFROM x", 1, "RUN before the first FROM"),
    ("", 0, "no FROM"),
    ("# just a comment\nARG A=1\n", 0, "no FROM"),
    ("# escape=x\nFROM y", 1, "invalid escape token 'x'"),
    ("# escape=\\\n# escape=`\nFROM x", 2, "only one escape parser directive"),
    # FROM
    ("FROM", 1, "FROM requires either one or three arguments"),
    ("FROM a b", 1, "FROM requires either one or three arguments"),
    ("FROM a AS", 1, "FROM requires either one or three arguments"),
    ("FROM a BS c", 1, "FROM requires either one or three arguments"),
    ("FROM a AS 1st", 1, "invalid name for build stage: '1st'"),
    ("FROM a AS b$c", 1, "invalid name for build stage"),
    ("FROM a AS x\nFROM b AS X", 2, "duplicate stage name 'x' (also on line 1)"),
    ("FROM --foo=bar a", 1, "Unknown flag: foo"),
    ("FROM --platform a", 1, "Missing a value on flag: --platform"),
    ("FROM --platform=a --platform=b c", 1, "Duplicate flag specified: platform"),
    # RUN
    ("FROM x\nRUN", 2, "RUN requires at least one argument"),
    ("FROM x\nRUN []", 2, "RUN requires at least one argument"),
    ("FROM x\nRUN --mount=type=cache,target=/c make", 2, "RUN --mount is not supported"),
    ("FROM x\nRUN --network=bridge x", 2, "RUN --network=bridge is not supported"),
    ("FROM x\nRUN --security=insecure x", 2, "RUN --security=insecure is not supported"),
    ("FROM x\nRUN --network x", 2, "Missing a value on flag: --network"),
    ("FROM x\nRUN --nope x", 2, "Unknown flag: nope"),
    ('FROM x\nRUN ["a", 1]', 2, "arrays must be comprised of strings only"),
    ('FROM x\nCMD ["a", null]', 2, "arrays must be comprised of strings only"),
    ("FROM x\nRUN <<EOF\nno end", 2, "unterminated heredoc EOF"),
    ("FROM x\nRUN a\nRUN cat <<A <<B\na\nA\nb", 3, "unterminated heredoc B"),
    ("FROM x\nRUN <<-EOF\n  EOF", 2, "unterminated heredoc EOF"),
    # CMD, ENTRYPOINT, SHELL
    ("FROM x\nCMD", 2, "CMD requires at least one argument"),
    ("FROM x\nENTRYPOINT", 2, "ENTRYPOINT requires at least one argument"),
    ("FROM x\nSHELL /bin/sh -c", 2, "SHELL requires the arguments to be in JSON form"),
    ("FROM x\nSHELL []", 2, "SHELL requires at least one argument"),
    # COPY, ADD
    ("FROM x\nCOPY a", 2, "COPY requires at least two arguments, but only 1 was provided"),
    ("FROM x\nCOPY", 2, "COPY requires at least two arguments"),
    ("FROM x\nADD a", 2, "ADD requires at least two arguments"),
    ("FROM x\nCOPY --from a b", 2, "Missing a value on flag: --from"),
    ("FROM x\nCOPY --link=maybe a b", 2, "expecting boolean value for flag link, not: maybe"),
    ("FROM x\nCOPY --chmod=u+x a b", 2, "--chmod=u+x: only octal modes"),
    ("FROM x\nCOPY --chmod=0999 a b", 2, "--chmod=0999: only octal modes"),
    ("FROM x\nCOPY --parents a b", 2, "COPY --parents is not supported"),
    ("FROM x\nCOPY --checksum=sha256:x a b", 2, "Unknown flag: checksum"),
    ("FROM x\nADD --from=y a b", 2, "ADD does not take --from"),
    ("FROM x\nADD https://example.com/a.tgz /", 2, "ADD from a URL is not supported: https://example.com/a.tgz"),
    ("FROM x\nADD git@github.com:a/b.git /", 2, "ADD from a URL is not supported"),
    ("FROM x\nCOPY a <<EOF\nx\nEOF", 2, "COPY cannot accept a heredoc as a destination"),
    # ENV, LABEL, ARG
    ("FROM x\nENV", 2, "ENV requires at least one argument"),
    ("FROM x\nENV A", 2, "ENV must have two arguments"),
    ("FROM x\nENV A=1 B", 2, "can't find = in 'B'"),
    ("FROM x\nENV =1", 2, "ENV names can not be blank"),
    ("FROM x\nLABEL a", 2, "LABEL must have two arguments"),
    ("FROM x\nLABEL =b", 2, "LABEL names can not be blank"),
    ("FROM x\nARG", 2, "ARG requires at least one argument"),
    ("ARG =1\nFROM x", 1, "ARG names can not be blank"),
    # the rest
    ("FROM x\nEXPOSE", 2, "EXPOSE requires at least one argument"),
    ("FROM x\nVOLUME", 2, "VOLUME requires at least one argument"),
    ('FROM x\nVOLUME ["/a", ""]', 2, "VOLUME specified can not be an empty string"),
    ("FROM x\nUSER", 2, "USER requires exactly one argument"),
    ("FROM x\nWORKDIR", 2, "WORKDIR requires exactly one argument"),
    ("FROM x\nSTOPSIGNAL", 2, "STOPSIGNAL requires exactly one argument"),
    ("FROM x\nMAINTAINER", 2, "MAINTAINER requires exactly one argument"),
    ("FROM x\nHEALTHCHECK", 2, "HEALTHCHECK requires at least one argument"),
    ("FROM x\nHEALTHCHECK NONE x", 2, "HEALTHCHECK NONE takes no arguments"),
    ("FROM x\nHEALTHCHECK CMD", 2, "Missing command after HEALTHCHECK CMD"),
    ("FROM x\nHEALTHCHECK RUN x", 2, "Unknown type 'RUN' in HEALTHCHECK (try CMD)"),
    ("FROM x\nHEALTHCHECK --interval=10 CMD x", 2, "invalid duration '10'"),
    ("FROM x\nHEALTHCHECK --interval=1us CMD x", 2, "--interval=1us cannot be less than 1ms"),
    ("FROM x\nHEALTHCHECK --timeout=-1s CMD x", 2, "--timeout=-1s cannot be negative"),
    ("FROM x\nHEALTHCHECK --retries=-1 CMD x", 2, "--retries cannot be negative (-1)"),
    ("FROM x\nHEALTHCHECK --retries=three CMD x", 2, "--retries=three: not an integer"),
    ("FROM x\nHEALTHCHECK --nope=1 CMD x", 2, "Unknown flag: nope"),
    ("FROM x\nONBUILD", 2, "ONBUILD requires at least one argument"),
    ("FROM x\nONBUILD ONBUILD RUN x", 2, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("FROM x\nONBUILD FROM y", 2, "FROM isn't allowed as an ONBUILD trigger"),
    ("FROM x\nONBUILD MAINTAINER y", 2, "MAINTAINER isn't allowed as an ONBUILD trigger"),
    ("FROM x\nONBUILD FRM y", 2, "unknown instruction FRM"),
    ("FROM x\nONBUILD RUN <<EOF\nx\nEOF", 2, "heredocs in ONBUILD triggers are not supported"),
    ("FROM x\nONBUILD RUN --mount=type=ssh x", 2, "RUN --mount is not supported"),
    # a continued line names its first line
    ("FROM x\nRUN a\nCOPY \\\n  --chmod=9 \\\n  a b", 3, "--chmod=9: only octal modes"),
]


@pytest.mark.parametrize("text,line,message", ERRORS, ids=[e[2][:40] + "@" + str(e[1]) for e in ERRORS])
def test_error(text, line, message):
    with pytest.raises(DockerfileError) as info:
        parse(text)
    assert info.value.line == line
    assert message in info.value.message
    prefix = "Dockerfile:%d: " % line if line else "Dockerfile: "
    assert str(info.value).startswith(prefix), str(info.value)
    assert isinstance(info.value, InvalidArgument)


def test_error_names_the_file():
    with pytest.raises(DockerfileError) as info:
        parse("FROM x\nFRM y", filename="build/Containerfile")
    assert str(info.value) == "build/Containerfile:2: unknown instruction FRM"


def test_not_utf8_names_the_line():
    with pytest.raises(DockerfileError) as info:
        parse(b"FROM x\nRUN \xff\n")
    assert info.value.line == 2 and "not UTF-8" in str(info.value)
