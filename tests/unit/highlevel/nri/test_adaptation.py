"""The adaptation over a real unix socket, with the test plugin (tests/fixtures/nriplugin.py)."""
import os
import socket
import threading
import time

import pytest
from gantry.api import nri_pb2
from gantry.highlevel import errors
from gantry.highlevel.nri import plugin as pluginmod
from gantry.highlevel.nri import ttrpc
from gantry.highlevel.nri.adaptation import Adaptation, PluginError

from tests.fixtures.nriplugin import NriTestPlugin

E = nri_pb2


@pytest.fixture
def nri(tmp_path):
    state = {"pods": [E.PodSandbox(id="pod-1")], "containers": [E.Container(id="ctr-1", pod_sandbox_id="pod-1")]}
    a = Adaptation(str(tmp_path / "nri" / "nri.sock"), lambda: (list(state["pods"]), list(state["containers"])),
                   registration_timeout=1.0, request_timeout=0.5)
    a.state = state
    a.start()
    plugins = []
    a.plugin = lambda *args, **kw: plugins.append(NriTestPlugin(*args, **kw)) or plugins[-1]
    yield a
    for p in plugins:
        p.close()
    a.close()


def _admitted(nri, count):
    deadline = time.monotonic() + 5
    while len(nri.plugins) < count:
        assert time.monotonic() < deadline, nri.plugins
        time.sleep(0.01)


def _run(nri, pod_id="pod-2", fail=True):
    return nri.deliver(E.RUN_POD_SANDBOX, "RunPodSandbox", E.RunPodSandboxRequest(pod=E.PodSandbox(id=pod_id)),
                       E.RunPodSandboxResponse, fail=fail)


def test_socket_is_private_and_removed_on_close(nri):
    assert os.stat(nri.socket_path).st_mode & 0o777 == 0o600
    nri.close()
    assert not os.path.exists(nri.socket_path)


def test_configure_and_synchronize(nri):
    p = nri.plugin("probe", "05").connect(nri.socket_path)
    assert (p.configured.runtime_name, p.configured.registration_timeout, p.configured.request_timeout) == (
        "gantry", 1000, 500)
    assert (p.synced_pods, p.synced_containers) == (["pod-1"], ["ctr-1"])
    _admitted(nri, 1)


def test_events_by_index_then_mask(nri):
    journal = []
    nri.plugin("late", "20", journal=journal).connect(nri.socket_path)
    nri.plugin("early", "03", events=["RunPodSandbox"], journal=journal).connect(nri.socket_path)
    nri.plugin("other", "10", events=["StopPodSandbox"], journal=journal).connect(nri.socket_path)
    _admitted(nri, 3)
    assert [repr(p) for p in nri.plugins] == ["03-early", "10-other", "20-late"]
    answers = _run(nri)
    assert [repr(p) for p, _ in answers] == ["03-early", "20-late"]
    assert journal == [("early", "RunPodSandbox"), ("late", "RunPodSandbox")]


def test_an_error_fails_the_call_or_is_logged(nri):
    p = nri.plugin("refuser", "00").connect(nri.socket_path)
    _admitted(nri, 1)
    p.fail["RunPodSandbox"] = "not this pod"
    with pytest.raises(PluginError, match="RunPodSandbox: NRI plugin 00-refuser failed: not this pod"):
        _run(nri)
    p.fail["RunPodSandbox"] = "still not"
    assert _run(nri, fail=False) == []
    assert [repr(x) for x in nri.plugins] == ["00-refuser"]          # an error does not disconnect


def test_a_plugin_that_does_not_answer_is_dropped(nri):
    slow = nri.plugin("slow", "01")
    slow.block["RunPodSandbox"] = threading.Event()
    slow.connect(nri.socket_path)
    fine = nri.plugin("fine", "02").connect(nri.socket_path)
    _admitted(nri, 2)
    start = time.monotonic()
    answers = _run(nri)
    assert 0.4 < time.monotonic() - start < 3
    assert [repr(p) for p, _ in answers] == ["02-fine"] and [repr(p) for p in nri.plugins] == ["02-fine"]
    assert slow.closed.wait(5)
    slow.block["RunPodSandbox"].set()
    assert [e[0] for e in fine.events] == ["RunPodSandbox"]


def test_no_registration_in_time_is_closed(nri):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(nri.socket_path)
    sock.settimeout(5)
    assert sock.recv(10) == b""                       # closed after the registration timeout (1s)
    sock.close()
    assert nri.plugins == []


def test_bad_index_is_refused(nri):
    with pytest.raises(Exception, match="plugin_idx"):
        nri.plugin("probe", "7").connect(nri.socket_path, timeout=2)
    assert nri.plugins == []


def test_unknown_method_answers_unimplemented(nri):
    p = nri.plugin("probe", "05").connect(nri.socket_path)
    with pytest.raises(Exception) as info:
        p.conn.call("nri.pkg.api.v1alpha1.Runtime", "Frobnicate", b"", 2)
    assert info.value.code == ttrpc.UNIMPLEMENTED


def test_an_event_waits_for_a_synchronizing_plugin(nri):
    release = threading.Event()
    p = nri.plugin("syncing", "05")
    original = p.serve

    def serve(service, method, payload):
        if method == "Synchronize":
            release.wait(5)
        return original(service, method, payload)
    p.serve = serve
    t = threading.Thread(target=p.connect, args=(nri.socket_path,))
    t.start()
    time.sleep(0.3)                                    # it is in Synchronize now
    delivered = []
    d = threading.Thread(target=lambda: delivered.append(_run(nri, "pod-new")))
    d.start()
    time.sleep(0.3)
    assert delivered == []                            # the event waits for the synchronization
    release.set()
    t.join(5)
    d.join(5)
    assert [repr(x) for x, _ in delivered[0]] == ["05-syncing"]
    assert [e[:2] for e in p.events] == [("RunPodSandbox", "pod-new")]


def test_a_large_synchronize_goes_in_parts_and_mux_chunks(nri, monkeypatch):
    monkeypatch.setattr(pluginmod, "SYNC_PART_BYTES", 10000)
    nri.state["containers"] = [E.Container(id="c%d" % i, args=["x" * 100]) for i in range(200)]
    p = nri.plugin("big", "05").connect(nri.socket_path)
    assert p.synced_containers == ["c%d" % i for i in range(200)]      # ~25 KB: several mux chunks per part
    assert p.synced_pods == ["pod-1"] and p.sync_parts == 3


def test_a_file_in_the_way_is_not_removed(tmp_path):
    path = tmp_path / "nri.sock"
    path.write_text("precious")
    with pytest.raises(errors.FailedPrecondition, match="is not a socket"):
        Adaptation(str(path), lambda: ([], [])).start()
    assert path.read_text() == "precious"


def test_a_stale_socket_is_replaced(tmp_path):
    path = str(tmp_path / "nri.sock")
    old = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old.bind(path)
    old.close()
    a = Adaptation(path, lambda: ([], []))
    a.start()
    try:
        assert os.stat(path).st_mode & 0o777 == 0o600
    finally:
        a.close()
