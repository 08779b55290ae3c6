"""The model's families, declared once in ``families.csv`` beside this module.

A *family* is one Pyomo component the model builds: a variable, constraint, expression or objective,
indexed over sets such as (site, tech, slice), named as Pyomo names it (``capacity_mw``; a component
of the block of the bridge years ``bridge.charge_mw``). ``families.csv`` gives each one its kind, the
layer and python module that create it, its index, its unit, what it means and the input tables whose
values end up in it (``model structure (no input values)`` where none do; left blank for a family of
the ``bridge`` block, which has the tables of its grid-year twin).

The numerics report (:mod:`optimizer.solver.stats`) names the input tables behind a family through
:func:`input_tables`; ``tests/test_families.py`` holds the table and the built models to each other
both ways; ``python -m optimizer.model.families --write docs/MODEL.md`` renders the reference of the
model (every family, then the equations of each layer from the docstrings of its ``add_*``
functions).

The loader reads the standard library only; the renderer imports the model's modules (and Pyomo)
when it runs.
"""

from __future__ import annotations

import csv
import importlib
import inspect
import io
import re
import sys
import textwrap
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import ModuleType

from optimizer.contract.reference import write_reference

SOURCE = "optimizer/model/families.csv"
COMMAND = "python -m optimizer.model.families --write docs/MODEL.md"
#: what a family is, in the order docs/MODEL.md lists them
VARIABLE, CONSTRAINT, EXPRESSION, OBJECTIVE = "variable", "constraint", "expression", "objective"
KINDS = (CONSTRAINT, VARIABLE, EXPRESSION, OBJECTIVE)
#: the layers of the model, each with its module ``optimizer.model.<layer>``, in the order they are built
LAYERS = ("core", "energy", "chips", "infrastructure", "workloads", "applications", "policy", "buildout")
#: the input tables of a family no input value ends up in
NO_INPUTS = "model structure (no input values)"
#: the prefix of the families of the block that operates storage in the bridge years
BRIDGE_BLOCK = "bridge."
COLUMNS = ("family", "kind", "layer", "module", "index", "unit", "meaning", "input_tables")


@dataclass(frozen=True)
class Family:
    """One family of the model (one row of families.csv)."""

    name: str
    """the component's full Pyomo name (``bridge.charge_mw`` inside the bridge block)"""
    kind: str
    """variable, constraint, expression or objective"""
    layer: str
    """the layer that creates it (one of :data:`LAYERS`)"""
    module: str
    """the python file that creates it, from the repository's root"""
    index: str
    """the sets it is indexed over (``scalar``: one row)"""
    unit: str
    """the unit of its values (a constraint: of its rows; 1: a binary)"""
    meaning: str
    declared_tables: str
    """the input tables as declared (blank for a bridge-block family: its grid-year twin's)"""

    @property
    def local_name(self) -> str:
        """The name within its block (``charge_mw`` for ``bridge.charge_mw``)."""
        return self.name.rsplit(".", 1)[-1]

    @property
    def input_tables(self) -> str:
        return input_tables(self.name)

    @property
    def python_module(self) -> str:
        """The dotted name of :attr:`module` (``optimizer.model.energy`` for its ``__init__.py``)."""
        return self.module.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _load() -> dict[str, Family]:
    text = resources.files(__package__).joinpath("families.csv").read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise ValueError(f"{SOURCE}: columns {reader.fieldnames}, expected {list(COLUMNS)}")
    families: dict[str, Family] = {}
    problems = []
    for row in reader:
        family = Family(
            row["family"],
            row["kind"],
            row["layer"],
            row["module"],
            row["index"],
            row["unit"],
            row["meaning"],
            row["input_tables"],
        )
        if family.name in families:
            problems.append(f"{family.name}: declared twice")
        if family.kind not in KINDS:
            problems.append(f"{family.name}: kind {family.kind!r} is not one of {KINDS}")
        if family.layer not in LAYERS:
            problems.append(f"{family.name}: layer {family.layer!r} is not one of {LAYERS}")
        if not (family.module.startswith("optimizer/model/") and family.module.endswith(".py")):
            problems.append(f"{family.name}: module {family.module!r} is not a file of optimizer/model/")
        problems += [
            f"{family.name}: no {column}" for column in ("index", "unit", "meaning") if not row[column].strip()
        ]
        families[family.name] = family
    for family in families.values():
        twin = families.get(family.name.removeprefix(BRIDGE_BLOCK))
        if not family.declared_tables and not (family.name.startswith(BRIDGE_BLOCK) and twin is not None):
            problems.append(f"{family.name}: no input_tables (write '{NO_INPUTS}' where no input value ends up)")
    if problems:
        raise ValueError(f"the model's families ({SOURCE}) are malformed: " + "; ".join(problems))
    return families


#: every family the model can build, by its full Pyomo name, in the order of families.csv
FAMILIES = _load()


def family(name: str) -> Family:
    """The declared family of this full Pyomo name (KeyError naming families.csv if there is none)."""
    if name not in FAMILIES:
        raise KeyError(f"{name!r} is not a family of the model ({SOURCE})")
    return FAMILIES[name]


def input_tables(name: str) -> str:
    """The input tables whose values end up in a family, as declared; a family of the bridge block has its
    grid-year twin's (``bridge.charge_mw``: ``charge_mw``'s). A name not declared (a component an analysis
    adds) has :data:`NO_INPUTS`."""
    declared = FAMILIES.get(name)
    if declared is not None and declared.declared_tables:
        return declared.declared_tables
    if name.startswith(BRIDGE_BLOCK):
        return input_tables(name.removeprefix(BRIDGE_BLOCK))
    return NO_INPUTS


# ------------------------------------------------------------------------------------------------
# docs/MODEL.md

INTRO = f"""\
# The model: its families and its equations

<!-- Generated by `{COMMAND}` from {SOURCE} and the docstrings of optimizer/model/: edit those, then regenerate. -->

The planner's Pyomo model (`optimizer/model/`, built by `build_model(scenario)`) is made of *families*:
one Pyomo component each, a variable, constraint, expression or objective indexed over sets such as
(site, tech, slice). Every family is declared once, in `{SOURCE}`; this page is rendered from
it and from the docstrings of the functions that build the model, and `tests/test_families.py` checks
that the declaration and the built models agree both ways.

- **family**: the component's name as Pyomo names it, as it appears in LP files
  (`tests/lp_files/`), the numerics report (`aifactory stats`) and error messages. The families of
  `bridge.` belong to the block that repeats the storage operation for the *bridge years* (a site
  waiting for a late grid runs on site until it arrives).
- **layer**, **module**: the layer and the python file that create it. Code outside `optimizer.model`
  reaches a family through the handles `build_model` returns (`fm.energy.capacity_mw`,
  `fm.infrastructure.build`, `fm.energy.bridge_years.charge_mw`, ...), never by its Pyomo name.
- **index**: the sets it is indexed over. `site` a candidate site (sites.geojson); `tech` a power
  technology (power_techs.csv, the grid among them; `on-site tech`: not the grid); `storage` a storage
  technology (storage_techs.csv); `slice` an hour of a representative day; `period` a representative
  day; `run` a run of consecutive calendar days that share a representative day; `end` the first or
  last day of a run; `hour` an hour of the full year that can set a site's peak load; `chip` an
  accelerator SKU (chips.csv); `level` a rack density (a distinct `rack_power_kw` of chips.csv);
  `cooling` a cooling (cooling.csv); `workload` (workloads.csv); `region` a demand region (regions.csv);
  `bridge site` a site waiting for a late grid; `scalar` a single row or value.
- **unit**: of its values (a constraint: of each side of its rows). `MW`, `MWh`; `M$` million 2025 USD
  (`M$/yr` a year); `Ptok` 10^15 tokens; `t` tonnes of CO2; `ML` megalitres; `1` a binary (0 or 1);
  `racks`, `units` and `chips` are counts.
- **input tables**: the input tables (and scenario options) whose values end up in it: where to look
  when `aifactory stats` reports its coefficients outside the documented range.
"""


def _cell(text: str) -> str:
    """Text for a markdown table cell: one line, ``|`` and a plain ``$`` (M$) escaped."""
    return _dollars(" ".join(text.split())).replace("|", "\\|")


def _dollars(text: str) -> str:
    """A plain ``$`` escaped, so GitHub does not read the text between two (M$/yr ... M$) as math."""
    return re.sub(r"(?<!\\)\$", r"\\$", text)


def _module_link(module: str) -> str:
    return f"[{module.removeprefix('optimizer/model/')}](../{module})"


def _family_table(kind: str) -> list[str]:
    lines = ["| family | layer | module | index | unit | meaning | input tables |", "|---|---|---|---|---|---|---|"]
    lines += [
        f"| `{f.name}` | {f.layer} | {_module_link(f.module)} | {_cell(f.index)} | {_cell(f.unit)} | "
        f"{_cell(f.meaning)} | {_cell(f.input_tables)} |"
        for f in FAMILIES.values()
        if f.kind == kind
    ]
    return lines


_MARKUP = re.compile(r":(\w+):`([^`]+)`|``([^`]+)``")
_BORDER = re.compile(r"^\s*=+(\s+=+)+\s*$")


def _inline(text: str) -> str:
    """reStructuredText roles and literals as GitHub markdown: math as $`...`$, references and literals as
    code; a plain ``$`` escaped."""

    def markup(match: re.Match) -> str:
        kind, target, literal = match.groups()
        if literal is not None:
            return f"`{literal}`"
        if kind == "math":
            return f"$`{target}`$"
        target = target.lstrip(".")
        if target.startswith("~"):
            target = target[1:].rsplit(".", 1)[-1]
        return f"`{target}`"

    out, end = [], 0
    for match in _MARKUP.finditer(text):
        out += [_dollars(text[end : match.start()]), markup(match)]
        end = match.end()
    return "".join([*out, _dollars(text[end:])])


def _inline_cell(text: str) -> str:
    """RST text for a markdown table cell: one line, converted by :func:`_inline`, ``|`` escaped."""
    return _inline(" ".join(text.split())).replace("|", "\\|")


def _math(block: list[str]) -> list[str]:
    """An indented ``.. math::`` block as fenced math blocks, one per equation (blank-line separated)."""
    out: list[str] = []
    for equation in re.split(r"\n\s*\n", textwrap.dedent("\n".join(block)).strip("\n")):
        out += ["```math", *equation.splitlines(), "```", ""]
    return out


def _table(block: list[str]) -> list[str]:
    """An RST simple table as a markdown table (a header row) or a list (no header)."""
    borders = [n for n, line in enumerate(block) if _BORDER.match(line)]
    spans = [match.span() for match in re.finditer(r"=+", block[0])]
    header_end = borders[1] if len(borders) > 2 else 0
    rows: list[list[str]] = []
    header: list[str] = []
    for n, line in enumerate(block):
        if n in borders or not line.strip():
            continue
        cells = [line[start : (end if i < len(spans) - 1 else None)].strip() for i, (start, end) in enumerate(spans)]
        if n < header_end:
            header = cells
        elif rows and not cells[0]:
            rows[-1] = [f"{old} {new}".strip() for old, new in zip(rows[-1], cells)]
        else:
            rows.append(cells)
    if header:
        return [
            f"| {' | '.join(_cell(c) for c in header)} |",
            "|" + "---|" * len(header),
            *(f"| {' | '.join(_inline_cell(c) for c in row)} |" for row in rows),
            "",
        ]
    return [*(f"- {_inline(row[0])}: {_inline(' '.join(row[1:]))}" for row in rows), ""]


def rst_to_markdown(text: str) -> str:
    """A docstring of the model (reStructuredText) as GitHub markdown: ``.. math::`` blocks as fenced math,
    simple tables as tables, roles and literals inline."""
    lines = text.splitlines()
    out: list[str] = []
    n = 0
    while n < len(lines):
        line = lines[n]
        if line.strip() == ".. math::":
            indent = len(line) - len(line.lstrip())
            n += 1
            block = []
            while n < len(lines) and (not lines[n].strip() or len(lines[n]) - len(lines[n].lstrip()) > indent):
                block.append(lines[n])
                n += 1
            if out and out[-1]:
                out.append("")
            out += _math(block)
        elif _BORDER.match(line):
            start = n
            n += 1
            # the table ends at a border followed by a blank line (or the end)
            while n < len(lines) and not (_BORDER.match(lines[n]) and not "".join(lines[n + 1 : n + 2]).strip()):
                n += 1
            n += 1
            if out and out[-1]:
                out.append("")
            out += _table(lines[start:n])
        else:
            out.append(_inline(line.strip()) if line.strip() else "")
            n += 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")


def _documented_functions(module: ModuleType) -> list[tuple[str, str]]:
    """(name, docstring) of the functions of a model module that build families, in source order: ``add_*``
    (and ``_add_*``), ``assemble``, and any other whose docstring holds equations."""
    functions = []
    for name, function in inspect.getmembers(module, inspect.isfunction):
        doc = inspect.getdoc(function) or ""
        builds = name.lstrip("_").startswith("add_") or name == "assemble" or ".. math::" in doc
        if function.__module__ == module.__name__ and doc and builds:
            functions.append((function.__code__.co_firstlineno, name, doc))
    return [(name, doc) for _, name, doc in sorted(functions)]


def _equations() -> list[str]:
    lines = [
        "# The equations, layer by layer",
        "",
        "Each layer's module, then the docstring of each function that builds its families, with its "
        "equations (the family a row belongs to in parentheses).",
        "",
    ]
    for layer in LAYERS:
        main = f"optimizer.model.{layer}"
        modules = [main] + [f.python_module for f in FAMILIES.values() if f.layer == layer]
        lines += [f"## Layer: {layer}", ""]
        for name in dict.fromkeys(modules):
            module = importlib.import_module(name)
            path = Path(inspect.getfile(module)).as_posix()
            path = path[path.rindex("optimizer/model/") :]
            if name != main:
                lines += [f"### {_module_link(path)}", ""]
            else:
                lines += [f"Module {_module_link(path)}.", ""]
            lines += [rst_to_markdown(inspect.getdoc(module) or ""), ""]
            for function, doc in _documented_functions(module):
                lines += [f"{'####' if name != main else '###'} `{function}`", "", rst_to_markdown(doc), ""]
    return lines


def markdown() -> str:
    """docs/MODEL.md as the declaration and the model's docstrings render it."""
    lines = [INTRO]
    for kind, title in (
        (CONSTRAINT, "Constraints"),
        (VARIABLE, "Variables"),
        (EXPRESSION, "Expressions"),
        (OBJECTIVE, "Objectives"),
    ):
        lines += [f"## {title}", "", *_family_table(kind), ""]
    lines += _equations()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """Render the reference of the model: ``python -m optimizer.model.families [--write docs/MODEL.md]``."""
    return write_reference("python -m optimizer.model.families", main.__doc__ or "", markdown, argv)


if __name__ == "__main__":
    sys.exit(main())
