"""Independent re-check of an exported plan from its folder alone.

``verify_plan(folder)`` reads the plan's CSV tables and the resolved scenario copied into
``folder/scenario/`` and re-checks every physical, commercial and policy rule of the formulation
with pandas/numpy arithmetic. It never imports the Pyomo model, the solver, the plan exporter or the
product's cooling formulas (PUE and WUE are re-derived here from cooling.csv): a plan that passes
here is feasible by an independent reading of the data contract, not merely by the model's own
account. ``optimizer.inputs.scenario.load_scenario`` is used only to read the copied input tables and
options (it also clusters the hourly table, a result ignored here): the model's time, i.e. the
representative days, their weather and grid profiles and the calendar, is read from the derived
tables the plan copied beside them (``scenario/slices.csv``, ``profiles.csv``, ``days.csv``) and
checked against the 8760 input hours (``aggregation_error.csv`` is re-measured).

Beyond the rules, it checks what the plan claims: every column of every table is in the data
contract (``PLAN_COLUMNS``) and is recomputed or cross-checked by some check, except the few
``DESCRIPTIVE_COLUMNS`` (timing, model size), which keep only their form; every cell holds a finite
number (blank only where ``BLANK_ALLOWED`` says when), or a non-blank id or word; the optimality
claims of summary.csv (a finite lower bound at most the cost, a gap that covers both); the copies
of the scenario's sites and the map layer ``sites.geojson``.

A plan folder may come from anyone, so it is read only where that is safe: no link out of the
folder, no device, FIFO or file above ``MAX_PLAN_TABLE_BYTES`` (``MAX_PLAN_YAML_BYTES`` for YAML),
and a scenario copy that names no file outside the folder. Anything else fails the "files" check
with one line naming the file and the rule, never a traceback.

Each check reports how many items (rows, constraints) it compared, its worst margin, where that
item is and which rule it belongs to, and its violations::

    from optimizer.verify import verification_table, verify_plan
    verification = verify_plan("plans/base")
    rich.print(verification_table(verification))
    assert verification.ok, verification.messages

Margins. An item of a rule ``lhs <= rhs`` has the margin ``rhs - lhs`` (negative: over the limit);
an item of ``a == b`` has ``-|a - b|``. Its relative margin divides that by the comparison's scale
(the larger magnitude of its two sides unless the rule says otherwise) plus ``atol / RTOL``, so an
item is a violation exactly where its relative margin is below ``-RTOL``: beyond ``RTOL x scale +
atol``. A few rules take an absolute tolerance (scale 0: whole racks, years, period numbers); their
relative margin is the margin over ``atol / RTOL`` (one unit). A blank (NaN) where a number is needed
has the margin -inf; two blanks compared agree. An infinite value agrees with nothing, not even
another infinity (inf - inf is NaN, which must not pass as agreement): its margin is -inf too.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rich.console import JustifyMethod

from optimizer.constants import DAYS_PER_YEAR

# each check module registers its checks when imported; this order is the order they are reported
from optimizer.verify import (
    checks_claims,
    checks_delivery,
    checks_energy,
    checks_full_year,
    checks_storage,
    checks_tables,
)
from optimizer.verify.contract import (
    DESCRIPTIVE_COLUMNS,
    LAYERS,
    MAX_PLAN_FOLDER_ENTRIES,
    MAX_PLAN_TABLE_BYTES,
    MAX_PLAN_YAML_BYTES,
    PLAN_COLUMNS,
    RTOL,
    STATUSES,
)
from optimizer.verify.folder import read_plan
from optimizer.verify.formulas import cooling_pue_wue, present_value_share
from optimizer.verify.recorder import CheckResult, Recorder, Verification
from optimizer.verify.registry import CHECKS, FILES_CHECK

CHECK_MODULES = (checks_tables, checks_energy, checks_storage, checks_delivery, checks_full_year, checks_claims)
__all__ = [
    "CHECKS",
    "DAYS_PER_YEAR",
    "DESCRIPTIVE_COLUMNS",
    "LAYERS",
    "MAX_PLAN_FOLDER_ENTRIES",
    "MAX_PLAN_TABLE_BYTES",
    "MAX_PLAN_YAML_BYTES",
    "PLAN_COLUMNS",
    "RTOL",
    "STATUSES",
    "CheckResult",
    "Recorder",
    "Verification",
    "cooling_pue_wue",
    "present_value_share",
    "verification_table",
    "verify_plan",
    "verify_plan_folder",
]


# --------------------------------------------------------------------------------------------
# running and reporting


def verify_plan(folder: str | Path) -> Verification:
    """Re-check an exported plan folder: one result per check, "files" first.

    A missing or unreadable table stops at "files"; an exception inside a check becomes a violation
    of that check and the others still run.
    """
    folder = Path(folder)
    files = Recorder(*FILES_CHECK)
    plan = read_plan(folder, files)
    if plan is None:
        return Verification(folder, [files.result])
    results = [files.result]
    for spec in CHECKS:
        recorder = Recorder(spec.name, spec.description)
        try:
            # arithmetic on a damaged value makes NaN or inf quietly: the comparisons name it
            with np.errstate(all="ignore"):
                spec.run(plan, recorder)
        except Exception as error:  # a malformed table must fail its check, not the whole verification
            recorder.failed(error)
        results.append(recorder.result)
    return Verification(folder, results)


def verify_plan_folder(folder: str | Path) -> list[str]:
    """Violation messages of ``verify_plan`` ("[check] message"); empty when the plan is consistent."""
    return verify_plan(folder).messages


def _signed(value: float, digits: int) -> str:
    """A margin with its sign (+: room to spare, -: short of the rule), an exact zero (or -0.0) as 0."""
    return f"{value:+.{digits}g}" if value else "0"


def _margin_text(check: CheckResult) -> str:
    if math.isnan(check.worst_margin):
        return ""
    if math.isinf(check.worst_margin):
        return "blank value"
    return f"{_signed(check.worst_margin, 4)} {check.unit}".rstrip()


def _status_text(check: CheckResult) -> Text:
    if check.error:
        return Text(f"{check.violation_count} violations, stopped early", style="bold red")
    if not check.ok:
        return Text(f"{check.violation_count} violations", style="bold red")
    return Text("ok" if check.checked else "not applicable", style="green" if check.checked else "dim")


def verification_table(verification: Verification) -> Table:
    """One row per check: items compared, worst margin and where, the rule it belongs to, status."""
    status = "consistent" if verification.ok else "NOT consistent"
    table = Table(title=f"Verification of {verification.folder}: {status}", header_style="bold")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("check", "left"),
        ("items", "right"),
        ("worst margin", "right"),
        ("relative", "right"),
        ("where", "left"),
        ("rule", "left"),
        ("status", "left"),
    )
    for column, justify in columns:
        table.add_column(column, justify=justify)
    for check in verification.checks:
        relative = "" if math.isnan(check.worst_relative) else _signed(check.worst_relative, 2)
        # Text cells: ids and rules may hold brackets that rich would read as markup
        table.add_row(
            Text(check.name),
            f"{check.checked:,}",
            _margin_text(check),
            relative,
            Text(check.worst_where),
            Text(check.worst_rule),
            _status_text(check),
        )
    return table
