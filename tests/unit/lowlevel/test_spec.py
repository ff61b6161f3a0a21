"""spec.validate: each ordered check, from a table of config edits and the error they must give."""
import copy

import pytest
from gantry.lowlevel import spec

from tests.fixtures import bundle


@pytest.fixture
def base(tmp_path):
    (tmp_path / "rootfs").mkdir()
    cfg = bundle.default_config(["/bin/true"])
    cfg["root"] = {"path": "rootfs"}
    return cfg, str(tmp_path)


def edit(cfg, path, value):
    cfg = copy.deepcopy(cfg)
    node = cfg
    keys = path.split(".")
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    if value is DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return cfg


DELETE = object()

CASES = [
    ("ociVersion", "2.0.0", "only runtime-spec 1.x"),
    ("ociVersion", DELETE, "only runtime-spec 1.x"),
    ("root.path", "missing", "not a directory"),
    ("process.args", [], "process.args must be a non-empty list"),
    ("process.cwd", "relative", "must be an absolute path"),
    ("process.env", ["NOEQUALS"], "is not NAME=VALUE"),
    ("process.user", {"uid": -1, "gid": 0}, "process.user.uid"),
    ("process.rlimits", [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}], "rlimit 'RLIMIT_BOGUS' is unknown"),
    ("process.rlimits", [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 1}], "soft limit 10 exceeds hard limit 1"),
    ("linux.namespaces", [{"type": "pid"}, {"type": "pid"}], "namespace pid is given twice"),
    ("linux.namespaces", [{"type": "bogus"}], "namespace type 'bogus' is unknown"),
    ("linux.namespaces", [{"type": "mount"}, {"type": "network", "path": "/nonexistent/ns"}], "does not exist"),
    ("linux.namespaces", [{"type": "mount"}], "hostname requires a uts namespace"),
    ("linux.uidMappings", [{"containerID": 0, "hostID": 1000, "size": 1}], "require a user namespace"),
    ("mounts", [{"destination": "relative", "type": "tmpfs"}], "must be an absolute path"),
    ("mounts", [{"type": "tmpfs"}], "has no destination"),
    ("linux.maskedPaths", ["relative"], "must be an absolute path"),
    ("linux.rootfsPropagation", "sideways", "rootfsPropagation 'sideways' is unknown"),
    ("linux.sysctl", {"kernel.panic": "1"}, "is not namespaced"),
    ("linux.sysctl", {"kernel.hostname": "x"}, "set hostname"),
    ("linux.devices", [{"path": "/dev/x", "type": "z"}], "type 'z' is unknown"),
    ("linux.devices", [{"path": "/dev/x", "type": "c"}], "needs major and minor"),
    ("hooks", {"prestart": [{"path": "relative"}]}, "must be absolute"),
    ("hooks", {"prerun": []}, "hook kind 'prerun' is unknown"),
    ("hooks", {"poststop": [{"path": "/bin/true", "timeout": 0}]}, "timeout must be positive"),
    ("process.capabilities", {"bounding": ["CAP_NOT_A_THING"]}, "CAP_NOT_A_THING"),
    ("process.apparmorProfile", "docker-default", "process.apparmorProfile 'docker-default': AppArmor is not"),
    ("process.selinuxLabel", "system_u:system_r:container_t:s0", "SELinux labels are not supported"),
    ("linux.intelRdt", {"closID": "x"}, "Intel RDT is not supported"),
    ("linux.personality", {"domain": "SVR4"}, "domain 'SVR4' is unknown"),
    ("linux.personality", {"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}, "flags ['ADDR_NO_RANDOMIZE'] are not"),
]


@pytest.mark.parametrize("path,value,message", CASES, ids=[c[2][:40] for c in CASES])
def test_check_rejects(base, path, value, message):
    cfg, bundle_dir = base
    with pytest.raises(spec.SpecError) as err:
        spec.validate(edit(cfg, path, value), bundle_dir)
    assert message in str(err.value)


@pytest.mark.parametrize("version", ["1.0.0", "1.0.2", "1.1.0", "1.2.0", "1.3.0", "1.9.9-dev"])
def test_any_1x_version_is_accepted(base, version):
    cfg, bundle_dir = base
    spec.validate(edit(cfg, "ociVersion", version), bundle_dir)


@pytest.mark.parametrize("domain", ["LINUX", "LINUX32"])
def test_personality_domains_are_accepted(base, domain):
    cfg, bundle_dir = base
    spec.validate(edit(cfg, "linux.personality", {"domain": domain}), bundle_dir)


def test_config_without_process_is_valid_until_start(base):
    cfg, bundle_dir = base
    spec.validate(edit(cfg, "process", DELETE), bundle_dir)


def test_sysctls_need_their_namespace(base):
    cfg, bundle_dir = base
    spec.validate(edit(cfg, "linux.sysctl", {"net.ipv4.ip_forward": "1", "kernel.shmmax": "1000"}), bundle_dir)
    no_net = edit(cfg, "linux.namespaces", [{"type": t} for t in ("mount", "uts", "ipc")])
    with pytest.raises(spec.SpecError, match="requires a new network namespace"):
        spec.validate(edit(no_net, "linux.sysctl", {"net.ipv4.ip_forward": "1"}), bundle_dir)


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(spec.SpecError, match="config.json: no such file"):
        spec.load(str(tmp_path))
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(spec.SpecError, match="parse .*config.json"):
        spec.load(str(tmp_path))
    (tmp_path / "config.json").write_text("[1]")
    with pytest.raises(spec.SpecError, match="not a JSON object"):
        spec.load(str(tmp_path))


def test_checks_run_in_order(base):
    cfg, bundle_dir = base
    bad = edit(edit(cfg, "ociVersion", "0.9"), "process.args", [])
    with pytest.raises(spec.SpecError, match="ociVersion"):
        spec.validate(bad, bundle_dir)


# Found by tests/fuzz (fuzz_spec): a config.json syntax error escaped as SystemError when nothing had
# imported `json` (gantry-oci never does), and deep nesting as RecursionError.
@pytest.mark.parametrize("text, message", [
    (b'{"ociVersion" "1.0.2"}', "Expecting ':' delimiter"),
    (b'{"ociVersion": "1.0\x01"}', "Invalid control character"),
    (b"[" * 50000, "nesting deeper"),
])
def test_load_reports_json_errors_as_spec_errors_without_json_imported(tmp_path, text, message):
    import subprocess
    import sys
    (tmp_path / "config.json").write_bytes(text)
    code = ("import sys\nfrom gantry.lowlevel import spec\nassert 'json' not in sys.modules\n"
            "try:\n    spec.load(sys.argv[1])\nexcept spec.SpecError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert message in out.stdout and "config.json" in out.stdout


# Found by tests/fuzz (fuzz_spec): a field of the wrong JSON type (a namespace given as a string, a
# mount option as an object, an rlimit as a list) escaped from the checks as AttributeError/TypeError.
@pytest.mark.parametrize("path, value, message", [
    (("linux", "namespaces"), ["pid"], r"linux.namespaces\[0\] must be an object, not str"),
    (("mounts",), [{"destination": "/x", "options": [{"ro": 1}]}], r"mounts\[0\].options\[0\] must be a string"),
    (("process", "rlimits"), [{"type": "RLIMIT_CORE", "soft": "1", "hard": 2}], r"soft must be an integer"),
    (("hooks",), {"prestart": [{"path": "/bin/true", "timeout": "5"}]}, "timeout must be an integer"),
    (("process", "rlimits"), [{"type": "RLIMIT_CORE", "soft": None, "hard": 2}], "soft must be an unsigned 64-bit"),
    (("process", "rlimits"), [{"type": "RLIMIT_CORE", "soft": 1, "hard": 1 << 64}], "hard must be an unsigned 64"),
    (("linux",), [], "linux must be an object, not list"),
    (("root", "path"), 5, "root.path must be a string"),
    (("linux", "sysctl"), {"net.a": 1}, "net.a must be a string"),
])
def test_fields_of_the_wrong_type_are_spec_errors(base, path, value, message):
    cfg, bundle_dir = copy.deepcopy(base[0]), base[1]
    node = cfg
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(spec.SpecError, match=message):
        spec.validate(cfg, bundle_dir)
