"""What-if sweeps: solve many variants of one scenario, in parallel, locally or on a Dask cluster.

A sweep file names a base scenario and the parameters to vary::

    scenario: ../data/scenarios/base.yaml       # relative to the sweep file
    mode: grid                                   # grid (every combination) | zip | sample | one_at_a_time
    samples: 20                                  # sample mode: number of cases (seeded)
    seed: 1
    parameters:
      carbon_price:  {set: constraints.carbon_price_usd_per_t, values: [0, 50, 100]}
      power_price:   {set: overrides.sites.*.grid_price_usd_per_mwh, scale: [0.7, 1.0, 1.3]}
      b200_supply:   {set: overrides.chips.b200.supply_limit_chips, range: [50000, 200000]}

``set`` is a dotted path into the scenario YAML (``overrides.<table>.<row id>.<column>`` for table
values, any option otherwise); ``values`` lists values, ``scale`` lists factors (``{scale: x}``
overrides), ``range: [low, high]`` draws uniformly in sample mode. ``one_at_a_time`` solves the base
scenario, then each value of each parameter with the others left as the base has them (the
design behind a tornado chart: ``aifactory plot OUT``). Each case becomes a scenario
that ``extends`` the base, is solved in its own process and written to ``OUT/<case id>/``;
``OUT/sweep.csv`` holds one row per case: its parameters, status, reason and headline results.
A failed or infeasible case is recorded and does not stop the others. Running the sweep again
skips cases whose plan is already written: a sweep resumes where it stopped.
"""

from __future__ import annotations

import itertools
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from optimizer.contract import PLAN_STATUSES
from optimizer.inputs.safe_io import UnsafeFileError, load_yaml
from optimizer.inputs.scenario import ScenarioError, merge_documents
from optimizer.outputs.folders import is_ours, write_marker

if TYPE_CHECKING:
    from rich.console import Console

MODES = ("grid", "zip", "sample", "one_at_a_time")
SWEEP_KEYS = {"scenario", "mode", "samples", "seed", "parameters", "name", "description"}
#: statuses of a case that has a plan
SOLVED = PLAN_STATUSES
#: headline columns of summary.csv copied into sweep.csv
RESULT_COLUMNS = (
    "usd_per_mtok",
    "energy_usd_per_mtok",
    "chips_usd_per_mtok",
    "infrastructure_usd_per_mtok",
    "mip_gap",
    "total_cost_usd_per_yr",
    "delivered_tokens_per_yr",
    "emissions_kg_per_mtok",
    "water_l_per_mtok",
    "sites_built",
    "it_capacity_mw",
    "chips",
    "build_s",
    "solve_s",
)


@dataclass(frozen=True)
class Parameter:
    name: str
    path: tuple[str, ...]
    values: tuple[Any, ...]  # values or scale factors (grid/zip); (low, high) for a range
    kind: str  # "values" | "scale" | "range"


@dataclass(frozen=True)
class Case:
    case_id: str
    values: dict[str, Any]  # parameter name -> value or factor
    document: dict  # the scenario YAML of this case


def _parameter(name: str, spec: Any, where: str) -> Parameter:
    if name in RESULT_COLUMNS or name in ("case_id", "status", "reason", "wall_s", "variant"):
        raise ScenarioError(f"{where}: parameter name '{name}' is a column of sweep.csv already; rename it")
    if not isinstance(spec, dict) or "set" not in spec:
        raise ScenarioError(f"{where}: parameters.{name} must be a mapping with 'set' and one of values/scale/range")
    kinds = [k for k in ("values", "scale", "range") if k in spec]
    if len(kinds) != 1:
        raise ScenarioError(
            f"{where}: parameters.{name} needs exactly one of values, scale, range (found {kinds or 'none'})"
        )
    kind, values = kinds[0], spec[kinds[0]]
    if not isinstance(values, list) or not values:
        raise ScenarioError(f"{where}: parameters.{name}.{kind} must be a non-empty list")
    if kind == "range" and (
        len(values) != 2 or not all(isinstance(v, (int, float)) for v in values) or values[0] > values[1]
    ):
        raise ScenarioError(f"{where}: parameters.{name}.range must be [low, high] with low <= high")
    if kind == "scale" and not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ScenarioError(f"{where}: parameters.{name}.scale must list numbers")
    if any(isinstance(v, float) and not math.isfinite(v) for v in values):
        raise ScenarioError(f"{where}: parameters.{name}.{kind} must list finite numbers, not {values!r}")
    path = tuple(str(spec["set"]).split("."))
    if path[0] == "overrides" and len(path) != 4:
        raise ScenarioError(f"{where}: parameters.{name}.set '{spec['set']}': use overrides.<table>.<row id>.<column>")
    if kind == "scale" and path[0] != "overrides":
        raise ScenarioError(f"{where}: parameters.{name}: scale applies to table values (overrides.*); use values")
    return Parameter(name, path, tuple(values), kind)


def _nested(path: tuple[str, ...], value: Any) -> dict:
    for key in reversed(path):
        value = {key: value}
    return value


def _case_id(values: dict[str, Any]) -> str:
    text = "_".join(
        f"{name}={value:.6g}" if isinstance(value, float) else f"{name}={value}" for name, value in values.items()
    )
    return re.sub(r"[^A-Za-z0-9=.+_-]+", "-", text)


def load_sweep(path: str | Path) -> list[Case]:
    """Read a sweep file and expand it into cases (each a scenario document extending the base)."""
    path = Path(path)
    try:
        document = load_yaml(path, "sweep file") or {}
    except UnsafeFileError as error:
        raise ScenarioError(str(error)) from None
    except yaml.YAMLError as error:
        raise ScenarioError(f"{path}: not valid YAML: {' '.join(str(error).split())}") from None
    if not isinstance(document, dict):
        raise ScenarioError(f"{path}: a sweep must be a mapping of keys to values")
    if not isinstance(document.get("parameters", {}), dict):
        raise ScenarioError(
            f"{path}: parameters must map each parameter's name to {{set: ..., values: [...]}}, "
            f"not {type(document['parameters']).__name__}"
        )
    if not isinstance(document.get("scenario", ""), str):
        raise ScenarioError(f"{path}: scenario must be a path to a scenario YAML")
    unknown = set(document) - SWEEP_KEYS
    if unknown:
        raise ScenarioError(f"{path}: unknown keys {sorted(unknown)}; a sweep has {sorted(SWEEP_KEYS)}")
    if "scenario" not in document or "parameters" not in document:
        raise ScenarioError(f"{path}: a sweep needs 'scenario' (the base YAML) and 'parameters'")
    base = (path.parent / str(document["scenario"])).resolve()
    if not base.exists():
        raise ScenarioError(f"{path}: scenario '{document['scenario']}' not found ({base})")
    mode = document.get("mode", "grid")
    if mode not in MODES:
        raise ScenarioError(f"{path}: mode '{mode}' is not one of {MODES}")
    parameters = [_parameter(name, spec, str(path)) for name, spec in (document["parameters"] or {}).items()]
    if not parameters:
        raise ScenarioError(f"{path}: parameters is empty")
    ranges = [p.name for p in parameters if p.kind == "range"]
    if ranges and mode != "sample":
        raise ScenarioError(f"{path}: parameters {ranges} give a range, which needs mode: sample")

    if mode == "grid":
        combinations = list(itertools.product(*(p.values for p in parameters)))
    elif mode == "one_at_a_time":
        # None leaves a parameter as the base scenario has it; the first case is the base itself
        combinations = [(None,) * len(parameters)] + [
            tuple(value if q is p else None for q in parameters) for p in parameters for value in p.values
        ]
    elif mode == "zip":
        lengths = {p.name: len(p.values) for p in parameters}
        if len(set(lengths.values())) != 1:
            raise ScenarioError(f"{path}: mode zip needs lists of equal length, got {lengths}")
        combinations = list(zip(*(p.values for p in parameters)))
    else:
        samples = document.get("samples")
        if not isinstance(samples, int) or samples < 1:
            raise ScenarioError(f"{path}: mode sample needs 'samples', a positive whole number")
        rng = np.random.default_rng(document.get("seed", 0))
        combinations = [
            tuple(
                float(rng.uniform(*p.values)) if p.kind == "range" else p.values[rng.integers(len(p.values))]
                for p in parameters
            )
            for _ in range(samples)
        ]

    cases = []
    for number, combination in enumerate(combinations):
        values = {p.name: value for p, value in zip(parameters, combination)}
        scenario = {"extends": str(base), "name": f"{document.get('name', path.stem)}_{number:03d}"}
        for p, value in zip(parameters, combination):
            if value is not None:
                scenario = merge_documents(scenario, _nested(p.path, {"scale": value} if p.kind == "scale" else value))
        label = _case_id({k: v for k, v in values.items() if v is not None}) or "base"
        cases.append(Case(f"{number:03d}_{label}", values, scenario))
    return cases


def variant_cases(scenario: str | Path, variants: dict[str, dict]) -> list[Case]:
    """One case per named variant, each a scenario document (overrides, constraints, ...) laid
    over the base scenario file; for questions that are not a grid, e.g. from a notebook."""
    base = Path(scenario).resolve()
    if not base.exists():
        raise ScenarioError(f"scenario '{scenario}' not found ({base})")
    cases = []
    for number, (name, changes) in enumerate(variants.items()):
        document = merge_documents({"extends": str(base), "name": f"{base.stem}_{number:03d}"}, changes or {})
        cases.append(Case(f"{number:03d}_{_case_id({'variant': name})}", {"variant": name}, document))
    return cases


def solve_case(case: Case, out: str | Path) -> dict:
    """Solve one case into ``out/<case id>/`` and return its sweep.csv row (never raises)."""
    from optimizer.inputs.scenario import load_scenario
    from optimizer.model import build_model
    from optimizer.outputs.plan import PlanFailsVerification, build_plan
    from optimizer.solver.milp import SolveError, solve

    folder = Path(out) / case.case_id
    folder.mkdir(parents=True, exist_ok=True)
    scenario_path = folder / "case.yaml"
    scenario_path.write_text(yaml.safe_dump(case.document, sort_keys=False))
    row = {"case_id": case.case_id, **case.values}
    started = time.perf_counter()
    try:
        scenario = load_scenario(scenario_path)
        fm = build_model(scenario)
        plan = build_plan(fm, solve(fm, scenario.solver, scenario.objective))
        plan.write(folder / "plan", scenario, force=True)
        summary = plan.summary
        row.update(status=summary["status"], reason="", **{c: summary[c] for c in RESULT_COLUMNS})
    except ScenarioError as error:
        row.update(status="input_error", reason=str(error))
    except PlanFailsVerification as error:
        row.update(status="failed_verification", reason=str(error))
    except SolveError as error:
        row.update(status="no_plan", reason=str(error))
    except Exception as error:  # a bug in one case must not stop the sweep; its reason is kept
        row.update(status="failed", reason=f"{type(error).__name__}: {error}")
    row["wall_s"] = time.perf_counter() - started
    return row


def finished_row(case: Case, out: Path) -> dict | None:
    """The sweep.csv row of a case already solved in an earlier run (same case file), else None."""
    folder = out / case.case_id
    summary = folder / "plan" / "summary.csv"
    case_file = folder / "case.yaml"
    if not summary.exists() or not case_file.exists() or yaml.safe_load(case_file.read_text()) != case.document:
        return None
    values = pd.read_csv(summary).iloc[0]
    return {
        "case_id": case.case_id,
        **case.values,
        "status": values["status"],
        "reason": "",
        **{c: values[c] for c in RESULT_COLUMNS},
        "wall_s": 0.0,
    }


def write_table(rows: list[dict], out: Path) -> Path:
    """sweep.csv, one row per case in case order, written atomically."""
    frame = pd.DataFrame(rows).sort_values("case_id").reset_index(drop=True)
    path = out / "sweep.csv"
    staging = out / ".sweep.csv.tmp"
    frame.to_csv(staging, index=False)
    staging.replace(path)
    return path


def run_sweep(
    cases: list[Case],
    out: str | Path,
    scheduler: str | None = None,
    workers: int | None = None,
    console: Console | None = None,
) -> pd.DataFrame:
    """Solve every case not already solved, in parallel, with a progress bar; returns sweep.csv.

    Without ``scheduler`` a local Dask cluster of ``workers`` processes (default: one per core) runs
    the cases; with it, the cases go to the existing Dask cluster at that address.
    """
    import os

    from dask.distributed import Client, LocalCluster, as_completed
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not is_ours(out, "sweep"):
        write_marker(out, "sweep")
    rows, todo = [], []
    for case in cases:
        row = finished_row(case, out)
        (rows.append(row) if row is not None else todo.append(case))
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True, dashboard_address=None
        )
    client = Client(scheduler if scheduler is not None else cluster)
    try:
        futures = [client.submit(solve_case, case, str(out), pure=False) for case in todo]
        failed = 0
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("", total=len(cases), completed=len(rows))

            def describe() -> str:
                running = sum(1 for f in futures if f.status == "pending")
                return (
                    f"cases: {len(rows)} done ({len(cases) - len(todo)} from before), {running} running, "
                    f"{failed} failed"
                )

            progress.update(task, description=describe())
            for future in as_completed(futures):
                row = future.result()
                rows.append(row)
                failed += row["status"] not in SOLVED
                write_table(rows, out)  # after every case, so an interrupted sweep keeps its results
                progress.update(task, advance=1, description=describe())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    write_table(rows, out)
    return pd.read_csv(out / "sweep.csv")
