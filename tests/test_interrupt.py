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
    solve = subprocess.Popen(
        [str(AIFACTORY), "solve", str(ROOT / "data" / "scenarios" / "base.yaml"), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
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


#: moments while the program imports its libraries (before any command runs)
STARTUP_MOMENTS_S = (0.3, 1.0)


def test_ctrl_c_while_starting_is_one_line(tmp_path):
    for moment in STARTUP_MOMENTS_S:
        start = subprocess.Popen(
            [str(AIFACTORY), "stats", str(ROOT / "data" / "scenarios" / "base.yaml")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        time.sleep(moment)
        start.send_signal(signal.SIGINT)
        _, stderr = start.communicate(timeout=60)
        assert start.returncode == 130, stderr
        assert "Traceback" not in stderr and "interrupted" in stderr


def test_sigterm_during_a_forced_replacement_keeps_the_old_plan(tmp_path):
    """A scheduler's kill (SIGTERM) while --force replaces a plan: the old plan stays whole."""
    from tests.tiny import write_tiny

    scenario = write_tiny(tmp_path / "in")
    out = tmp_path / "plan"
    first = subprocess.run(
        [str(AIFACTORY), "solve", str(scenario), "--out", str(out)], capture_output=True, text=True, timeout=300
    )
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    again = subprocess.Popen(
        [str(AIFACTORY), "solve", str(scenario), "--out", str(out), "--force"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)
    again.send_signal(signal.SIGTERM)
    _, stderr = again.communicate(timeout=60)
    assert "Traceback" not in stderr
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    # the old plan, or (if the solve finished first) a new complete plan of the same scenario
    assert after.keys() == before.keys()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "plan"]
