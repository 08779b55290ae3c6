"""Hand-off benchmark: the fastest way from a built Pyomo model into HiGHS, measured.

Each path starts from the same freshly built model and ends with a HiGHS instance holding it (no
solve: the solve is the same HiGHS run whichever path loaded the model):

- ``standard form + passModel``: Pyomo's ``LinearStandardFormCompiler`` to sparse matrices, one
  ``highspy.Highs.passModel`` call (``optimizer.solver.session.SolverSession.compile``, what the planner uses);
- ``contrib.solver highs``: Pyomo's persistent HiGHS interface, ``set_instance``;
- ``appsi highs``: the older APPSI persistent HiGHS interface, ``set_instance``;
- ``LP file``: Pyomo's LP writer, then ``Highs.readModel``.

Usage::

    python benchmarks/handoff.py [SCENARIO.yaml ...] [--out benchmarks/results/handoff.csv]

Without scenarios it measures the default (``data/scenarios/base.yaml``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import highspy
import pandas as pd
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from optimizer.inputs.scenario import load_scenario  # noqa: E402
from optimizer.model import build_model  # noqa: E402
from optimizer.solver.session import SolverSession  # noqa: E402


def _one_objective(fm) -> None:
    """The persistent interfaces and the LP writer take one active objective: keep the cost."""
    fm.core.objective_tokens.deactivate()


def _standard_form(scenario, fm) -> highspy.Highs:
    return SolverSession.compile(fm, scenario.solver).highs


def _contrib_solver(scenario, fm) -> highspy.Highs:
    from pyomo.contrib.solver.solvers.highs import Highs

    _one_objective(fm)
    solver = Highs()
    solver.set_instance(fm.model)
    return solver._solver_model


def _appsi(scenario, fm) -> highspy.Highs:
    from pyomo.contrib.appsi.solvers.highs import Highs

    _one_objective(fm)
    solver = Highs()
    solver.set_instance(fm.model)
    return solver._solver_model


def _lp_file(scenario, fm) -> highspy.Highs:
    _one_objective(fm)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.lp"
        fm.model.write(str(path), format="lp", io_options={"symbolic_solver_labels": False})
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.readModel(str(path))
    return h


PATHS = {
    "standard form + passModel": _standard_form,
    "contrib.solver highs": _contrib_solver,
    "appsi highs": _appsi,
    "LP file": _lp_file,
}


def measure(path: Path) -> list[dict]:
    scenario = load_scenario(path)
    rows = []
    for name, hand_off in PATHS.items():
        fm = build_model(scenario)
        started = time.perf_counter()
        h = hand_off(scenario, fm)
        seconds = time.perf_counter() - started
        nonzeros = h.getNumNz()
        rows.append(
            {
                "scenario": scenario.name,
                "path": name,
                "build_s": fm.build_s,
                "handoff_s": seconds,
                "columns": h.getNumCol(),
                "rows": h.getNumRow(),
                "nonzeros": nonzeros,
                "handoff_s_per_mnz": seconds / (nonzeros / 1e6),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", type=Path, default=[HERE.parent / "data" / "scenarios" / "base.yaml"])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "handoff.csv")
    args = parser.parse_args()
    console = Console()
    rows = []
    for path in args.scenarios:
        with console.status(f"{path}: four hand-offs"):
            rows += measure(path)
    frame = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)
    table = Table(title="from a built Pyomo model into HiGHS (no solve)")
    for label in ("scenario", "path", "build s", "hand-off s", "columns", "rows", "nonzeros", "hand-off s / M nz"):
        table.add_column(label, justify="right")
    for row in rows:
        table.add_row(
            row["scenario"],
            row["path"],
            f"{row['build_s']:.1f}",
            f"{row['handoff_s']:.1f}",
            f"{row['columns']:,}",
            f"{row['rows']:,}",
            f"{row['nonzeros']:,}",
            f"{row['handoff_s_per_mnz']:.1f}",
        )
    console.print(table)
    console.print(f"written {args.out}")


if __name__ == "__main__":
    main()
