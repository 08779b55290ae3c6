"""Results of the checks and the recorder that compares two sides of a rule with tolerances, margins
and locations.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer.verify.contract import ATOL, LOCATION_COLUMNS, MAX_MESSAGES_PER_CHECK, RTOL

# --------------------------------------------------------------------------------------------
# results


@dataclass
class CheckResult:
    """What one check compared, how close the plan came to breaking it, and where it broke."""

    name: str
    description: str
    #: items compared (rows, constraints, yes/no rules)
    checked: int = 0
    #: the worst item's margin in ``unit``: rhs - lhs of an inequality, -|a - b| of an equality (NaN: no numeric item)
    worst_margin: float = math.nan
    #: the same relative to the comparison's scale; the item is a violation where this is below -RTOL
    worst_relative: float = math.nan
    unit: str = ""
    #: where the worst item is, e.g. "site homer_city, slice 37"
    worst_where: str = ""
    #: the rule the worst item belongs to
    worst_rule: str = ""
    #: the first MAX_MESSAGES_PER_CHECK violations, worded for the planner
    violations: list[str] = field(default_factory=list)
    violation_count: int = 0
    #: the exception that stopped the check before it finished ("" if it ran to the end)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.violation_count == 0

    @property
    def messages(self) -> list[str]:
        lines = [f"[{self.name}] {message}" for message in self.violations]
        unlisted = self.violation_count - len(self.violations)
        if unlisted:
            lines.append(f"[{self.name}] ... {unlisted} further violations of this check not listed")
        return lines


@dataclass
class Verification:
    """Every check of one plan folder; only "files" when its tables could not be read."""

    folder: Path
    checks: list[CheckResult]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def messages(self) -> list[str]:
        return [message for check in self.checks for message in check.messages]

    def check(self, name: str) -> CheckResult:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"no check named '{name}' in this verification")


# --------------------------------------------------------------------------------------------
# comparisons with tolerances, margins and locations

#: one row of a frame as ``DataFrame.itertuples`` gives it: a namedtuple whose fields are the frame's
#: columns, made when the frame is read, so no static type can name them
Row = Any
#: words one violation from the row of the ``at`` frame it belongs to (called with that row alone; the
#: checks' lambdas may take more parameters with defaults, e.g. ``col=column``)
Describe = Callable[..., str]


def arr(x: npt.ArrayLike) -> np.ndarray:
    return np.asarray(x, dtype=float)


@overload
def per_delivered(numerator: float, denominator: float) -> float: ...
@overload
def per_delivered(numerator: pd.Series, denominator: float) -> pd.Series | np.ndarray: ...
def per_delivered(numerator: float | pd.Series, denominator: float) -> float | pd.Series | np.ndarray:
    """A ratio per delivered unit; blank when nothing was delivered, as the plan writes it."""
    if denominator > 0:
        return numerator / denominator
    return math.nan if np.ndim(numerator) == 0 else np.full(np.shape(numerator), np.nan)


def largest_magnitude(*values: npt.ArrayLike) -> np.ndarray:
    """Elementwise largest magnitude, ignoring blanks."""
    return functools.reduce(np.fmax, [np.abs(arr(v)) for v in values])


def row_place(at: str | pd.DataFrame, i: int) -> str:
    if isinstance(at, str):
        return at
    return ", ".join(
        template.format(at[column].iloc[i]) for column, template in LOCATION_COLUMNS.items() if column in at
    )


def cell_place(name: str, table: pd.DataFrame, i: int, column: str) -> str:
    """Where one cell is: "<file> row <n> (<ids>), column '<column>'", rows counted from 1 below the header."""
    where = row_place(table, i)
    return f"{name} row {i + 1}{f' ({where})' if where else ''}, column '{column}'"


class Recorder:
    """Builds one check's result: each comparison adds its items, may move the worst margin, may add violations.

    ``at`` locates the items: a string for a single item, or a frame with one row per item whose id
    columns (LOCATION_COLUMNS) name it. ``describe(row)`` words a violation from that frame's row;
    without it the message is "<where>: <rule>: <lhs> exceeds <rhs>" (or "!= expected").
    """

    def __init__(self, name: str, description: str) -> None:
        self.result = CheckResult(name, description)

    def violation(self, message: str) -> None:
        self.result.violation_count += 1
        if len(self.result.violations) < MAX_MESSAGES_PER_CHECK:
            self.result.violations.append(message)

    def rule(self, ok: bool, message: str, items: int = 1) -> None:
        """A yes/no rule without a numeric margin (ids that must match, a column that must exist)."""
        self.result.checked += items
        if not ok:
            self.violation(message)

    def failed(self, error: Exception) -> None:
        self.result.error = f"{type(error).__name__}: {error}"
        self.violation(f"the check could not finish: {self.result.error}")

    def le(
        self,
        rule: str,
        lhs: npt.ArrayLike,
        rhs: npt.ArrayLike,
        *,
        unit: str,
        at: str | pd.DataFrame,
        describe: Describe | None = None,
        scale: npt.ArrayLike | None = None,
        atol: npt.ArrayLike = ATOL,
    ) -> None:
        """``lhs <= rhs`` item by item; a blank on either side breaks it."""
        lhs, rhs = (a.ravel() for a in np.broadcast_arrays(arr(lhs), arr(rhs)))
        with np.errstate(invalid="ignore", over="ignore"):
            margin = np.where(np.isfinite(lhs) & np.isfinite(rhs), rhs - lhs, -np.inf)
        magnitude = largest_magnitude(lhs, rhs) if scale is None else largest_magnitude(scale)
        self._record(rule, "exceeds", lhs, rhs, margin, magnitude, atol, unit, at, describe)

    def eq(
        self,
        rule: str,
        a: npt.ArrayLike,
        b: npt.ArrayLike,
        *,
        unit: str,
        at: str | pd.DataFrame,
        describe: Describe | None = None,
        scale: npt.ArrayLike | None = None,
        atol: npt.ArrayLike = ATOL,
    ) -> None:
        """``a == b`` item by item; a blank must meet a blank."""
        a, b = (x.ravel() for x in np.broadcast_arrays(arr(a), arr(b)))
        both_blank = np.isnan(a) & np.isnan(b)
        with np.errstate(invalid="ignore", over="ignore"):
            margin = np.where(both_blank, 0.0, np.where(np.isfinite(a) & np.isfinite(b), -np.abs(a - b), -np.inf))
        magnitude = largest_magnitude(a, b) if scale is None else largest_magnitude(scale)
        self._record(rule, "!= expected", a, b, margin, magnitude, atol, unit, at, describe)

    def _record(
        self,
        rule: str,
        relation: str,
        lhs: np.ndarray,
        rhs: np.ndarray,
        margin: np.ndarray,
        scale: np.ndarray,
        atol: npt.ArrayLike,
        unit: str,
        at: str | pd.DataFrame,
        describe: Describe | None,
    ) -> None:
        # a non-finite scale must not shrink a violation to nothing: it counts as no scale
        scale = np.nan_to_num(np.broadcast_to(scale, margin.shape), nan=0.0, posinf=0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            relative = np.where(np.isneginf(margin), -np.inf, margin / (scale + arr(atol) / RTOL))
        result = self.result
        result.checked += margin.size
        if not margin.size:
            return
        worst = int(np.argmin(relative))
        if math.isnan(result.worst_relative) or relative[worst] < result.worst_relative:
            result.worst_margin, result.worst_relative = float(margin[worst]), float(relative[worst])
            result.unit, result.worst_where, result.worst_rule = unit, row_place(at, worst), rule
        bad = np.flatnonzero(relative < -RTOL)
        listed = bad[: max(MAX_MESSAGES_PER_CHECK - len(result.violations), 0)]  # only the first few are worded
        result.violations += [self._message(int(i), rule, relation, lhs, rhs, at, describe) for i in listed]
        result.violation_count += len(bad)

    @staticmethod
    def _message(
        i: int,
        rule: str,
        relation: str,
        lhs: np.ndarray,
        rhs: np.ndarray,
        at: str | pd.DataFrame,
        describe: Describe | None,
    ) -> str:
        if describe is not None:
            if isinstance(at, str):
                raise TypeError(f"{rule}: a violation is described from a row of its frame, but 'at' is {at!r}")
            row = next(at.iloc[[i]].itertuples(index=False))
            try:
                return describe(row)
            except Exception:  # a wording slip must not hide the violation itself
                return f"{rule}: violated at {row._asdict()}"
        where = row_place(at, i)
        return f"{where + ': ' if where else ''}{rule}: {lhs[i]:.10g} {relation} {rhs[i]:.10g}"
