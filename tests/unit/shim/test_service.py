"""The service's dispatch table covers the API; preconditions refuse without touching the runtime."""
import pytest
from gantry.api import shim_pb2, shimcalls
from gantry.shim.errors import FailedPrecondition, NotFound
from gantry.shim.service import Config, ShimService


@pytest.fixture
def service(tmp_path):
    return ShimService(None, Config("c1", str(tmp_path / "b"), "/nonexistent-runtime", str(tmp_path / "s")))


def test_every_call_has_a_handler(service):
    assert set(service.handlers()) == set(shimcalls.CALLS)


def test_connect_before_create(service):
    r = service.Connect(shim_pb2.ConnectRequest(), None)
    assert (r.task_pid, r.id, r.version) == (0, "c1", "gantry.shim.v1")


@pytest.mark.parametrize("method, request_", [
    ("Start", shim_pb2.StartRequest()), ("State", shim_pb2.StateRequest()), ("Kill", shim_pb2.KillRequest()),
    ("Wait", shim_pb2.WaitRequest()), ("Pause", shim_pb2.PauseRequest()), ("Stats", shim_pb2.StatsRequest()),
    ("Exec", shim_pb2.ExecRequest(exec_id="e")),
])
def test_calls_before_create_are_failed_preconditions(service, method, request_):
    with pytest.raises(FailedPrecondition, match="not created"):
        service.handlers()[method](request_, None)


def test_unknown_exec_is_not_found(service):
    with pytest.raises(NotFound, match="exec 'nope'"):
        service.State(shim_pb2.StateRequest(exec_id="nope"), None)


def test_kill_of_an_exec_never_started_refuses_instead_of_signalling_pid_0(service):
    from gantry.shim.task import Process
    init, e = Process(""), Process("e1")
    init.transition("create")
    init.transition("start")
    e.transition("create")
    service.procs.update({"": init, "e1": e})
    with pytest.raises(FailedPrecondition, match="kill exec 'e1': process is CREATED"):
        service.Kill(shim_pb2.KillRequest(exec_id="e1", signal=9), None)


def test_create_refuses_a_path_with_a_nul_byte(service):
    # found by tests/fuzz (fuzz_shim_server): the ValueError of os.open came back as INTERNAL
    from gantry.shim.errors import InvalidArgument
    with pytest.raises(InvalidArgument, match="log_path .*NUL"):
        service.Create(shim_pb2.CreateRequest(log_path="/var/log/a\0b"), None)
    with pytest.raises(InvalidArgument, match="bundle .*NUL"):
        service.Create(shim_pb2.CreateRequest(bundle="/b\0"), None)
