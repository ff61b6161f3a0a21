"""freezer: pause/resume.  v1 freezer.state FROZEN/THAWED; v2 cgroup.freeze 1/0.

``*_write`` give the file and value; ``*_state`` read back 'frozen' or
'thawed' (a v1 cgroup in FREEZING is still 'thawed' until the kernel finishes).
"""

from . import keyed

V1_FILE = "freezer.state"
V2_FILE = "cgroup.freeze"


def v1_write(frozen):
    return (V1_FILE, "FROZEN" if frozen else "THAWED")


def v2_write(frozen):
    return (V2_FILE, "1" if frozen else "0")


def v1_state(text):
    return "frozen" if (text or "").strip() == "FROZEN" else "thawed"


def v2_state(events_text):
    """From cgroup.events ("frozen 1" once every task is stopped)."""
    return "frozen" if keyed.parse(events_text).get("frozen") == 1 else "thawed"
