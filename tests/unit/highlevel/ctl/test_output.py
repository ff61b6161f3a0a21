"""gantryctl's pure formatting: sizes, ids, ages, tables, -o json|yaml, image/pod/container rows."""
import json

import pytest
import yaml
from gantry.api import cri_pb2
from gantry.highlevel.ctl import containers, images, output, pods, progress, stats

NOW = 1_764_900_000.0


@pytest.mark.parametrize("n, text", [(0, "0B"), (999, "999B"), (1000, "1kB"), (1_463_101, "1.46MB"),
                                     (150_000_000, "150MB"), (2_500_000_000_000, "2.5TB")])
def test_human_size(n, text):
    assert output.human_size(n) == text


@pytest.mark.parametrize("tag, split", [
    ("docker.io/library/busybox:1.36", ("docker.io/library/busybox", "1.36")),
    ("127.0.0.1:5000/x/y:v2", ("127.0.0.1:5000/x/y", "v2")),
    ("127.0.0.1:5000/x/y", ("127.0.0.1:5000/x/y", "<none>")),
])
def test_split_tag(tag, split):
    assert output.split_tag(tag) == split


@pytest.mark.parametrize("secs, text", [(0, "0 seconds ago"), (1, "1 second ago"), (59, "59 seconds ago"),
                                        (60, "1 minute ago"), (7200, "2 hours ago"), (86400 * 3, "3 days ago")])
def test_ago(secs, text):
    assert output.ago(int((NOW - secs) * 1e9), NOW) == text
    assert output.ago(0, NOW) == "-"


def test_table_aligns_columns_without_trailing_blanks():
    text = output.table([("A", "BB", "C"), ("xxx", "y", ""), ("z", "wwww", "")])
    lines = text.splitlines()
    assert lines == ["A     BB     C", "xxx   y", "z     wwww"]


def test_render_json_and_yaml():
    doc = {"b": [1, {"c": False}], "a": "x"}
    assert json.loads(output.render(doc, "json")) == doc
    assert yaml.safe_load(output.render(doc, "yaml")) == doc


def test_message_dict_keeps_zero_values():
    """info printed ``runtimeHandlers: [{}]`` and dropped conditions' false status: zero values stay."""
    resp = cri_pb2.StatusResponse()
    resp.status.conditions.add(type="NetworkReady", status=False, reason="NoCNI")
    resp.runtime_handlers.add(name="")
    resp.info["config"] = '{"root": "/var/lib/gantry"}'
    doc = images.status_doc(resp)
    assert doc["status"]["conditions"] == [{"type": "NetworkReady", "status": False, "reason": "NoCNI", "message": ""}]
    assert doc["runtimeHandlers"] == [{"name": ""}]
    resp.runtime_handlers[0].features.user_namespaces = False
    assert images.status_doc(resp)["runtimeHandlers"] == [
        {"name": "", "features": {"recursiveReadOnlyMounts": False, "userNamespaces": False}}]
    assert doc["info"] == {"config": {"root": "/var/lib/gantry"}}


def test_image_rows_one_per_tag_and_untagged():
    tagged = cri_pb2.Image(id="sha256:" + "ab" * 32, repo_tags=["r/a:1", "r/a:2"], size=1000)
    untagged = cri_pb2.Image(id="sha256:" + "cd" * 32, repo_digests=["r/b@sha256:" + "ef" * 32], size=5)
    bare = cri_pb2.Image(id="sha256:" + "01" * 32, size=5)
    rows = images.image_rows([tagged, untagged, bare])
    assert rows == [("IMAGE", "TAG", "IMAGE ID", "SIZE"), ("r/a", "1", "ab" * 6 + "a", "1kB"),
                    ("r/a", "2", "ab" * 6 + "a", "1kB"), ("r/b", "<none>", "cd" * 6 + "c", "5B"),
                    ("<none>", "<none>", "01" * 6 + "0", "5B")]


def test_pod_and_container_rows():
    pod = cri_pb2.PodSandbox(id="p" * 64, state=cri_pb2.SANDBOX_READY, created_at=int((NOW - 5) * 1e9),
                             metadata=cri_pb2.PodSandboxMetadata(name="web", namespace="default", attempt=1))
    assert pods.pod_rows([pod], NOW)[1] == ("p" * 13, "5 seconds ago", "Ready", "web", "default", "1", "(default)")
    ctr = cri_pb2.Container(id="c" * 64, pod_sandbox_id="p" * 64, state=cri_pb2.CONTAINER_EXITED,
                            created_at=int((NOW - 120) * 1e9), image=cri_pb2.ImageSpec(image="busybox"),
                            image_ref="sha256:" + "ab" * 32, metadata=cri_pb2.ContainerMetadata(name="sh"))
    row = containers.container_rows([ctr], {"p" * 64: "web"}, NOW)[1]
    assert row == ("c" * 13, "busybox", "2 minutes ago", "Exited", "sh", "0", "p" * 13, "web")


@pytest.mark.parametrize("done, total, text", [(0, 100, "[>         ]"), (50, 100, "[=====>    ]"),
                                               (100, 100, "[==========]"), (5, 0, "[          ]")])
def test_progress_bar(done, total, text):
    assert progress.bar(done, total, width=10) == text


def test_progress_lines_one_per_layer_and_a_total():
    doc = {"ref": "busybox", "done": 1_500_000, "total": 3_000_000,
           "blobs": {"sha256:" + "b" * 64: [0, 1_000_000], "sha256:" + "a" * 64: [1_500_000, 2_000_000]}}
    lines = progress.bars(doc, width=10)
    assert len(lines) == 3
    assert lines[0].startswith("aaaaaaaaaaaa: downloading [=======>  ]") and lines[0].endswith("1.5MB/2MB")
    assert lines[1].startswith("bbbbbbbbbbbb: waiting") and lines[2].startswith("total")


def test_terminal_bars_redraw_in_place():
    class Out:
        text = ""

        def write(self, s):
            self.text += s

        def flush(self):
            pass

    out = Out()
    screen = progress.TerminalBars(out)
    screen.draw(["a", "b"])
    assert out.text == "\x1b[2Ka\n\x1b[2Kb\n"
    out.text = ""
    screen.draw(["c"])
    assert out.text == "\x1b[2F\x1b[2Kc\n\x1b[2K\n"


def test_cpu_percent_from_two_samples():
    a = cri_pb2.CpuUsage(timestamp=1_000_000_000)
    a.usage_core_nano_seconds.value = 5_000_000_000
    b = cri_pb2.CpuUsage(timestamp=2_000_000_000)
    b.usage_core_nano_seconds.value = 5_500_000_000
    assert stats.cpu_percent(a, b) == 50.0
    assert stats.cpu_percent(None, b) is None
    b.usage_nano_cores.value = 250_000_000
    assert stats.cpu_percent(None, b) == 25.0
