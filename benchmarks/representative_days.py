"""How many representative days are enough? Solve a reduced case with 4, 8, 16 and 32 typical days
(plus the three extreme days) and with all 365 days in calendar order, and compare.

For each run the table gives the cost per token, the capacities chosen, the model size and the
times. "full-year check" then fixes each design's sites, chips, cooling, solar, wind and storage and
re-runs the full 8760-hour year, letting only grid import and gas engines adjust: the cost per token
of that design in the real year, and the firm capacity (gas) it had to add. A design that needs no
extra firm capacity and keeps its cost was sized correctly by its representative days.

Usage::

    python benchmarks/representative_days.py [--scenario benchmarks/scenarios/reduced_2_sites.yaml]
        [--days 4 8 16 32] [--out benchmarks/results/representative_days.csv]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import yaml
from rich.console import Console
from rich.table import Table

from optimizer.inputs.scenario import load_scenario
from optimizer.model import build_model
from optimizer.outputs.plan import build_plan
from optimizer.solver.milp import solve

HERE = Path(__file__).resolve().parent
FULL_YEAR = 365
FIXED_KINDS = ("solar", "wind")


def _fixed_components(fm) -> tuple:
    """The variables a design fixes in the full-year check: everything but grid import and gas engines
    (and the capacities of :data:`FIXED_KINDS`, fixed by :func:`_fix_design`)."""
    return (
        fm.infrastructure.build,
        fm.infrastructure.cooling,
        fm.chips.racks,
        fm.infrastructure.it_capacity_mw,
        fm.energy.storage_power_mw,
        fm.energy.storage_energy_mwh,
    )


def _solve(scenario, fix_from=None):
    started = time.perf_counter()
    fm = build_model(scenario)
    if fix_from is not None:
        _fix_design(fm, fix_from)
    result = solve(fm, scenario.solver, scenario.objective)
    return fm, build_plan(fm, result), time.perf_counter() - started


def _fix_design(fm, design) -> None:
    """Fix the full-year model's long-lived choices to those of a solved representative-day model."""
    kinds = fm.scenario.tables["power_techs"]["kind"]
    for target, values in zip(_fixed_components(fm), _fixed_components(design), strict=True):
        for index, var in target.items():
            var.fix(values[index].value or 0.0)
    for (s, g), var in fm.energy.capacity_mw.items():
        if kinds[g] in FIXED_KINDS:
            var.fix(design.energy.capacity_mw[s, g].value or 0.0)


def _capacities(plan) -> dict[str, float]:
    power = plan.tables["power"]
    by_tech = power.groupby("tech_id")["capacity_mw"].sum()
    storage_mwh = power["energy_capacity_mwh"].fillna(0.0).sum()
    return {**{f"{tech}_mw": mw for tech, mw in by_tech.items()}, "storage_mwh": storage_mwh}


def _row(label, days, plan, seconds) -> dict:
    s = plan.summary
    return {
        "run": label,
        "representative_days": days,
        "periods": int(s["periods"]),
        "usd_per_mtok": s["usd_per_mtok"],
        "energy_usd_per_mtok": s["energy_usd_per_mtok"],
        "emissions_kg_per_mtok": s["emissions_kg_per_mtok"],
        "status": s["status"],
        "mip_gap": s["mip_gap"],
        "variables": int(s["variables"]),
        "constraints": int(s["constraints"]),
        "nonzeros": int(s["nonzeros"]),
        "build_s": s["build_s"],
        "solve_s": s["solve_s"],
        "wall_s": seconds,
        "rmse_solar_cf": s["aggregation_rmse_solar_cf"],
        "rmse_wind_cf": s["aggregation_rmse_wind_cf"],
        "rmse_temp_c": s["aggregation_rmse_temp_c"],
        **_capacities(plan),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", type=Path, default=HERE / "scenarios" / "reduced_2_sites.yaml")
    parser.add_argument("--days", type=int, nargs="+", default=[4, 8, 16, 32])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "representative_days.csv")
    args = parser.parse_args()
    console = Console()

    full_scenario = _with_days(args.scenario, FULL_YEAR)
    rows = []
    with console.status("full year (365 days, 8760 h)...") as status:
        _, full_plan, seconds = _solve(full_scenario)
        rows.append(_row("full year", FULL_YEAR, full_plan, seconds))
        for days in args.days:
            status.update(f"{days} representative days...")
            scenario = _with_days(args.scenario, days)
            fm, plan, seconds = _solve(scenario)
            rows.append(_row(f"{days} days", days, plan, seconds))
            status.update(f"{days}-day design on the full year...")
            _, check, seconds = _solve(full_scenario, fix_from=fm)
            row = _row(f"{days}-day design, full-year check", days, check, seconds)
            row["firm_added_mw"] = row.get("ng_recip_ice_mw", 0.0) - rows[-1].get("ng_recip_ice_mw", 0.0)
            rows.append(row)

    frame = pd.DataFrame(rows)
    reference = frame.loc[0, "usd_per_mtok"]
    frame["error_vs_full_year_pct"] = 100.0 * (frame["usd_per_mtok"] / reference - 1.0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)
    _print(console, frame)
    console.print(f"written to {args.out}")


def _with_days(path: Path, days: int):
    """The scenario with its number of representative days replaced (365: every day, no extremes).

    The benchmark scenario extends the default one two folders up, which the loader only follows as an
    absolute path (a relative one may reach one folder above a scenario), so that path is made absolute."""
    document = yaml.safe_load(path.read_text())
    if "extends" in document:
        document["extends"] = str((path.parent / document["extends"]).resolve())
    document.setdefault("time", {})["representative_days"] = days
    if days == FULL_YEAR:
        document["time"]["extreme_days"] = None
    temporary = path.parent / f".{path.stem}_{days}.yaml"
    temporary.write_text(yaml.safe_dump(document))
    try:
        return load_scenario(temporary)
    finally:
        temporary.unlink()


def _print(console: Console, frame: pd.DataFrame) -> None:
    table = Table(title="Representative days against the full year (reduced case)")
    capacity_columns = [c for c in frame.columns if c.endswith("_mw") and c != "firm_added_mw"] + ["storage_mwh"]
    columns = [
        "run",
        "usd_per_mtok",
        "error_vs_full_year_pct",
        *capacity_columns,
        "firm_added_mw",
        "variables",
        "build_s",
        "solve_s",
        "rmse_solar_cf",
        "rmse_wind_cf",
    ]
    for column in columns:
        table.add_column(column, justify="left" if column == "run" else "right")
    for _, row in frame.iterrows():
        table.add_row(*[_cell(row.get(c)) for c in columns])
    console.print(table)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:,.0f}"
    return str(value)


if __name__ == "__main__":
    main()
