"""gantryd's generated systemd unit: the keys that matter, and systemd's own verdict when it is here."""
import os
import shutil
import subprocess

import pytest
from gantry.highlevel import daemon, systemdunit


def test_unit_keys():
    unit = systemdunit.parse_unit(systemdunit.unit_text("/opt/gantry/bin/gantryd", ["--root", "/srv/my root"]))
    svc = unit["Service"]
    assert svc["ExecStart"] == "/opt/gantry/bin/gantryd --root '/srv/my root'"
    assert svc["KillMode"] == "process"          # a restart keeps the shims and their containers
    assert svc["Delegate"] == "yes"
    assert svc["Type"] == "exec"
    assert svc["Restart"] == "always"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    assert set(unit) == {"Unit", "Service", "Install"}


def test_parse_unit_refuses_a_line_outside_a_section():
    with pytest.raises(ValueError, match="not a"):
        systemdunit.parse_unit("KillMode=process\n")


def test_gantryd_prints_its_unit_with_the_other_flags(capsys):
    assert daemon.main(["--print-systemd-unit", "--root", "/srv/g"]) == 0
    svc = systemdunit.parse_unit(capsys.readouterr().out)["Service"]
    exe = svc["ExecStart"].split()
    assert os.path.isabs(exe[0]) and exe[1:] == ["--root", "/srv/g"]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed here")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path):
    exe = tmp_path / "gantryd"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    unit = tmp_path / systemdunit.UNIT_NAME
    unit.write_text(systemdunit.unit_text(str(exe), ["--root", "/srv/g"]))
    out = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    # only lines about this unit count (the host's other units may have their own complaints)
    mine = [line for line in (out.stdout + out.stderr).splitlines() if unit.name in line or str(exe) in line]
    assert not mine, "\n".join(mine)
