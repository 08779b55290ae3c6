"""Rebuild-and-solve against a fast re-solve, on the default scenario.

For each what-if (grid energy 0.7x / 1.3x, carbon price 50 and 100 $/t, all demand 1.2x) the scenario is loaded,
built, compiled and solved from scratch, then the same change is re-solved on one compiled
``WhatIf`` model that keeps HiGHS and the previous plan. Prints a table and writes CSV.

Usage::

    python benchmarks/resolve.py [--scenario data/scenarios/base.yaml] [--out benchmarks/results/resolve.csv]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import yaml
from rich.console import Console
from rich.table import Table

from optimizer.analysis.resolve import WhatIf
from optimizer.inputs.scenario import load_scenario
from optimizer.model import build_model
from optimizer.outputs.plan import build_plan
from optimizer.solver.milp import solve

ROOT = Path(__file__).resolve().parents[1]
#: what-if -> (WhatIf.solve arguments, the same change as a scenario document)
CASES = {
    "grid energy x0.7": (
        {"cost_scale": {"grid energy": 0.7}},
        {"overrides": {"sites": {"*": {"grid_price_usd_per_mwh": {"scale": 0.7}}}}},
    ),
    "grid energy x1.3": (
        {"cost_scale": {"grid energy": 1.3}},
        {"overrides": {"sites": {"*": {"grid_price_usd_per_mwh": {"scale": 1.3}}}}},
    ),
    "carbon 50 $/t": ({"carbon_price_usd_per_t": 50.0}, {"constraints": {"carbon_price_usd_per_t": 50.0}}),
    "carbon 100 $/t": ({"carbon_price_usd_per_t": 100.0}, {"constraints": {"carbon_price_usd_per_t": 100.0}}),
    "demand x1.2": ({"demand_scale": 1.2}, {"overrides": {"demand": {"*": {"tokens_per_yr": {"scale": 1.2}}}}}),
}


def _rebuild(path: Path, document: dict) -> tuple[float, float]:
    changed = path.parent / f".{path.stem}_whatif.yaml"
    changed.write_text(yaml.safe_dump({"extends": str(path.resolve()), **document}))
    try:
        started = time.perf_counter()
        scenario = load_scenario(changed)
        fm = build_model(scenario)
        summary = build_plan(fm, solve(fm, scenario.solver, scenario.objective)).summary
        return time.perf_counter() - started, float(summary["usd_per_mtok"])
    finally:
        changed.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "data" / "scenarios" / "base.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "resolve.csv")
    args = parser.parse_args()
    console = Console()
    started = time.perf_counter()
    what_if = WhatIf(load_scenario(args.scenario))
    first = what_if.solve()
    rows = [
        {
            "what_if": "base (build + first solve)",
            "rebuild_s": float("nan"),
            "resolve_s": time.perf_counter() - started,
            "rebuild_usd_per_mtok": float("nan"),
            "resolve_usd_per_mtok": first.usd_per_mtok,
        }
    ]
    for name, (arguments, document) in CASES.items():
        with console.status(f"{name}: rebuild and solve"):
            rebuild_s, rebuilt = _rebuild(args.scenario, document)
        with console.status(f"{name}: re-solve"):
            result = what_if.solve(**arguments)
        rows.append(
            {
                "what_if": name,
                "rebuild_s": rebuild_s,
                "resolve_s": result.solve_s,
                "rebuild_usd_per_mtok": rebuilt,
                "resolve_usd_per_mtok": result.usd_per_mtok,
            }
        )
    frame = pd.DataFrame(rows)
    frame["speed_up"] = frame["rebuild_s"] / frame["resolve_s"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)
    table = Table(title=f"Rebuild and solve vs re-solve ({args.scenario.name})")
    for column in frame.columns:
        table.add_column(column, justify="left" if column == "what_if" else "right")
    for _, row in frame.iterrows():
        table.add_row(row["what_if"], *[f"{row[c]:.4f}" if "usd" in c else f"{row[c]:.1f}" for c in frame.columns[1:]])
    console.print(table)
    console.print(f"written to {args.out}")


if __name__ == "__main__":
    main()
