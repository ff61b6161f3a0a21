"""parse(): every instruction's payload, directives, continuations, heredocs (tables)."""
import pytest
from gantry.highlevel.build import dockerfile as d
from gantry.highlevel.build.dockerfile import parse


def one(text):
    """The single instruction of ``FROM x`` + text."""
    df = parse("FROM x\n" + text)
    assert len(df.stages[0].instructions) == 1, df.stages[0].instructions
    return df.stages[0].instructions[0]


PAYLOADS = [
    # RUN
    ("RUN echo hi", d.Run(("echo hi",), False)),
    ("run   echo   hi  ", d.Run(("echo   hi",), False)),
    ('RUN ["echo", "a b"]', d.Run(("echo", "a b"), True)),
    ('RUN [ "echo" ]', d.Run(("echo",), True)),
    ('RUN ["echo", "x"] trailing', d.Run(('["echo", "x"] trailing',), False)),
    ("RUN [not json", d.Run(("[not json",), False)),
    ("RUN --network=none true", d.Run(("true",), False, "none")),
    ("RUN --network=host true", d.Run(("true",), False, "host")),
    ("RUN --network=default true", d.Run(("true",), False, "default")),
    ("RUN --security=sandbox true", d.Run(("true",), False)),
    ("RUN -- --network=none", d.Run(("--network=none",), False)),
    ("RUN echo 'a  b'  \"c\"", d.Run(("echo 'a  b'  \"c\"",), False)),
    # CMD, ENTRYPOINT, SHELL
    ("CMD echo $HOME", d.Command(("echo $HOME",), False)),
    ('CMD ["/bin/app", "-v"]', d.Command(("/bin/app", "-v"), True)),
    ("CMD []", d.Command((), True)),
    ('ENTRYPOINT ["/init"]', d.Command(("/init",), True)),
    ("ENTRYPOINT exec app", d.Command(("exec app",), False)),
    ('SHELL ["/bin/bash", "-c"]', d.Shell(("/bin/bash", "-c"))),
    # COPY / ADD
    ("COPY a /b", d.Copy(("a",), "/b")),
    ("COPY a b c /d/", d.Copy(("a", "b", "c"), "/d/")),
    ("COPY *.go src/**/x /d/", d.Copy(("*.go", "src/**/x"), "/d/")),
    ('COPY ["a b", "c d/"]', d.Copy(("a b",), "c d/")),
    ("COPY --from=build /out /out", d.Copy(("/out",), "/out", from_="build")),
    ("COPY --from=0 /out /out", d.Copy(("/out",), "/out", from_="0")),
    ("COPY --chown=1:2 --chmod=0644 a /b", d.Copy(("a",), "/b", chown="1:2", chmod="0644")),
    ("COPY --chmod=755 a /b", d.Copy(("a",), "/b", chmod="755")),
    ("COPY --link a /b", d.Copy(("a",), "/b", link=True)),
    ("COPY --link=false a /b", d.Copy(("a",), "/b", link=False)),
    ("COPY --link=TRUE a /b", d.Copy(("a",), "/b", link=True)),
    ("COPY --chown=\"user:group\" a /b", d.Copy(("a",), "/b", chown="user:group")),
    ("COPY --exclude=*.md --exclude=*.txt . /s", d.Copy((".",), "/s", exclude=("*.md", "*.txt"))),
    ("COPY --chmod=$MODE a /b", d.Copy(("a",), "/b", chmod="$MODE")),
    ("ADD app.tar.gz /opt/", d.Copy(("app.tar.gz",), "/opt/")),
    ("ADD --chown=app a /b", d.Copy(("a",), "/b", chown="app")),
    ("ADD --keep-git-dir=true a /b", d.Copy(("a",), "/b", keep_git_dir=True)),
    # ENV / LABEL / ARG
    ("ENV A=1", d.Env((("A", "1"),))),
    ("ENV A=1 B=2", d.Env((("A", "1"), ("B", "2")))),
    ('ENV A="a b" B=\'c d\'', d.Env((("A", '"a b"'), ("B", "'c d'")))),
    ("ENV A=a\\ b", d.Env((("A", "a\\ b"),))),
    ("ENV A=", d.Env((("A", ""),))),
    ('ENV A=""', d.Env((("A", '""'),))),
    ("ENV A a  b c", d.Env((("A", "a  b c"),))),
    ("ENV PATH=/x:$PATH", d.Env((("PATH", "/x:$PATH"),))),
    ('LABEL a=b "c d"="e f"', d.Label((("a", "b"), ('"c d"', '"e f"')))),
    ("LABEL version 1.0", d.Label((("version", "1.0"),))),
    ("ARG A", d.Arg((("A", None),))),
    ("ARG A=1", d.Arg((("A", "1"),))),
    ("ARG A= B", d.Arg((("A", ""), ("B", None)))),
    ("ARG A=${B:-x} C", d.Arg((("A", "${B:-x}"), ("C", None)))),
    # the rest
    ("EXPOSE 80 443/tcp 53/udp", d.Expose(("80", "443/tcp", "53/udp"))),
    ('VOLUME ["/data", "/a b"]', d.Volume(("/data", "/a b"))),
    ("VOLUME /data /logs", d.Volume(("/data", "/logs"))),
    ("USER app:app", d.User("app:app")),
    ("USER 1000", d.User("1000")),
    ("WORKDIR /a b", d.Workdir("/a b")),
    ("STOPSIGNAL SIGTERM", d.StopSignal("SIGTERM")),
    ("MAINTAINER Jane <j@example.com>", d.Maintainer("Jane <j@example.com>")),
    ("HEALTHCHECK NONE", d.Healthcheck(("NONE",))),
    ("healthcheck none", d.Healthcheck(("NONE",))),
    ("HEALTHCHECK CMD curl -f http://localhost/", d.Healthcheck(("CMD-SHELL", "curl -f http://localhost/"))),
    ('HEALTHCHECK CMD ["curl", "-f", "x"]', d.Healthcheck(("CMD", "curl", "-f", "x"))),
    ("HEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --start-interval=500ms --retries=3 CMD true",
     d.Healthcheck(("CMD-SHELL", "true"), 300 * 10**9, 3 * 10**9, 90 * 10**9, 500 * 10**6, 3)),
    ("HEALTHCHECK --interval=0 --retries=0 CMD true", d.Healthcheck(("CMD-SHELL", "true"), 0, None, None, None, 0)),
    ("HEALTHCHECK --interval=1.5s CMD true", d.Healthcheck(("CMD-SHELL", "true"), 1500 * 10**6)),
]


@pytest.mark.parametrize("text,payload", PAYLOADS, ids=[p[0] for p in PAYLOADS])
def test_payload(text, payload):
    instr = one(text)
    assert instr.args == payload
    assert instr.kind == text.split()[0].upper()
    assert instr.line == 2


FLAGS = [
    ("COPY --from=a --chown=b x y", {"from": "a", "chown": "b"}),
    ("RUN --network=none x", {"network": "none"}),
    ("COPY --link x y", {"link": "true"}),
    ("RUN x --network=none", {}),
    ("ENV --a=b", {}),
]


@pytest.mark.parametrize("text,flags", FLAGS)
def test_flags(text, flags):
    assert one(text).flags == flags


def test_onbuild_keeps_its_trigger():
    instr = one("ONBUILD COPY --from=x . /app")
    assert instr.args.expression == "COPY --from=x . /app"
    assert instr.args.trigger.kind == "COPY"
    assert instr.args.trigger.args == d.Copy((".",), "/app", from_="x")
    assert d.parse_trigger("RUN make").args == d.Run(("make",), False)


def test_stages_and_global_args():
    df = parse("ARG V=1\nARG B\nFROM --platform=$P alpine:$V AS Build\nRUN a\nfrom build as two\nFROM scratch\n")
    assert [i.args for i in df.args_before_from] == [d.Arg((("V", "1"),)), d.Arg((("B", None),))]
    assert [(s.index, s.name, s.base, s.platform, s.line) for s in df.stages] == [
        (0, "build", "alpine:$V", "$P", 3), (1, "two", "build", None, 5), (2, None, "scratch", None, 6)]
    assert [len(s.instructions) for s in df.stages] == [1, 0, 0]


LINES = [
    # text, [(kind, line, end_line, original)]
    ("FROM x\nRUN a \\\n  b\nRUN c", [("RUN", 2, 3, "RUN a   b"), ("RUN", 4, 4, "RUN c")]),
    ("FROM x\nRUN a \\  \n b", [("RUN", 2, 3, "RUN a  b")]),
    ("FROM x\nRUN a \\\n# comment\n  # indented comment\n\n   \nb", [("RUN", 2, 7, "RUN a b")]),
    ("FROM x\n  # comment\n\n\tRUN a\n", [("RUN", 4, 4, "RUN a")]),
    ("FROM x\nRUN a # not a comment", [("RUN", 2, 2, "RUN a # not a comment")]),
    ("FROM x\r\nRUN a \\\r\nb\r\n", [("RUN", 2, 3, "RUN a b")]),
    ("\ufeffFROM x\nRUN a", [("RUN", 2, 2, "RUN a")]),
    ("FROM x\nRUN a \\", [("RUN", 2, 2, "RUN a")]),
    # a line of Unicode whitespace only is blank (regress-unicode-space-line)
    ("FROM x\n  \x1c\n\u00a0\nRUN a", [("RUN", 4, 4, "RUN a")]),
    ("FROM x\nRUN a \\\\\nb", [("RUN", 2, 3, "RUN a \\b")]),
    ("# escape=`\nFROM x\nRUN a `\nb\nRUN c:\\dir\\", [("RUN", 3, 4, "RUN a b"), ("RUN", 5, 5, "RUN c:\\dir\\")]),
    ("#escape = ` \nFROM x\nRUN a `\n b", [("RUN", 3, 4, "RUN a  b")]),
    ("# syntax=docker/dockerfile:1\n# escape=`\nFROM x\nRUN a `\nb", [("RUN", 4, 5, "RUN a b")]),
    # a directive after a comment (or a blank line) is a comment
    ("# hello\n# escape=`\nFROM x\nRUN a `\nRUN b", [("RUN", 4, 4, "RUN a `"), ("RUN", 5, 5, "RUN b")]),
    ("\n# escape=`\nFROM x\nRUN a \\\nb", [("RUN", 4, 5, "RUN a b")]),
    ("# unknown=1\n# escape=`\nFROM x\nRUN a \\\nb", [("RUN", 4, 5, "RUN a b")]),
]


@pytest.mark.parametrize("text,expected", LINES)
def test_logical_lines(text, expected):
    df = parse(text)
    got = [(i.kind, i.line, i.end_line, i.original) for s in df.stages for i in s.instructions]
    assert got == expected


def test_escape_directive_value():
    assert parse("# escape=`\nFROM x").escape == "`"
    assert parse("FROM x").escape == "\\"
    assert parse("# syntax=docker/dockerfile:1.7\nFROM x").syntax == "docker/dockerfile:1.7"


HEREDOCS = [
    # text after FROM, (args of the payload), [heredocs]
    ("RUN <<EOF\necho hi\necho there\nEOF",
     ("<<EOF",), [d.Heredoc("EOF", "echo hi\necho there\n")]),
    ("RUN <<-EOF\n\techo hi\n\t\tnested\n\tEOF",
     ("<<-EOF",), [d.Heredoc("EOF", "echo hi\nnested\n", chomp=True)]),
    ("RUN <<'EOF'\necho $HOME\nEOF",
     ("<<'EOF'",), [d.Heredoc("EOF", "echo $HOME\n", expand=False)]),
    ('RUN <<"EOF"\nx\nEOF', ('<<"EOF"',), [d.Heredoc("EOF", "x\n", expand=False)]),
    ("RUN cat <<EOF > /f\n  indented\n# kept\n\nEOF",
     ("cat <<EOF > /f",), [d.Heredoc("EOF", "  indented\n# kept\n\n")]),
    ("RUN cat <<A <<B\na\nA\nb\nB", ("cat <<A <<B",), [d.Heredoc("A", "a\n"), d.Heredoc("B", "b\n")]),
    ("RUN python3 <<PY 2<<ERR\np\nPY\ne\nERR",
     ("python3 <<PY 2<<ERR",), [d.Heredoc("PY", "p\n"), d.Heredoc("ERR", "e\n", fd=2)]),
    ("RUN cat <<EOF>/f\nx\nEOF", ("cat <<EOF>/f",), [d.Heredoc("EOF", "x\n")]),
    ("RUN <<EOF\nEOF", ("<<EOF",), [d.Heredoc("EOF", "")]),
    ("RUN <<EOF\n EOF\nEOF", ("<<EOF",), [d.Heredoc("EOF", " EOF\n")]),
    ("RUN echo '<<EOF'", ("echo '<<EOF'",), []),
    ("RUN cat <<<word", ("cat <<<word",), []),
    ("RUN echo a<<b", ("echo a<<b",), []),
]


@pytest.mark.parametrize("text,args,docs", HEREDOCS, ids=[h[0].split("\n")[0] for h in HEREDOCS])
def test_run_heredocs(text, args, docs):
    instr = one(text + "\n")
    assert instr.args.args == args
    assert list(instr.args.heredocs) == docs
    assert instr.end_line == 1 + text.count("\n") + 1


def test_heredoc_then_more_instructions():
    df = parse("FROM x\nRUN <<EOF\nRUN not an instruction\nEOF\nRUN after\n")
    got = [(i.line, i.end_line, i.args.args) for i in df.stages[0].instructions]
    assert got == [(2, 4, ("<<EOF",)), (5, 5, ("after",))]


def test_copy_heredocs():
    instr = one("COPY <<EOF /etc/conf\nkey=$V\nEOF\n")
    assert instr.args == d.Copy((), "/etc/conf", heredocs=(d.Heredoc("EOF", "key=$V\n"),))
    instr = one("COPY --chmod=0755 <<-'A' a.txt <<B /dst/\n\t#!/bin/sh\n\tA\nb\nB\n")
    assert instr.args == d.Copy(("a.txt",), "/dst/", chmod="0755", heredocs=(
        d.Heredoc("A", "#!/bin/sh\n", expand=False, chomp=True), d.Heredoc("B", "b\n")))


SCRIPTS = [
    ("RUN <<EOF\necho hi\nEOF", ("echo hi\n", False)),
    ("RUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF", ("#!/usr/bin/env python3\nprint(1)\n", True)),
    ("RUN cat <<EOF > /f\nx\nEOF", ("cat <<EOF > /f\nx\nEOF", False)),
    ("RUN cat <<A <<-B\na\nA\n\tb\n\tB", ("cat <<A <<-B\na\nA\nb\nB", False)),
    ("RUN echo plain", ("echo plain", False)),
]


@pytest.mark.parametrize("text,script", SCRIPTS)
def test_run_script(text, script):
    assert one(text + "\n").args.script() == script


def test_keywords_are_case_insensitive():
    df = parse("from x AS A\ncopy a b\nRuN c\nEnV a=b\n")
    assert [i.kind for i in df.stages[0].instructions] == ["COPY", "RUN", "ENV"]
    assert df.stages[0].name == "a"


def test_bytes_input():
    assert parse(b"FROM x\nRUN a\n").stages[0].instructions[0].args.args == ("a",)
