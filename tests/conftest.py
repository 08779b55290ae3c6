"""Every plan the tests produce is re-checked by the independent verifier (``aifactory verify``).

``build_plan`` is wrapped wherever it has been imported: each plan built in this process is
written to a scratch folder, which verifies it before it writes, so a plan that breaks any
constraint fails the test that made it, whatever that test asserts itself. Plans made in other
processes (sweep workers, notebook kernels) are verified by their tests explicitly.

The default scenario is solved once per test session, through the real CLI in its own process
(``base_plan_folder``): every default-lane test that needs the base plan shares that folder (and
copies it before changing anything in it). The solve starts in the background when collection ends,
so on two cores it overlaps the first tests instead of adding its own half-minute.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import optimizer.outputs.plan
from optimizer.outputs.plan import PlanFailsVerification

BUILD_PLAN = optimizer.outputs.plan.build_plan

ROOT = Path(__file__).resolve().parents[1]
BASE_SCENARIO = ROOT / "data" / "scenarios" / "base.yaml"
AIFACTORY = Path(sys.executable).parent / "aifactory"
#: the default scenario's own time limit (300 s) plus loading, writing and a busy machine
BASE_SOLVE_TIMEOUT_S = 900


class BaseSolve:
    """``aifactory solve data/scenarios/base.yaml --out DIR``, run as the README runs it, in a process
    of its own (which verifies the plan before it writes it)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="aifactory-base-plan-"))
        self.out = self.folder / "plan"
        self.log_path = self.folder / "solve.log"
        with self.log_path.open("w") as log:  # a file, not a pipe: the solver log may be long
            self.process = subprocess.Popen(
                [str(AIFACTORY), "solve", str(BASE_SCENARIO), "--out", str(self.out)],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def plan(self) -> Path:
        """The plan folder, once the solve has ended well."""
        try:
            code = self.process.wait(timeout=BASE_SOLVE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"aifactory solve base.yaml took more than {BASE_SOLVE_TIMEOUT_S} s")
        output = self.log_path.read_text()
        assert code == 0, f"aifactory solve base.yaml failed (exit code {code}):\n{output[-5000:]}"
        assert (self.out / "summary.csv").is_file(), output[-5000:]
        return self.out

    def close(self) -> None:
        if self.process.poll() is None:  # the session ended early
            self.process.terminate()
            self.process.wait(timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


BASE_SOLVE = pytest.StashKey[BaseSolve]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the default scenario's solve as soon as the tests to run are known, if one of them needs
    it: it runs beside the first tests, on the core they leave idle."""
    if session.config.option.collectonly:
        return
    if any("base_plan_folder" in getattr(item, "fixturenames", ()) for item in session.items):
        session.config.stash[BASE_SOLVE] = BaseSolve()


def pytest_sessionfinish(session: pytest.Session) -> None:
    solve = session.config.stash.get(BASE_SOLVE, None)
    if solve is not None:
        solve.close()


@pytest.fixture(scope="session")
def base_plan_folder(pytestconfig: pytest.Config) -> Path:
    """The default scenario solved once per test session through the real CLI (``BaseSolve``).
    Tests share the folder: copy it before changing anything in it."""
    if BASE_SOLVE not in pytestconfig.stash:  # asked for by name only (getfixturevalue): start it now
        pytestconfig.stash[BASE_SOLVE] = BaseSolve()
    return pytestconfig.stash[BASE_SOLVE].plan()


@pytest.fixture(autouse=True)
def verify_every_plan(monkeypatch, tmp_path_factory):
    def build_and_verify(fm, result):
        plan = BUILD_PLAN(fm, result)
        try:
            plan.write(tmp_path_factory.mktemp("verified") / "plan", fm.scenario)  # verifies before it writes
        except PlanFailsVerification as error:
            pytest.fail("\n".join(["the plan fails independent verification:", *error.messages]))
        return plan

    ours = [m for name, m in list(sys.modules.items()) if name.split(".")[0] in ("optimizer", "tests")]
    for module in ours:
        if getattr(module, "build_plan", None) is BUILD_PLAN:
            monkeypatch.setattr(module, "build_plan", build_and_verify)
