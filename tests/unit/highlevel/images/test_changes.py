"""changes.apply: commit --change instructions on an image config section (pure, from a table)."""
import pytest
from gantry.highlevel import errors
from gantry.highlevel.images import changes

BASE = {"Env": ["PATH=/bin", "A=0"], "Cmd": ["sh"], "Labels": {"x": "1"}}


@pytest.mark.parametrize("change,field,value", [
    ('CMD ["echo", "hi"]', "Cmd", ["echo", "hi"]),
    ("CMD echo hi", "Cmd", ["/bin/sh", "-c", "echo hi"]),
    ("CMD=/bin/true", "Cmd", ["/bin/sh", "-c", "/bin/true"]),
    ('cmd=["a"]', "Cmd", ["a"]),
    ('ENTRYPOINT ["/app", "--flag"]', "Entrypoint", ["/app", "--flag"]),
    ("ENV A=1 B=two", "Env", ["PATH=/bin", "A=1", "B=two"]),
    ("ENV C hello world", "Env", ["PATH=/bin", "A=0", "C=hello world"]),
    ('ENV Q="a b"', "Env", ["PATH=/bin", "A=0", "Q=a b"]),
    ('LABEL org.x="my app" y=2', "Labels", {"x": "1", "org.x": "my app", "y": "2"}),
    ("EXPOSE 80 53/udp", "ExposedPorts", {"80/tcp": {}, "53/udp": {}}),
    ("VOLUME /data /logs", "Volumes", {"/data": {}, "/logs": {}}),
    ('VOLUME ["/v"]', "Volumes", {"/v": {}}),
    ("USER 1000:1000", "User", "1000:1000"),
    ("WORKDIR=/srv", "WorkingDir", "/srv"),
    ("STOPSIGNAL SIGINT", "StopSignal", "SIGINT"),
    ("ONBUILD RUN make", "OnBuild", ["RUN make"]),
])
def test_apply(change, field, value):
    out = changes.apply(BASE, [change])
    assert out[field] == value
    assert BASE["Env"] == ["PATH=/bin", "A=0"] and BASE["Cmd"] == ["sh"]     # the input is not modified


@pytest.mark.parametrize("change,match", [
    ("RUN make", "RUN is not one of"),
    ("", "empty is not one of"),
    ('CMD ["a", 1]', "JSON array of strings"),
    ("CMD [oops", "JSON array"),
    ("CMD", "empty command"),
    ("EXPOSE 70000", "bad port"),
    ("EXPOSE 80/xyz", "bad port"),
    ("LABEL novalue", "key=value"),
    ("ENV", "nothing to set"),
    ("USER", "empty value"),
    ('ENV A="unterminated', "No closing quotation"),
])
def test_refused(change, match):
    with pytest.raises(errors.InvalidArgument, match=match):
        changes.apply(BASE, [change])


def test_in_order():
    out = changes.apply({}, ["ENV A=1", "ENV A=2", "CMD a", 'CMD ["b"]'])
    assert out == {"Env": ["A=2"], "Cmd": ["b"]}
