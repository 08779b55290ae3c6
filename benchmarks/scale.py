"""Scale benchmark: 10 to 1,000 candidate sites at 8 and 16 representative days.

For each case (a scenario from ``benchmarks/generate.py``) and each method, one row: model size,
load / build / hand-off / solve times, $/Mtok, the proven lower bound and gap, peak memory, and the
margin over a planner's greedy spreadsheet plan (``optimizer.solver.greedy``). Methods:

- ``full``: the whole MILP of all candidates (up to ``--full-max-sites``; beyond that it does not
  fit a 2-core machine's time, which is the point of the next method);
- ``screened``: ``optimizer.analysis.screening`` — column generation over sites on the block relaxation
  bounds every plan ("bound s"), the full model plans the sites it builds (sizes, build and solve
  times are that MILP's), and the gap between them is a true optimality gap for all candidates.

Each case runs in its own process, so its peak memory (``ru_maxrss``) is its own.

Usage::

    python benchmarks/scale.py [--sites 10 50 200 1000] [--days 8 16] [--time-limit 600]
        [--full-max-sites 200] [--work /tmp/aifactory-bench] [--out benchmarks/results/scale.csv]

Rows of cases not run this time stay in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd
from rich.console import Console

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from cases import peak_gb, results_table, run_and_record  # noqa: E402
from generate import generate_scenario, is_current  # noqa: E402

from optimizer.analysis.screening import screened_solve  # noqa: E402
from optimizer.constants import usd_per_mtok  # noqa: E402
from optimizer.inputs.scenario import load_scenario  # noqa: E402
from optimizer.model import build_model  # noqa: E402
from optimizer.solver.greedy import GreedyError, evaluate_greedy, greedy_choice  # noqa: E402
from optimizer.solver.milp import ModelSize, SolveError, solve  # noqa: E402

METHODS = ("full", "screened")
COLUMNS = {
    "sites": "sites",
    "days": "days",
    "method": "method",
    "variables": "variables",
    "integers": "integers",
    "constraints": "rows",
    "nonzeros": "nonzeros",
    "load_s": "load s",
    "bound_s": "bound s",
    "build_s": "build s",
    "handoff_s": "hand-off s",
    "solve_s": "solve s",
    "total_s": "total s",
    "build_share_of_solve": "build/solve",
    "build_s_per_mnz": "build s/M nz",
    "usd_per_mtok": "$/Mtok",
    "gap": "gap",
    "peak_gb": "peak GB",
    "greedy_usd_per_mtok": "greedy $/Mtok",
    "below_greedy": "below greedy",
}


def _size_columns(size: ModelSize) -> dict:
    return {
        "variables": size.variables,
        "integers": size.integers,
        "constraints": size.constraints,
        "nonzeros": size.nonzeros,
    }


def _full(scenario) -> dict:
    fm = build_model(scenario)
    started = time.perf_counter()
    try:
        result = solve(fm, scenario.solver, scenario.objective)
    except SolveError as error:
        # no plan within the time limit is a result too: its size, build and solve times still count
        return {
            **_size_columns(error.size),
            "build_s": fm.build_s,
            "solve_s": time.perf_counter() - started,
            "status": f"no plan: {error}",
        }
    lower = result.cost_lower_bound_musd_per_yr
    return {
        **_size_columns(result.size),
        "build_s": fm.build_s,
        "handoff_s": result.handoff_s,
        "solve_s": result.solve_s,
        "usd_per_mtok": usd_per_mtok(result.cost_musd_per_yr, result.delivered_ptok_per_yr),
        "lower_usd_per_mtok": usd_per_mtok(lower, result.delivered_ptok_per_yr),
        "gap": (result.cost_musd_per_yr - lower) / result.cost_musd_per_yr,
        "status": result.status,
        "sites_built": int(sum(round(v.value or 0) for v in fm.infrastructure.build.values())),
    }


def _screened(scenario) -> dict:
    plan = screened_solve(scenario)
    result = plan.result
    delivered = result.delivered_ptok_per_yr
    return {
        # sizes and build/solve times are the planning MILP's; the bound's time is its own column
        **_size_columns(result.size),
        "bound_s": plan.bound_s,
        "build_s": plan.fm.build_s,
        "handoff_s": result.handoff_s,
        "solve_s": result.solve_s,
        "usd_per_mtok": usd_per_mtok(plan.upper_musd_per_yr, delivered),
        "lower_usd_per_mtok": usd_per_mtok(plan.lower_musd_per_yr, delivered),
        "gap": plan.gap,
        "status": result.status,
        "sites_built": int(sum(round(v.value or 0) for v in plan.fm.infrastructure.build.values())),
        "planned_sites": len(plan.planned_sites),
        "shortlist": len(plan.shortlist),
        "pricing_rounds": plan.rounds,
        "priced_batch_variables": plan.priced_variables,
    }


def _greedy(scenario) -> tuple[float, str]:
    """The greedy plan's $/Mtok, or NaN and why it has none (it ignores grid queues and caps)."""
    try:
        return evaluate_greedy(scenario, greedy_choice(scenario)).usd_per_mtok, "costed"
    except GreedyError as error:
        return float("nan"), f"no plan: {str(error)[:120]}"


def run_case(path: Path, method: str) -> dict:
    """One method on one scenario, in this process: the row of the table."""
    started = time.perf_counter()
    scenario = load_scenario(path)
    load_s = time.perf_counter() - started
    row = {"load_s": load_s, **(_full(scenario) if method == "full" else _screened(scenario))}
    row["total_s"] = time.perf_counter() - started
    row["build_share_of_solve"] = row["build_s"] / row["solve_s"]
    row["build_s_per_mnz"] = row["build_s"] / (row["nonzeros"] / 1e6) if "nonzeros" in row else float("nan")
    row["greedy_usd_per_mtok"], row["greedy"] = _greedy(scenario)
    row["below_greedy"] = 1.0 - row.get("usd_per_mtok", float("nan")) / row["greedy_usd_per_mtok"]
    row["peak_gb"] = peak_gb()
    return row


def _cases(sites: list[int], days: list[int], full_max_sites: int) -> list[tuple[int, int, str]]:
    return [
        (n, d, method) for n in sites for d in days for method in METHODS if method != "full" or n <= full_max_sites
    ]


#: formats of some columns in the printed table
FORMATS = {
    "usd_per_mtok": "{:.4f}",
    "greedy_usd_per_mtok": "{:.4f}",
    "gap": "{:.2%}",
    "below_greedy": "{:.1%}",
    "build_share_of_solve": "{:.0%}",
    "peak_gb": "{:.1f}",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, nargs="+", default=[10, 50, 200, 1000])
    parser.add_argument("--days", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--time-limit", type=float, default=600.0, help="solver time limit per solve, s")
    parser.add_argument("--full-max-sites", type=int, default=200)
    parser.add_argument("--work", type=Path, default=Path("/tmp/aifactory-bench"))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "scale.csv")
    parser.add_argument("--one", nargs=2, metavar=("SCENARIO", "METHOD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_case(Path(args.one[0]), args.one[1])))
        return
    console = Console(width=240)  # every column, also when written to a file
    rows = []
    for n_sites, days, method in _cases(args.sites, args.days, args.full_max_sites):
        folder = args.work / f"sites_{n_sites}_days_{days}"
        path = folder / "scenario.yaml"
        if not path.exists() or not is_current(folder):  # the default data changed since: derive it again
            generate_scenario(n_sites, days, folder, time_limit_s=args.time_limit)
        run_and_record(__file__, {"sites": n_sites, "days": days, "method": method}, path, rows, args.out, console)
    console.print(results_table("scale benchmark", pd.DataFrame(rows), COLUMNS, FORMATS))
    console.print(f"written {args.out}")


if __name__ == "__main__":
    main()
