"""Output folders: what is refused, and what a kill at each step of a replacement leaves behind.

A folder is "complete" when every file holds the same version; after any kill the target must be
complete (old or new), with at most one staging folder beside it, which the next run clears.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from optimizer.outputs.folders import (
    MARKER,
    OutputFolderError,
    check_output_folder,
    clear_leftovers,
    is_ours,
    leftover_staging,
    write_folder,
)

FILES = 20
ROOT = Path(__file__).resolve().parents[1]

#: a child process that replaces TARGET by version NEW and dies by SIGNAL at STEP
CHILD = textwrap.dedent("""
    import os, shutil, signal, sys
    from pathlib import Path
    import optimizer.outputs.folders as outputs
    from optimizer.entry import _terminated

    target, new, step, signum = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    signal.signal(signal.SIGTERM, _terminated)

    def die(at):
        if at == step:
            os.kill(os.getpid(), signum)

    def fill(staging):
        for i in range({files}):
            (staging / f"t{{i}}.csv").write_text(new)
            if i == {files} // 2:
                die("half_written")
        die("written")

    exchange = outputs._exchange
    def exchanged(a, b):
        done = exchange(a, b)
        die("exchanged")
        return done
    outputs._exchange = exchanged
    outputs.write_folder(target, "plan", fill)
""").format(files=FILES)


def write_version(target: Path, version: str) -> None:
    def fill(staging: Path) -> None:
        for i in range(FILES):
            (staging / f"t{i}.csv").write_text(version)

    write_folder(target, "plan", fill)


def versions(folder: Path) -> set[str]:
    return {(folder / f"t{i}.csv").read_text() if (folder / f"t{i}.csv").exists() else "missing" for i in range(FILES)}


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
@pytest.mark.parametrize("step", ["half_written", "written", "exchanged"])
def test_a_kill_at_any_step_leaves_a_complete_plan(tmp_path: Path, step: str, signum: int) -> None:
    target = tmp_path / "plan"
    write_version(target, "old")
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(target), "new", step, str(int(signum))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode != 0, child.stderr
    assert "Traceback" not in child.stderr or signum == signal.SIGKILL
    assert versions(target) in ({"old"}, {"new"}), f"half a plan after {step}: {versions(target)}"
    assert versions(target) == ({"new"} if step == "exchanged" else {"old"})
    assert is_ours(target, "plan")
    left = leftover_staging(target)
    # SIGTERM unwinds and cleans up; SIGKILL cannot, and leaves at most one staging folder
    assert len(left) == (0 if signum == signal.SIGTERM else 1)
    said = []
    clear_leftovers(target, said.append)
    assert leftover_staging(target) == [] and len(said) == len(left)
    assert all(str(folder) in line for folder, line in zip(left, said))


def test_force_replaces_and_leaves_nothing_beside(tmp_path: Path) -> None:
    target = tmp_path / "plan"
    write_version(target, "old")
    write_version(target, "new")
    assert versions(target) == {"new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan"]


def test_a_failing_fill_leaves_the_old_plan(tmp_path: Path) -> None:
    target = tmp_path / "plan"
    write_version(target, "old")

    def fail(staging: Path) -> None:
        (staging / "t0.csv").write_text("new")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_folder(target, "plan", fail)
    assert versions(target) == {"old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan"]


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda tmp: Path(""), "current folder"),
        (lambda tmp: Path("."), "current folder"),
        (lambda tmp: tmp.parent, "above it"),
        (lambda tmp: tmp / "inputs" / "plan", "scenario's inputs"),
        (lambda tmp: tmp / "inputs", "scenario's inputs"),
        (lambda tmp: tmp, "above it"),
    ],
    ids=["empty", "dot", "parent", "inside-inputs", "inputs", "cwd"],
)
def test_folders_that_hold_inputs_or_the_current_folder_are_refused(tmp_path: Path, monkeypatch, make, words) -> None:
    (tmp_path / "inputs").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputFolderError, match=words):
        check_output_folder(make(tmp_path), "plan", protected=[tmp_path / "inputs"], force=True)


def test_only_our_own_kind_of_folder_is_replaced(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / MARKER).write_text('{"kind": "sweep"}')
    with pytest.raises(OutputFolderError, match="not a plan folder"):
        check_output_folder(sweep, "plan", force=True)
    assert check_output_folder(sweep, "sweep", resume=True) == sweep
    (sweep / MARKER).write_text("not json")
    with pytest.raises(OutputFolderError, match="not a sweep folder"):
        check_output_folder(sweep, "sweep", resume=True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_folder_without_write_permission_is_refused(tmp_path: Path, monkeypatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputFolderError, match="permission denied"):
        check_output_folder(locked / "plan", "plan")


def test_a_full_disk_is_one_line_and_keeps_the_old_plan(tmp_path: Path, monkeypatch) -> None:
    """Disk full while the plan is written: exit 2, one line, the earlier plan untouched."""
    import pandas as pd
    from typer.testing import CliRunner

    from optimizer.cli import app
    from tests.tiny import write_tiny

    scenario = write_tiny(tmp_path / "in")
    out = tmp_path / "plan"
    assert CliRunner().invoke(app, ["solve", str(scenario), "--out", str(out)]).exit_code == 0
    before = (out / "summary.csv").read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device", "summary.csv")

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    result = CliRunner().invoke(app, ["solve", str(scenario), "--out", str(out), "--force"])
    assert result.exit_code == 2, result.output
    assert "disk is full" in result.output and "Traceback" not in result.output
    assert (out / "summary.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "plan"]
