"""The Pyomo formulation: one module per layer, assembled through shared sums (see core)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyomo.environ as pyo

from optimizer.model.applications import add_applications
from optimizer.model.chips import add_chips, available_chips
from optimizer.model.core import Shared, add_sets, assemble
from optimizer.model.energy import add_energy
from optimizer.model.infrastructure import add_infrastructure
from optimizer.model.policy import add_policy
from optimizer.model.workloads import add_workloads
from optimizer.inputs.scenario import Scenario


@dataclass
class FactoryModel:
    """A built model with the shared sums its plan is read from."""

    model: pyo.ConcreteModel
    shared: Shared
    scenario: Scenario
    build_s: float


def build_model(scenario: Scenario) -> FactoryModel:
    started = time.perf_counter()
    m = pyo.ConcreteModel(name=scenario.name)
    shared = Shared()
    add_sets(m, scenario)
    add_energy(m, scenario, shared)
    add_chips(m, scenario, shared)
    add_infrastructure(m, scenario, shared)
    add_workloads(m, scenario, shared, available_chips(scenario))
    add_applications(m, scenario, shared)
    add_policy(m, scenario, shared)
    assemble(m, shared)
    return FactoryModel(m, shared, scenario, time.perf_counter() - started)
