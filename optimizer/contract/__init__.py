"""The output contract of a plan folder, declared once in the CSV files beside this module.

``plan_files.csv`` lists every table of a plan folder (file, what a row is), in the order the plan
writer writes them; ``plan_columns.csv`` every column of every table: its kind (an ``id``, a
``word`` from a known list or a ``number``), whether it is part of the row key, its unit, what it
means, when it may be blank (empty: never), the verifier's checks that recompute or cross-check it
and, for the few columns no check recomputes, why (``descriptive_reason``). A column named with
braces is a pattern: ``{tech}_mw`` stands for one column per power technology of the scenario,
``{storage}_charge_mw`` one per storage technology. ``cost_items.csv`` lists every cost item the
model contributes (costs.csv ``layer`` and ``item``).

The plan writer (:mod:`optimizer.outputs.plan`) orders each table as declared and refuses a table
that differs; the independent verifier (:mod:`optimizer.verify`) derives its data contract from it;
``python -m optimizer.contract --write docs/PLAN_COLUMNS.md`` renders the reference of output columns.

Data below every layer: this module imports the standard library only, so the model, the outputs
and the verifier can all read it without pulling in one another.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

#: what a column holds: an id (of a site, chip, ...), a word from a known list, or a number
ID, WORD, NUMBER = "id", "word", "number"
KINDS = (ID, WORD, NUMBER)
#: the placeholders of pattern columns, and what each stands for
PLACEHOLDERS = {
    "tech": "a power technology of the scenario (power_techs.csv)",
    "storage": "a storage technology of the scenario (storage_techs.csv)",
}
#: what a cost item follows: the design (capacities built) or the hour-by-hour dispatch
VARIES_WITH = ("design", "dispatch")
#: the derived time tables the plan keeps in its scenario copy
SCENARIO_FOLDER = "scenario/"
SOURCE = "optimizer/contract/plan_columns.csv"


@dataclass(frozen=True)
class Column:
    """One column of one table of a plan folder (one row of plan_columns.csv)."""

    file: str
    name: str
    kind: str
    key: bool
    unit: str
    description: str
    blank_when: str
    checked_by: tuple[str, ...]
    descriptive_reason: str

    @property
    def is_pattern(self) -> bool:
        return "{" in self.name

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(re.findall(r"\{(\w+)\}", self.name))

    def regex(self, ids: Mapping[str, Iterable[str]] | None = None) -> re.Pattern:
        """The names this column stands for: a placeholder matches one of ``ids[placeholder]`` or, without ids,
        any non-empty text."""
        parts = re.split(r"\{(\w+)\}", self.name)
        pattern = ""
        for i, part in enumerate(parts):
            if i % 2 == 0:
                pattern += re.escape(part)
            elif ids is not None and part in ids:
                values = [re.escape(str(value)) for value in ids[part]]
                pattern += f"(?:{'|'.join(values)})" if values else "(?!)"  # no ids: matches nothing
            else:
                pattern += ".+"
        return re.compile(pattern)

    def expand(self, ids: Mapping[str, Iterable[str]]) -> list[str]:
        """The column names of a pattern for the given ids of its placeholders; a fixed column's own name."""
        names = [self.name]
        for placeholder in self.placeholders:
            names = [name.replace(f"{{{placeholder}}}", str(value)) for name in names for value in ids[placeholder]]
        return names


@dataclass(frozen=True)
class CostItem:
    """One cost item the model contributes (one row of cost_items.csv)."""

    id: str
    layer: str
    item: str
    varies_with: str
    description: str


class ContractError(RuntimeError):
    """A table whose columns differ from the output contract."""

    def __init__(self, file: str, missing: Sequence[str], unexpected: Sequence[str]) -> None:
        super().__init__(
            f"{file}: its columns differ from the output contract ({SOURCE}): missing {list(missing)}, "
            f"not in the contract {list(unexpected)}"
        )
        self.file, self.missing, self.unexpected = file, list(missing), list(unexpected)


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _load() -> tuple[dict[str, str], tuple[Column, ...], tuple[CostItem, ...]]:
    files = {row["file"]: row["rows"] for row in _rows("plan_files.csv")}
    rows = _rows("plan_columns.csv")
    columns = tuple(
        Column(
            row["file"],
            row["column"],
            row["kind"],
            row["key"] == "1",
            row["unit"],
            row["description"],
            row["blank_when"],
            tuple(part.strip() for part in row["checked_by"].split(";") if part.strip()),
            row["descriptive_reason"],
        )
        for row in rows
    )
    items = tuple(
        CostItem(row["id"], row["layer"], row["item"], row["varies_with"], row["description"])
        for row in _rows("cost_items.csv")
    )
    problems = [f"{c.file} {c.name}: kind {c.kind!r} is not one of {KINDS}" for c in columns if c.kind not in KINDS]
    problems += [f"{c.file} {c.name}: file not in plan_files.csv" for c in columns if c.file not in files]
    problems += [
        f"{row['file']} {row['column']}: key {row['key']!r} is not 0 or 1"
        for row in rows
        if row["key"] not in ("0", "1")
    ]
    seen: set[tuple[str, str]] = set()
    for c in columns:
        problems += [f"{c.file} {c.name}: declared twice"] if (c.file, c.name) in seen else []
        problems += [f"{c.file} {c.name}: unknown placeholder {p!r}" for p in c.placeholders if p not in PLACEHOLDERS]
        seen.add((c.file, c.name))
    problems += [
        f"cost item {i.id}: varies_with {i.varies_with!r} is not one of {VARIES_WITH}"
        for i in items
        if i.varies_with not in VARIES_WITH
    ]
    if len({i.id for i in items}) < len(items) or len({(i.layer, i.item) for i in items}) < len(items):
        problems.append("cost_items.csv declares an id or a (layer, item) twice")
    if problems:
        raise ValueError("the output contract (optimizer/contract/*.csv) is malformed: " + "; ".join(problems))
    return files, columns, items


#: every table of a plan folder (its path in the folder) and what one row of it is, in the order written
FILES, COLUMNS, COST_ITEMS = _load()
#: the tables the plan writer writes (names without .csv), in order; the others are the scenario copy's
PLAN_TABLES = tuple(file.removesuffix(".csv") for file in FILES if not file.startswith(SCENARIO_FOLDER))
SCENARIO_TABLES = tuple(
    file.removeprefix(SCENARIO_FOLDER).removesuffix(".csv") for file in FILES if file.startswith(SCENARIO_FOLDER)
)
#: the layers costs are tagged with, in the order cost_items.csv first names them
LAYERS = tuple(dict.fromkeys(item.layer for item in COST_ITEMS))
#: what summary.csv's status says of a plan (a solve that ends otherwise leaves no plan)
PLAN_OPTIMAL, PLAN_TIME_LIMIT = "optimal", "time_limit_feasible"
PLAN_STATUSES = (PLAN_OPTIMAL, PLAN_TIME_LIMIT)
#: the step of the solve that found the plan: the greedy plan, relax-and-fix or HiGHS's own search
FROM_GREEDY, FROM_RELAX_AND_FIX, FROM_HIGHS = "greedy", "relax_and_fix", "highs"
PLAN_SOURCES = (FROM_GREEDY, FROM_RELAX_AND_FIX, FROM_HIGHS)


def columns(file: str) -> tuple[Column, ...]:
    """The declared columns of one file (e.g. "sites.csv", "scenario/days.csv"), in order; patterns included."""
    if file not in FILES:
        raise KeyError(f"{file} is not a table of the output contract: {', '.join(FILES)}")
    return tuple(column for column in COLUMNS if column.file == file)


def column(file: str, name: str) -> Column:
    for declared in columns(file):
        if declared.name == name:
            return declared
    raise KeyError(f"{file} has no column {name!r} in the output contract")


def ordered_columns(file: str, names: Sequence[str], ids: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """``names`` (a table's columns) in the contract's order: each fixed column in its place and, in the place of
    each pattern, the columns it stands for in the order given. Every fixed column must be there and every other
    one match a pattern (a placeholder one of ``ids[placeholder]``, or any text without ids); else ContractError."""
    declared = columns(file)
    fixed = {c.name for c in declared if not c.is_pattern}
    patterns = {c: c.regex(ids) for c in declared if c.is_pattern}
    slots: dict[Column, list[str]] = {c: [] for c in patterns}
    names = list(names)
    twice = [name for name in dict.fromkeys(names) if names.count(name) > 1]
    unexpected = [f"{name} (twice)" for name in twice]
    for name in dict.fromkeys(names):
        if name in fixed or name in twice:
            continue
        # the most specific pattern that matches: bridge_battery_charge_mw is a bridge storage flow, not {tech}_mw
        matches = [c for c, regex in patterns.items() if regex.fullmatch(name)]
        if matches:
            slots[max(matches, key=lambda c: len(re.sub(r"\{\w+\}", "", c.name)))].append(name)
        else:
            unexpected.append(name)
    missing = [c.name for c in declared if not c.is_pattern and c.name not in names]
    if missing or unexpected:
        raise ContractError(file, missing, unexpected)
    return [name for c in declared for name in (slots[c] if c.is_pattern else [c.name])]


def conform(file: str, table: pd.DataFrame, ids: Mapping[str, Iterable[str]] | None = None) -> pd.DataFrame:
    """A pandas table with its columns in the contract's order (see :func:`ordered_columns`); pandas is not
    imported here, the table is only indexed by a list of its columns."""
    return table[ordered_columns(file, [str(name) for name in table.columns], ids)]


def cost_item(item_id: str) -> str:
    """The name (costs.csv ``item``) of the cost item with this id in cost_items.csv."""
    for item in COST_ITEMS:
        if item.id == item_id:
            return item.item
    raise KeyError(f"no cost item {item_id!r} in cost_items.csv")


# the cost items the model's modules and the verifier name, by their id in cost_items.csv
GENERATION_CAPACITY_ITEM = cost_item("generation_capacity")
GRID_CONNECTION_ITEM = cost_item("grid_connection")
GRID_ENERGY_ITEM = cost_item("grid_energy")
FUEL_AND_VOM_ITEM = cost_item("fuel_and_vom")
STORAGE_ITEM = cost_item("storage")
CARBON_PRICE_ITEM = cost_item("carbon_price")
ACCELERATORS_ITEM = cost_item("accelerators")
SITE_AND_LAND_ITEM = cost_item("site_and_land")
FACILITY_ITEM = cost_item("facility")
COOLING_ITEM = cost_item("cooling")
#: the items that follow the hour-by-hour dispatch (the full-year re-check redispatches them); the others
#: follow the design
DISPATCH_ITEMS = tuple(item.item for item in COST_ITEMS if item.varies_with == "dispatch")
