"""`make demo` keeps working: the full-stack demo runs and its container sees what it should."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.root
def test_make_demo_runs_the_whole_stack():
    out = subprocess.run([sys.executable, "-m", "tests.demo_stack"], cwd=ROOT, capture_output=True, text=True,
                         timeout=240)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "demo OK" in out.stdout
    assert " stdout F pid:          1" in out.stdout
