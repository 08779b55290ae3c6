"""The Pyomo formulation: one module per layer, assembled through shared sums (see core)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyomo.environ as pyo

from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.scenario import Scenario, ScenarioError
from optimizer.model.applications import ApplicationsHandles, add_applications
from optimizer.model.chips import ChipsHandles, add_chips
from optimizer.model.core import CoreHandles, Shared, add_sets, assemble
from optimizer.model.energy import EnergyHandles, add_energy
from optimizer.model.infrastructure import InfrastructureHandles, add_infrastructure
from optimizer.model.policy import PolicyHandles, add_policy
from optimizer.model.workloads import WorkloadsHandles, add_workloads


@dataclass
class FactoryModel:
    """A built model: the Pyomo model, its shared sums, and each layer's handles.

    Code outside ``optimizer.model`` reaches the model's families through the handles (``fm.energy.
    capacity_mw``, ``fm.infrastructure.build``, ...), typed and documented per layer, never through
    attribute names of the Pyomo model. Once solved, each layer's ``report`` (``optimizer.model.chips.
    report(fm.chips, ...)``, ...) turns its handles' values into its plan tables.
    """

    model: pyo.ConcreteModel
    """the Pyomo model (in a build-out, the block of one planning year)"""
    shared: Shared
    scenario: Scenario
    inputs: DerivedInputs
    """the derived inputs the model was built from (shared with every later reader)"""
    build_s: float
    core: CoreHandles
    energy: EnergyHandles
    chips: ChipsHandles
    infrastructure: InfrastructureHandles
    workloads: WorkloadsHandles
    applications: ApplicationsHandles
    policy: PolicyHandles


def build_model(scenario: Scenario, inputs: DerivedInputs | None = None) -> FactoryModel:
    """Build the Pyomo model of ``scenario`` layer by layer, then its shared balances and objectives.

    ``inputs`` are the scenario's derived inputs, computed here unless a caller already holds them.
    A scenario with ``buildout.planning_years`` is a build-out (``optimizer.model.buildout``), not one year.
    """
    if scenario.buildout.planning_years is not None:
        raise ScenarioError(
            f"{scenario.source}: buildout.planning_years makes this scenario a build-out over years, and this "
            "command plans one year: leave planning_years out for one year; aifactory solve, verify, plot, "
            "compare and diagnose plan and read build-outs (in Python: optimizer.model.buildout.build_buildout)"
        )
    started = time.perf_counter()
    inputs = inputs if inputs is not None else DerivedInputs(scenario)
    return build_layers(pyo.ConcreteModel(name=scenario.name), scenario, inputs, started)


def build_layers(m: pyo.Block, scenario: Scenario, inputs: DerivedInputs, started: float) -> FactoryModel:
    """Build every layer of ``scenario`` into ``m`` (a model, or a build-out's block of one planning
    year), then the shared balances and objectives; ``started``: when the build began (``build_s``)."""
    shared = Shared()
    add_sets(m, scenario, inputs)
    energy = add_energy(m, scenario, inputs, shared)
    chips = add_chips(m, scenario, inputs, shared)
    infrastructure = add_infrastructure(m, scenario, inputs, shared)
    workloads = add_workloads(m, inputs, shared)
    applications = add_applications(m, scenario, inputs, shared)
    policy = add_policy(m, scenario, shared)
    core = assemble(m, shared)
    return FactoryModel(
        m,
        shared,
        scenario,
        inputs,
        time.perf_counter() - started,
        core=core,
        energy=energy,
        chips=chips,
        infrastructure=infrastructure,
        workloads=workloads,
        applications=applications,
        policy=policy,
    )
