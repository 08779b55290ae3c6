"""Every plan the tests produce is re-checked by the independent verifier (``aifactory verify``).

``build_plan`` is wrapped wherever it has been imported: each plan built in this process is
written to a scratch folder, which verifies it before it writes, so a plan that breaks any constraint fails the test that
made it, whatever that test asserts itself. Plans made in other processes (sweep workers, notebook
kernels) are verified by their tests explicitly.
"""

from __future__ import annotations

import sys

import pytest

import optimizer.outputs.plan
from optimizer.outputs.plan import PlanFailsVerification

BUILD_PLAN = optimizer.outputs.plan.build_plan


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
