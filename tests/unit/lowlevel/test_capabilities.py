"""Capability names, validation, and the order of the kernel calls."""
import pytest
from gantry.lowlevel import capabilities as caps


class Recorder:
    def __init__(self):
        self.calls = []

    def prctl(self, option, arg2=0, arg3=0, arg4=0, arg5=0):
        self.calls.append(("prctl", option, arg2, arg3))

    def capset(self, effective, permitted, inheritable):
        self.calls.append(("capset", effective, permitted, inheritable))


def test_table_matches_kernel_numbers():
    assert caps.NUMBERS["CAP_CHOWN"] == 0
    assert caps.NUMBERS["CAP_SYS_ADMIN"] == 21
    assert caps.NUMBERS["CAP_AUDIT_READ"] == 37
    assert caps.NUMBERS["CAP_PERFMON"] == 38
    assert caps.NUMBERS["CAP_BPF"] == 39
    assert caps.NUMBERS["CAP_CHECKPOINT_RESTORE"] == 40
    assert len(caps.NAMES) == len(set(caps.NAMES)) == 41


def test_last_cap_reads_the_file(tmp_path):
    f = tmp_path / "cap_last_cap"
    f.write_text("37\n")
    assert caps.last_cap(str(f)) == 37
    assert caps.last_cap(str(tmp_path / "missing")) == 40


def test_last_cap_asks_the_kernel_without_proc(tmp_path):
    class Kernel(Recorder):
        def prctl(self, option, arg2=0, arg3=0, arg4=0, arg5=0):
            super().prctl(option, arg2, arg3, arg4, arg5)
            if option == caps.PR_CAPBSET_READ and arg2 > 37:
                raise OSError(22, "Invalid argument")
    assert caps.last_cap(str(tmp_path / "missing"), sys=Kernel()) == 37


@pytest.mark.parametrize("bad,match", [
    ({"bounding": ["CAP_NOPE"]}, "unknown capability 'CAP_NOPE'"),
    ({"effective": ["CAP_CHOWN", 5]}, "unknown capability 5"),
    ({"permited": []}, "unknown set 'permited'"),
    ({"ambient": "CAP_CHOWN"}, "must be a list"),
    (["CAP_CHOWN"], "must be an object"),
])
def test_validate_rejects(bad, match):
    with pytest.raises(caps.CapabilityError, match=match):
        caps.validate(bad)


def test_validate_accepts():
    caps.validate(None)
    caps.validate({s: ["CAP_CHOWN", "CAP_BPF"] for s in caps.SETS})
    caps.validate({"bounding": None})


def test_mask_and_names():
    assert caps.mask(["CAP_CHOWN", "CAP_KILL"]) == 0b100001
    assert caps.mask(["CAP_BPF", "CAP_CHOWN"], cap_last=38) == 1   # above cap_last: skipped
    assert caps.names_of(0xa80425fb)[:3] == ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER"]


def test_apply_order():
    config = {"bounding": ["CAP_CHOWN", "CAP_NET_RAW", "CAP_SETPCAP"], "effective": ["CAP_CHOWN"],
              "permitted": ["CAP_CHOWN", "CAP_NET_RAW"], "inheritable": ["CAP_NET_RAW"], "ambient": ["CAP_NET_RAW"]}
    sys = Recorder()
    caps.apply(sys, config, switch_user=lambda: sys.calls.append(("setuid",)), cap_last=40)
    drops = [c[2] for c in sys.calls if c[:2] == ("prctl", caps.PR_CAPBSET_DROP)]
    assert drops == [n for n in range(41) if n not in (0, 8, 13)]
    order = [c[0] if c[0] != "prctl" else (c[1], c[2]) for c in sys.calls if not (c[0] == "prctl" and c[1] == 24)]
    assert order == [(caps.PR_SET_KEEPCAPS, 1), "setuid", (caps.PR_SET_KEEPCAPS, 0), "capset",
                     (caps.PR_CAP_AMBIENT, caps.PR_CAP_AMBIENT_CLEAR_ALL), (caps.PR_CAP_AMBIENT, caps.PR_CAP_AMBIENT_RAISE)]
    # the bounding drops come before anything else
    assert sys.calls.index(("prctl", caps.PR_SET_KEEPCAPS, 1, 0)) == len(drops)
    capset = [c for c in sys.calls if c[0] == "capset"][0]
    assert capset == ("capset", 1, 1 | 1 << 13, 1 << 13)
    assert sys.calls[-1] == ("prctl", caps.PR_CAP_AMBIENT, caps.PR_CAP_AMBIENT_RAISE, 13)


def test_empty_config_drops_everything():
    sys = Recorder()
    caps.apply(sys, {}, cap_last=40)
    assert ("capset", 0, 0, 0) in sys.calls
    assert sum(1 for c in sys.calls if c[1] == caps.PR_CAPBSET_DROP) == 41


def test_capset_failure_names_what_the_runtime_lacks():
    class Failing(Recorder):
        def capset(self, *a):
            raise PermissionError(1, "Operation not permitted")

        def capget(self):
            everything_but_sys_resource = ((1 << 41) - 1) & ~(1 << 24)
            return everything_but_sys_resource, everything_but_sys_resource, 0
    with pytest.raises(OSError, match="does not hold CAP_SYS_RESOURCE"):
        caps.finish(Failing(), {"effective": ["CAP_CHOWN", "CAP_SYS_RESOURCE"]}, cap_last=40)


def test_prctl_failure_names_the_call():
    class Failing(Recorder):
        def prctl(self, *a):
            raise PermissionError(1, "Operation not permitted")
    with pytest.raises(OSError, match="prctl.*prepare"):
        caps.prepare(Failing(), {}, cap_last=40)


K, N = "CAP_KILL", "CAP_NET_BIND_SERVICE"


@pytest.mark.parametrize("config, refused", [
    # runc spec: ambient = effective = permitted, no inheritable set
    ({"permitted": [K, N], "ambient": [K, N]}, [(K, "inheritable"), (N, "inheritable")]),
    ({"permitted": [K, N], "inheritable": [], "ambient": [K]}, [(K, "inheritable")]),
    ({"permitted": [K], "inheritable": [K, N], "ambient": [K, N]}, [(N, "permitted")]),
    ({"inheritable": [K], "ambient": ["cap_kill"]}, [(K, "permitted")]),
    ({"ambient": [K]}, [(K, "permitted and inheritable")]),
    ({"permitted": [K], "inheritable": [K], "ambient": [K]}, []),
    ({"ambient": ["CAP_CHECKPOINT_RESTORE"]}, []),            # above cap_last: skipped like everywhere
    ({}, []),
])
def test_refused_ambient(config, refused):
    assert caps.refused_ambient(config, cap_last=39) == refused


def test_plan_leaves_refused_ambient_out_and_warns():
    config = {"bounding": [K, N], "effective": [K, N], "permitted": [K, N], "inheritable": [N], "ambient": [K, N]}
    raises = [args[2] for _, call, args in caps.plan(config, 40)
              if call == "prctl" and args[:2] == (caps.PR_CAP_AMBIENT, caps.PR_CAP_AMBIENT_RAISE)]
    assert raises == [caps.NUMBERS[N]]
    [warning] = caps.ambient_warnings(config, 40)
    assert "CAP_KILL" in warning and "inheritable" in warning
