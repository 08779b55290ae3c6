"""Numerics of a compiled model: coefficient ranges by constraint and by variable family.

A simplex code such as HiGHS is reliable when the matrix, the costs, the bounds and the right-hand
sides each stay within a few orders of magnitude: its feasibility tolerance is absolute (1e-7), so a
coefficient of 1e-9 is lost in it and one of 1e9 turns rounding into violations. The model's units
keep the default data inside ``DOCUMENTED_RANGE``: power in MW, energy in MWh, money in M$ (cost
rows) and tokens in Ptok (1e15), so a site's yearly cost is ~1e2, its tokens ~1e1 and an hour's load
~1e2. ``aifactory stats SCENARIO`` prints the ranges; a solve warns, naming the constraint family
and the input tables behind it, when a scenario's data push a family outside the documented range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.model.families import input_tables

if TYPE_CHECKING:
    from optimizer.solver.session import SolverSession

#: magnitudes of non-zero entries (absolute values) the unit scaling keeps the default scenarios in
DOCUMENTED_RANGE = {
    "matrix": (1e-4, 1e5),
    "cost": (1e-6, 1e3),
    "bound": (1e-3, 1e7),
    "rhs": (1e-3, 1e7),
}


def family_tables(family: str) -> str:
    """Input tables behind a family, as declared in optimizer/model/families.csv (a family of the bridge block
    has the tables of its grid-year twin; a component no family declares, none)."""
    return input_tables(family)


@dataclass
class ModelStats:
    rows: pd.DataFrame  # one per constraint family: count, matrix and rhs magnitudes
    columns: pd.DataFrame  # one per variable family: count, matrix, bound and cost magnitudes
    overall: pd.DataFrame  # one per quantity (matrix, cost, bound, rhs): min and max |value|, in range?

    def outside_range(self) -> list[str]:
        """Families with a magnitude outside the documented range, with their input tables."""
        out = []
        for kind, frame, quantities in (
            ("constraint", self.rows, ("matrix", "rhs")),
            ("variable", self.columns, ("bound", "cost")),
        ):
            for family, row in frame.iterrows():
                for quantity in quantities:
                    low, high = DOCUMENTED_RANGE[quantity]
                    smallest, largest = row[f"{quantity}_min"], row[f"{quantity}_max"]
                    if (np.isfinite(smallest) and smallest < low) or (np.isfinite(largest) and largest > high):
                        out.append(
                            f"{kind} family '{family}': {quantity} values {smallest:.2g} .. {largest:.2g} "
                            f"outside {low:g} .. {high:g} (from {family_tables(family)})"
                        )
        return out


def _magnitudes(values: np.ndarray, groups: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Smallest and largest non-zero |value| of each group (NaN where a group has none)."""
    frame = pd.DataFrame({"group": groups, "abs": np.abs(values)})
    frame = frame[(frame["abs"] > 0) & np.isfinite(frame["abs"])]
    summary = frame.groupby("group")["abs"].agg(["min", "max"])
    return summary.reindex(range(len(names))).set_axis(names)


def model_stats(cm: SolverSession) -> ModelStats:
    """Coefficient ranges of a compiled model (:class:`optimizer.solver.session.SolverSession`) by family."""
    lp = cm.highs.getLp()
    starts = np.asarray(lp.a_matrix_.start_)
    row_of_entry = np.asarray(lp.a_matrix_.index_)
    values = np.asarray(lp.a_matrix_.value_)
    column_of_entry = np.repeat(np.arange(lp.num_col_), np.diff(starts))

    row_names = sorted({data.parent_component().name for data in cm.row_index})
    row_number = {name: n for n, name in enumerate(row_names)}
    row_family = np.empty(lp.num_row_, dtype=np.int64)
    for data, row in cm.row_index.items():
        row_family[row] = row_number[data.parent_component().name]
    column_names = sorted({var.parent_component().name for var in cm.columns})
    column_number = {name: n for n, name in enumerate(column_names)}
    column_family = np.fromiter(
        (column_number[var.parent_component().name] for var in cm.columns), dtype=np.int64, count=len(cm.columns)
    )

    lower, upper = np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)
    rhs = np.where(np.isfinite(lower), lower, upper)
    rows = pd.concat(
        [
            pd.Series(np.bincount(row_family, minlength=len(row_names)), index=row_names, name="count"),
            _magnitudes(values, row_family[row_of_entry], row_names).add_prefix("matrix_"),
            _magnitudes(rhs, row_family, row_names).add_prefix("rhs_"),
        ],
        axis=1,
    )
    bounds = np.concatenate([np.asarray(lp.col_lower_), np.asarray(lp.col_upper_)])
    columns = pd.concat(
        [
            pd.Series(np.bincount(column_family, minlength=len(column_names)), index=column_names, name="count"),
            _magnitudes(values, column_family[column_of_entry], column_names).add_prefix("matrix_"),
            _magnitudes(bounds, np.concatenate([column_family, column_family]), column_names).add_prefix("bound_"),
            _magnitudes(cm.cost, column_family, column_names).add_prefix("cost_"),
        ],
        axis=1,
    )
    overall = []
    for quantity, frame in (("matrix", rows), ("rhs", rows), ("bound", columns), ("cost", columns)):
        smallest, largest = frame[f"{quantity}_min"].min(), frame[f"{quantity}_max"].max()
        low, high = DOCUMENTED_RANGE[quantity]
        overall.append(
            {
                "quantity": quantity,
                "min_abs": smallest,
                "max_abs": largest,
                "documented_min": low,
                "documented_max": high,
                "within": bool(smallest >= low and largest <= high),
            }
        )
    return ModelStats(
        rows.rename_axis("family"), columns.rename_axis("family"), pd.DataFrame(overall).set_index("quantity")
    )
