"""Ctrl-C during a solve stops it at once and leaves nothing behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AIFACTORY = Path(sys.executable).parent / "aifactory"
#: long enough for the default scenario to be loaded, built and handed to HiGHS on 2 cores
SECONDS_BEFORE_CTRL_C = 15


def test_ctrl_c_during_a_solve_writes_nothing(tmp_path):
    out = tmp_path / "plan"
    # a shell that starts jobs in the background (as CI may) has them ignore SIGINT: restore the
    # default in the child, as an interactive terminal would have it
    solve = subprocess.Popen([str(AIFACTORY), "solve", str(ROOT / "data" / "scenarios" / "base.yaml"), "--out", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(SECONDS_BEFORE_CTRL_C)
    assert solve.poll() is None, "the solve ended before Ctrl-C; the test needs a longer solve"
    pressed = time.perf_counter()
    solve.send_signal(signal.SIGINT)
    _, stderr = solve.communicate(timeout=60)
    assert time.perf_counter() - pressed < 10, "Ctrl-C took more than 10 s to stop the solve"
    assert solve.returncode == 130, stderr
    assert f"interrupted: nothing written to {out}" in stderr.replace("\n", "")
    assert "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []  # neither the plan nor a half-written staging folder
