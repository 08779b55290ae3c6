"""Every plan the tests produce is re-checked by the independent verifier (``aifactory verify``).

``build_plan`` is wrapped wherever it has been imported: each plan built in this process is
written to a scratch folder and verified, so a plan that breaks any constraint fails the test that
made it, whatever that test asserts itself. Plans made in other processes (sweep workers, notebook
kernels) are verified by their tests explicitly.
"""

from __future__ import annotations

import sys

import pytest

import optimizer.plan
from optimizer.verify import verify_plan

BUILD_PLAN = optimizer.plan.build_plan


@pytest.fixture(autouse=True)
def verify_every_plan(monkeypatch, tmp_path_factory):
    def build_and_verify(fm, result):
        plan = BUILD_PLAN(fm, result)
        folder = plan.write(tmp_path_factory.mktemp("verified") / "plan", fm.scenario)
        verification = verify_plan(folder)
        assert verification.ok, "\n".join(["the plan fails independent verification:", *verification.messages])
        return plan

    ours = [m for name, m in list(sys.modules.items()) if name.split(".")[0] in ("optimizer", "tests")]
    for module in ours:
        if getattr(module, "build_plan", None) is BUILD_PLAN:
            monkeypatch.setattr(module, "build_plan", build_and_verify)
