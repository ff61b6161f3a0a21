"""gantryd's systemd unit, generated (pure): `gantryd --print-systemd-unit > /etc/systemd/system/gantryd.service`.

The unit runs the gantryd that printed it (its absolute path, so a virtualenv's gantryd finds its
gantry-shim and gantry-oci beside it) with the flags given after it.  What matters:

    KillMode=process    a stop or restart signals gantryd alone: the shims, and so the containers,
                        stay in the service's cgroup and keep running; the next gantryd finds them
                        again through their address files (as containerd.service does)
    Delegate=yes        systemd leaves the cgroups gantry-oci makes below the service alone
    Type=exec           started once gantryd's binary runs; crictl/kubelet retry until the socket serves
    LimitNOFILE, TasksMax, OOMScoreAdjust   as containerd's unit: many containers, gantryd last to go
"""
import shlex

UNIT_NAME = "gantryd.service"


def unit_text(gantryd_path, args=()):
    """The unit's text for the gantryd at ``gantryd_path`` started with ``args``."""
    exec_start = " ".join(shlex.quote(a) for a in [gantryd_path, *args])
    return "\n".join([
        "[Unit]",
        "Description=Gantry CRI daemon (gantryd)",
        "After=network.target local-fs.target",
        "",
        "[Service]",
        "Type=exec",
        "ExecStartPre=-/sbin/modprobe overlay",
        "ExecStart=%s" % exec_start,
        "Restart=always",
        "RestartSec=5",
        "KillMode=process",
        "Delegate=yes",
        "LimitNOFILE=1048576",
        "LimitNPROC=infinity",
        "LimitCORE=infinity",
        "TasksMax=infinity",
        "OOMScoreAdjust=-999",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ])


def parse_unit(text):
    """{section: {key: value}} of a unit file's text (pure; the last assignment of a key wins)."""
    sections, current = {}, None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        if current is None or not sep:
            raise ValueError("unit line %r: not a [Section] or KEY=VALUE" % raw)
        current[key.strip()] = value.strip()
    return sections
