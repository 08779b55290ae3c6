"""Each input table checked against its schema, and a scenario's overrides applied to a table.

Every problem is reported as a :class:`ScenarioError` naming the file, row, column, value and rule,
in a planner's words (pandera's rule names translated by ``RULE_WORDS``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pandera.pandas as pa

from optimizer.inputs.errors import ScenarioError, nearest_hint
from optimizer.inputs.schemas import FALSE_WORDS, TABLES, TRUE_WORDS, fill_defaults

#: pandera's dtype rules in a planner's words
RULE_WORDS = {
    "coerce_dtype": "must be a number",
    "dtype": "must be a number",
    "finite": "must be a finite number (not inf or NaN)",
}


def _rule_words(rule: str, dtype: str) -> str:
    name = rule.split("(")[0]
    if name in RULE_WORDS:
        return "must be a whole number" if "int" in dtype.lower() else RULE_WORDS[name]
    return f"breaks rule {rule}"


def _failure_message(
    table: str, file: str, frame: pd.DataFrame, errors: pa.errors.SchemaErrors, ids: Sequence[str]
) -> str:
    """One line per problem: a cell is named once (its first broken rule), and column-wide checks
    that only failed because a cell was text are left out, since the cell's line says so."""
    schema = TABLES[table][0]
    lines, seen = [], set()
    for case in errors.failure_cases.itertuples(index=False):
        column = case.column if isinstance(case.column, str) else "-"
        rule = str(case.check)
        if case.index is None or (isinstance(case.index, float) and math.isnan(case.index)):
            if rule.startswith("column_in_dataframe"):
                lines.append(f"{file}: missing column '{case.failure_case}' (table {table})")
            elif "TypeError" not in str(case.failure_case):
                lines.append(f"{file}: column '{column}': {rule} (value {case.failure_case!r})")
            continue
        row = int(case.index)
        if (row, column) in seen:
            continue
        seen.add((row, column))
        key = "/".join(str(frame.iloc[row][c]) for c in ids if c in frame.columns)
        dtype = str(schema.columns[column].dtype) if column in schema.columns else ""
        lines.append(
            f"{file}: row {row + 1} ({key}), column '{column}': value {case.failure_case!r} {_rule_words(rule, dtype)}"
        )
    shown = lines[:8]
    if len(lines) > len(shown):
        shown.append(f"{file}: ... and {len(lines) - len(shown)} more problems")
    return "\n".join(shown)


def _integer_columns_are_whole(table: str, frame: pd.DataFrame, where: str) -> None:
    """pandera would truncate 7.5 to 7 when it coerces to int: reject fractions first."""
    schema, ids, _ = TABLES[table]
    for name, column in schema.columns.items():
        if name not in frame.columns or "int" not in str(column.dtype).lower():
            continue
        values = pd.to_numeric(frame[name], errors="coerce")
        fractional = values.notna() & (values != values.round())
        for row in fractional[fractional].index[:1]:
            key = "/".join(str(frame.loc[row, c]) for c in ids if c in frame.columns)
            raise ScenarioError(
                f"{where}: row {row + 1} ({key}), column '{name}': value {frame.loc[row, name]!r} breaks rule integer"
            )


def _strict_booleans(table: str, frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """Boolean columns from true/false, 1/0 or yes/no only: pandas would read any other text as True."""
    schema, ids, _ = TABLES[table]
    for name, column in schema.columns.items():
        if name not in frame.columns or column.dtype is None or "bool" not in str(column.dtype).lower():
            continue
        words = frame[name].map(lambda v: str(v).strip().lower())
        truth = words.isin(TRUE_WORDS)
        known = truth | words.isin(FALSE_WORDS)
        for row in known[~known].index[:1]:
            key = "/".join(str(frame.loc[row, c]) for c in ids if c in frame.columns)
            raise ScenarioError(
                f"{where}: row {row + 1} ({key}), column '{name}': value {frame.loc[row, name]!r} "
                f"must be true or false (also read: 1/0, yes/no)"
            )
        frame[name] = truth
    return frame


def validate_table(table: str, frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """``frame`` of ``table`` with defaults filled, booleans read strictly and every column coerced to its
    schema; a ScenarioError naming each broken cell (``where`` is the file or scenario key it came from)."""
    schema, ids, _ = TABLES[table]
    frame = fill_defaults(schema, _strict_booleans(table, frame.reset_index(drop=True), where))
    _integer_columns_are_whole(table, frame, where)
    try:
        return schema.validate(frame.reset_index(drop=True), lazy=True)
    except pa.errors.SchemaErrors as errors:
        raise ScenarioError(_failure_message(table, where, frame.reset_index(drop=True), errors, ids)) from None


def apply_overrides(table: str, frame: pd.DataFrame, changes: Any, where: str) -> pd.DataFrame:
    """``frame`` (ids as columns) with ``changes`` ({row id or *: {column: value or {scale: x}}}) applied;
    not validated (see :func:`validate_table`)."""
    _, ids, _ = TABLES[table]
    if not isinstance(changes, dict):
        raise ScenarioError(f"{where}: overrides.{table} must map row ids to {{column: value}}")
    frame = frame.copy()
    keys = frame[list(ids)].astype(str).agg("/".join, axis=1)
    for row_id, columns in changes.items():
        rows = keys.index if str(row_id) == "*" else keys.index[keys == str(row_id)]
        if len(rows) == 0:
            raise ScenarioError(
                f"{where}: overrides.{table}: unknown row id '{row_id}'.{nearest_hint(str(row_id), keys)}"
            )
        if not isinstance(columns, dict):
            raise ScenarioError(f"{where}: overrides.{table}.{row_id} must map columns to values")
        for column, value in columns.items():
            if column not in frame.columns or column in ids:
                valid = [c for c in frame.columns if c not in ids]
                raise ScenarioError(
                    f"{where}: overrides.{table}.{row_id}: unknown column '{column}'.{nearest_hint(column, valid)}"
                )
            number = value.get("scale") if isinstance(value, dict) else value
            if isinstance(number, float) and not math.isfinite(number):
                raise ScenarioError(f"{where}: overrides.{table}.{row_id}.{column}: {number!r} must be a finite number")
            if isinstance(value, dict):
                if set(value) != {"scale"}:
                    raise ScenarioError(f"{where}: overrides.{table}.{row_id}.{column}: use a value or {{scale: x}}")
                try:
                    frame.loc[rows, column] = frame.loc[rows, column].astype(float) * float(value["scale"])
                except (TypeError, ValueError):
                    raise ScenarioError(
                        f"{where}: overrides.{table}.{row_id}.{column}: cannot scale {column} by {value['scale']!r}"
                    ) from None
            else:
                # the schema coerces the column back to its type and rejects a value that does not fit
                frame[column] = frame[column].astype(object)
                frame.loc[rows, column] = value
    return frame
