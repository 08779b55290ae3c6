"""A corpus of broken inputs, hostile files and bad options, run through every command.

Each case copies a tiny scenario, damages exactly one thing, runs one ``aifactory`` command in
this process and asserts: the exit code (2 for bad input, 0 where the input is odd but readable),
a one-line cause naming the file or option and the rule, no traceback, and no input file
changed or removed. The corpus is the issue's list of ways to break the tool, grown by table.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from optimizer.cli import app
from tests.tiny import write_tiny

EXIT_INPUT = 2


@dataclass
class Case:
    name: str
    damage: Callable[[Path], None]
    """changes the copied scenario folder (the YAML is ``scenario.yaml``)"""
    fragments: tuple[str, ...]
    """text the one-line cause must contain"""
    command: Callable[[Path, Path], list[str]] = field(
        default=lambda folder, out: ["solve", str(folder / "scenario.yaml"), "--out", str(out)]
    )
    exit_code: int = EXIT_INPUT


# ---- damage makers -----------------------------------------------------------------------


def cell(table: str, column: str, value, row: int = 0) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        path = folder / f"{table}.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame.loc[row, column] = str(value)
        frame.to_csv(path, index=False)

    return damage


def site_property(column: str, value) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        path = folder / "sites.geojson"
        document = json.loads(path.read_text())
        document["features"][0]["properties"][column] = value
        path.write_text(json.dumps(document))

    return damage


def site_geometry(geometry) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        path = folder / "sites.geojson"
        document = json.loads(path.read_text())
        document["features"][0]["geometry"] = geometry
        path.write_text(json.dumps(document))

    return damage


def raw(file: str, content: bytes | str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        path = folder / file
        path.write_bytes(content if isinstance(content, bytes) else content.encode())

    return damage


def reencode(
    file: str, encoding: str, bom: bytes = b"", replace: tuple[str, str] | None = None
) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        path = folder / file
        text = path.read_text()
        if replace:
            text = text.replace(*replace)
        path.write_bytes(bom + text.encode(encoding))

    return damage


def option(dotted: str, value) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        path = folder / "scenario.yaml"
        document = yaml.safe_load(path.read_text())
        *parents, key = dotted.split(".")
        place = document
        for part in parents:
            place = place.setdefault(part, {})
        place[key] = value
        path.write_text(yaml.safe_dump(document))

    return damage


def yaml_text(text: str) -> Callable[[Path], None]:
    return raw("scenario.yaml", text)


def gzip_truncated(folder: Path) -> None:
    path = folder / "hourly.csv.gz"
    path.write_bytes(path.read_bytes()[:200])


def swap_site_coordinates(folder: Path) -> None:
    path = folder / "sites.geojson"
    document = json.loads(path.read_text())
    lon, lat = document["features"][0]["geometry"]["coordinates"][:2]
    document["features"][0]["geometry"]["coordinates"] = [lat, lon]
    path.write_text(json.dumps(document))


def nothing(folder: Path) -> None:
    """The scenario as written: the case is in the command line."""


ALIAS_BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))
    + "name: bomb\n"
)
DEEP = "name: deep\nfinance: " + "[" * 20_000 + "]" * 20_000 + "\n"
DEEP_JSON = "[" * 20_000 + "]" * 20_000


def solve_with(*options: str) -> Callable[[Path, Path], list[str]]:
    return lambda folder, out: ["solve", str(folder / "scenario.yaml"), "--out", str(out), *options]


# ---- the corpus ---------------------------------------------------------------------------

NUMERIC_COLUMNS = {
    "power_techs": [
        "capex_usd_per_kw",
        "fom_usd_per_kw_yr",
        "vom_usd_per_mwh",
        "life_yr",
        "lead_time_yr",
        "land_acres_per_mw",
        "availability",
    ],
    "storage_techs": ["power_capex_usd_per_kw", "energy_capex_usd_per_kwh", "round_trip_efficiency", "min_duration_h"],
    "chips": [
        "rack_power_kw",
        "price_usd_per_chip",
        "system_usd_per_chip",
        "life_yr",
        "fom_pct_per_yr",
        "supply_limit_chips",
    ],
    "chip_throughput": ["tokens_per_s_per_chip"],
    "cooling": ["max_rack_kw", "capex_usd_per_kw_it", "fom_usd_per_kw_it_yr", "power_overhead", "chiller_cop_at_35c"],
    "workloads": ["latency_budget_ms", "utilisation"],
    "regions": ["lat", "lon"],
    "demand": ["tokens_per_yr"],
    "facility": ["value"],
}

CASES: list[Case] = []
for table, columns in NUMERIC_COLUMNS.items():
    for column in columns:
        CASES.append(Case(f"{table}.{column}=inf", cell(table, column, "inf"), (f"{table}.csv", column, "finite")))
    CASES.append(Case(f"{table}.{columns[0]}=-inf", cell(table, columns[0], "-inf"), (f"{table}.csv", columns[0])))
    CASES.append(Case(f"{table}.{columns[0]}=text", cell(table, columns[0], "twelve"), (f"{table}.csv", columns[0])))

CASES += [
    # prices that cannot be negative
    Case(
        "sites.grid_price negative",
        site_property("grid_price_usd_per_mwh", -5.0),
        ("sites.geojson", "grid_price_usd_per_mwh"),
    ),
    Case(
        "sites.gas_price negative",
        site_property("gas_price_usd_per_mmbtu", -1.0),
        ("sites.geojson", "gas_price_usd_per_mmbtu"),
    ),
    Case(
        "sites.land_price negative",
        site_property("land_price_usd_per_acre", -1.0),
        ("sites.geojson", "land_price_usd_per_acre"),
    ),
    Case(
        "power_techs.fuel price negative",
        cell("power_techs", "fuel_price_usd_per_mmbtu", -2),
        ("power_techs.csv", "fuel_price"),
    ),
    Case(
        "carbon price negative",
        option("constraints.carbon_price_usd_per_t", -50),
        ("carbon_price_usd_per_t", "at least 0"),
    ),
    # non-finite values in the sites and hours
    Case(
        "sites.land_acres Infinity",
        site_property("land_acres", float("inf")),
        ("sites.geojson", "land_acres", "finite"),
    ),
    Case(
        "sites.grid_capacity NaN",
        site_property("grid_capacity_mw", float("nan")),
        ("sites.geojson", "grid_capacity_mw"),
    ),
    Case("hourly temp inf", lambda f: _hourly_cell(f, "temp_c", "inf"), ("hourly.csv.gz", "temp_c", "finite")),
    Case("hourly solar nan", lambda f: _hourly_cell(f, "solar_cf", "nan"), ("hourly.csv.gz", "solar_cf")),
    # options that must be finite and in range
    Case("horizon NaN", option("finance.horizon_yr", float("nan")), ("finance.horizon_yr", "finite")),
    Case("horizon inf", option("finance.horizon_yr", float("inf")), ("finance.horizon_yr", "finite")),
    Case("carbon cap NaN", option("constraints.carbon_cap_t_per_yr", float("nan")), ("carbon_cap_t_per_yr", "finite")),
    Case("capex budget negative", option("constraints.capex_budget_usd", -1.0), ("capex_budget_usd", "at least 0")),
    Case("wacc 1.5", option("finance.wacc", 1.5), ("finance.wacc", "fraction")),
    Case("online_by before start", option("constraints.online_by_year", 2020), ("online_by_year", "before")),
    Case("time_limit 0 in YAML", option("solver.time_limit_s", 0), ("solver.time_limit_s", "positive")),
    Case("threads 0 in YAML", option("solver.threads", 0), ("solver.threads",)),
    Case("representative_days 0", option("time.representative_days", 0), ("representative_days",)),
    Case("allowed_sites empty", option("constraints.allowed_sites", []), ("allowed_sites", "empty list")),
    Case(
        "allowed_power_techs empty",
        option("constraints.allowed_power_techs", []),
        ("allowed_power_techs", "empty list"),
    ),
    Case("unknown option", option("solver.gap", 0.1), ("solver.gap", "mip_gap")),
    Case("section not a mapping", option("finance", [1, 2]), ("finance", "mapping")),
    Case(
        "override inf",
        option("overrides", {"sites": {"a": {"land_acres": float("inf")}}}),
        ("overrides.sites.a.land_acres", "finite"),
    ),
    Case(
        "override scale NaN on a nullable column",
        option("overrides", {"chips": {"x": {"supply_limit_chips": {"scale": float("nan")}}}}),
        ("overrides.chips.x.supply_limit_chips", "finite"),
    ),
    Case(
        "override negative price",
        option("overrides", {"sites": {"*": {"grid_price_usd_per_mwh": -10}}}),
        ("overrides.sites", "grid_price_usd_per_mwh"),
    ),
    Case(
        "min_cost_per_token without demand",
        lambda f: (cell("demand", "tokens_per_yr", 0)(f), option("objective.mode", "min_cost_per_token")(f)),
        ("min_cost_per_token needs some demand",),
    ),
    # booleans read strictly
    Case(
        "boolean 'maybe'", cell("workloads", "interactive", "maybe"), ("workloads.csv", "interactive", "true or false")
    ),
    Case("boolean 'yes' reads as true", cell("workloads", "interactive", "yes"), (), exit_code=0),
    # coordinates
    Case("site lat/lon swapped", swap_site_coordinates, ("sites.geojson",)),
    Case("site outside its state", site_property("state", "NY"), ("sites.geojson", "outside its state NY")),
    Case(
        "region lat/lon swapped",
        lambda f: (cell("regions", "lat", -97.0)(f), cell("regions", "lon", 32.0)(f)),
        ("regions.csv", "lat", "in_range(-90, 90)"),
    ),
    Case(
        "region on another continent",
        lambda f: (cell("regions", "lat", -33.87)(f), cell("regions", "lon", 151.21)(f)),
        ("regions.csv", "km from the nearest candidate site"),
    ),
    # encodings
    Case("chips.csv in UTF-16", reencode("chips.csv", "utf-16-le", codecs.BOM_UTF16_LE), (), exit_code=0),
    Case("chips.csv in UTF-8 with BOM", reencode("chips.csv", "utf-8", codecs.BOM_UTF8), (), exit_code=0),
    Case(
        "chips.csv in Latin-1",
        reencode("chips.csv", "latin-1", replace=("Chip X", "Puce \u00e9l\u00e9gante")),
        (),
        exit_code=0,
    ),
    Case("chips.csv UTF-16 without BOM", reencode("chips.csv", "utf-16-le"), ("chips.csv", "NUL")),
    Case("scenario YAML in UTF-16", reencode("scenario.yaml", "utf-16-le", codecs.BOM_UTF16_LE), (), exit_code=0),
    # broken and hostile files
    Case("chips.csv empty", raw("chips.csv", b""), ("chips.csv", "empty")),
    Case("chips.csv binary", raw("chips.csv", bytes(range(256)) * 4), ("chips.csv",)),
    Case("chips.csv missing", lambda f: (f / "chips.csv").unlink(), ("chips.csv", "not found")),
    Case(
        "chips.csv is a folder",
        lambda f: ((f / "chips.csv").unlink(), (f / "chips.csv").mkdir()),
        ("chips.csv", "folder"),
    ),
    Case(
        "chips.csv missing column",
        lambda f: pd.read_csv(f / "chips.csv").drop(columns="life_yr").to_csv(f / "chips.csv", index=False),
        ("chips.csv", "life_yr"),
    ),
    Case("hourly .gz not gzip", raw("hourly.csv.gz", "site_id,hour\n"), ("hourly.csv.gz", "not a gzip")),
    Case("hourly .gz truncated", gzip_truncated, ("hourly.csv.gz", "truncated")),
    Case(
        "geojson polygon",
        site_geometry({"type": "Polygon", "coordinates": [[[-97, 32], [-96, 32], [-96, 33], [-97, 32]]]}),
        ("sites.geojson", "Polygon", "Point"),
    ),
    Case(
        "geojson line",
        site_geometry({"type": "LineString", "coordinates": [[-97, 32], [-96, 33]]}),
        ("sites.geojson", "LineString"),
    ),
    Case("geojson no geometry", site_geometry(None), ("sites.geojson", "no geometry")),
    Case(
        "geojson truncated",
        lambda f: raw("sites.geojson", (f / "sites.geojson").read_text()[:120])(f),
        ("sites.geojson", "not valid JSON"),
    ),
    Case("geojson empty", raw("sites.geojson", b""), ("sites.geojson", "empty")),
    Case("geojson nested brackets", raw("sites.geojson", DEEP_JSON), ("sites.geojson", "nested")),
    Case(
        "geojson not a collection",
        raw("sites.geojson", '{"type": "Point", "coordinates": [0, 0]}'),
        ("sites.geojson", "FeatureCollection"),
    ),
    # hostile YAML
    Case("YAML alias bomb", yaml_text(ALIAS_BOMB), ("scenario.yaml", "aliases")),
    Case("YAML nested brackets", yaml_text(DEEP), ("scenario.yaml", "nesting")),
    Case("YAML binary", raw("scenario.yaml", bytes(range(256))), ("scenario.yaml",)),
    Case("YAML a list", yaml_text("- a\n- b\n"), ("scenario.yaml", "mapping")),
    Case("YAML syntax error", yaml_text("name: [unclosed\n"), ("scenario.yaml", "not valid YAML")),
    Case("hourly_files /dev/zero", option("hourly_files", {"a": "/dev/zero"}), ("/dev/zero", "not a regular file")),
    Case(
        "hourly_files escapes the tree",
        option("hourly_files", {"a": "../../../../../etc/passwd"}),
        ("hourly_files.a", "outside"),
    ),
    Case("hourly_files a folder", option("hourly_files", {"a": "."}), ("folder",)),
    Case("data folder missing", option("data", "/nonexistent/aifactory"), ("/nonexistent/aifactory",)),
    Case("extends itself", option("extends", "scenario.yaml"), ("cycle",)),
    Case("extends missing", option("extends", "nothing.yaml"), ("nothing.yaml", "not found")),
    Case("tables escapes data folder", option("tables", {"chips": "../../chips.csv"}), ("tables.chips", "outside")),
    Case(
        "scenario path is a folder",
        nothing,
        ("is a folder",),
        command=lambda folder, out: ["solve", str(folder), "--out", str(out)],
    ),
    Case(
        "scenario path missing",
        nothing,
        ("not found",),
        command=lambda folder, out: ["solve", str(folder / "nope.yaml"), "--out", str(out)],
    ),
    # command-line options pass the YAML's checks
    Case("--time-limit 0", nothing, ("command line", "solver.time_limit_s"), command=solve_with("--time-limit", "0")),
    Case("--time-limit -5", nothing, ("command line", "solver.time_limit_s"), command=solve_with("--time-limit", "-5")),
    Case("--time-limit nan", nothing, ("solver.time_limit_s", "finite"), command=solve_with("--time-limit", "nan")),
    Case("--time-limit inf", nothing, ("solver.time_limit_s", "finite"), command=solve_with("--time-limit", "inf")),
    Case("--mip-gap 1.5", nothing, ("solver.mip_gap",), command=solve_with("--mip-gap", "1.5")),
    Case("--mip-gap -0.1", nothing, ("solver.mip_gap",), command=solve_with("--mip-gap", "-0.1")),
    Case("--mip-gap nan", nothing, ("solver.mip_gap", "finite"), command=solve_with("--mip-gap", "nan")),
    Case("--threads 0", nothing, ("solver.threads",), command=solve_with("--threads", "0")),
    Case("--threads -1", nothing, ("solver.threads",), command=solve_with("--threads", "-1")),
    Case("--objective bogus", nothing, ("objective.mode", "bogus"), command=solve_with("--objective", "bogus")),
    # output paths that would destroy something
    Case(
        "--out empty",
        nothing,
        ("current folder",),
        command=lambda folder, out: ["solve", str(folder / "scenario.yaml"), "--out", "", "--force"],
    ),
    Case(
        "--out .",
        nothing,
        ("current folder",),
        command=lambda folder, out: ["solve", str(folder / "scenario.yaml"), "--out", ".", "--force"],
    ),
    Case(
        "--out the input folder",
        nothing,
        ("scenario's inputs",),
        command=lambda folder, out: ["solve", str(folder / "scenario.yaml"), "--out", str(folder), "--force"],
    ),
    Case(
        "--out inside the input folder",
        nothing,
        ("scenario's inputs",),
        command=lambda folder, out: ["solve", str(folder / "scenario.yaml"), "--out", str(folder / "plan")],
    ),
    Case(
        "--out a file",
        nothing,
        ("is a file",),
        command=lambda folder, out: [
            "solve",
            str(folder / "scenario.yaml"),
            "--out",
            str(_touch(out.parent / "a_file")),
            "--force",
        ],
    ),
    Case(
        "--out under a file",
        nothing,
        ("which is a file",),
        command=lambda folder, out: [
            "solve",
            str(folder / "scenario.yaml"),
            "--out",
            str(_touch(out.parent / "a_file") / "plan"),
        ],
    ),
    Case(
        "--out a folder of someone's",
        nothing,
        ("not a plan folder",),
        command=lambda folder, out: [
            "solve",
            str(folder / "scenario.yaml"),
            "--out",
            str(_someones_folder(out.parent)),
            "--force",
        ],
    ),
    Case(
        "--out a symlink",
        nothing,
        ("symbolic link",),
        command=lambda folder, out: [
            "solve",
            str(folder / "scenario.yaml"),
            "--out",
            str(_symlink(out.parent)),
            "--force",
        ],
    ),
    # the other commands
    Case("verify a missing folder", nothing, ("not found",), command=lambda folder, out: ["verify", str(out / "nope")]),
    Case(
        "verify a file",
        nothing,
        ("not a folder",),
        command=lambda folder, out: ["verify", str(_touch(out.parent / "a_file"))],
    ),
    Case(
        "verify an empty folder",
        nothing,
        ("summary",),
        command=lambda folder, out: ["verify", str(_mkdir(out))],
        exit_code=4,
    ),
    Case(
        "diagnose a missing scenario",
        nothing,
        ("not found",),
        command=lambda folder, out: ["diagnose", str(folder / "nope.yaml")],
    ),
    Case(
        "diagnose an alias bomb",
        yaml_text(ALIAS_BOMB),
        ("aliases",),
        command=lambda folder, out: ["diagnose", str(folder / "scenario.yaml")],
    ),
    Case("stats of a folder", nothing, ("is a folder",), command=lambda folder, out: ["stats", str(folder)]),
    Case(
        "stats of a NaN horizon",
        option("finance.horizon_yr", float("nan")),
        ("finite",),
        command=lambda folder, out: ["stats", str(folder / "scenario.yaml")],
    ),
    Case(
        "compare missing plans",
        nothing,
        ("not a plan folder",),
        command=lambda folder, out: ["compare", str(out / "a"), str(out / "b")],
    ),
    Case(
        "plot an empty folder",
        nothing,
        ("neither a plan folder",),
        command=lambda folder, out: ["plot", str(_mkdir(out))],
    ),
    Case(
        "plot a damaged plan",
        nothing,
        ("sites.csv", "not found"),
        command=lambda folder, out: ["plot", str(_damaged_plan(out))],
    ),
    Case(
        "sweep with a list of parameters",
        nothing,
        ("parameters",),
        command=lambda folder, out: ["sweep", str(_sweep(folder, "parameters: [a, b]\n")), "--out", str(out)],
    ),
    Case(
        "sweep of a missing scenario",
        nothing,
        ("not found",),
        command=lambda folder, out: [
            "sweep",
            str(_sweep(folder, "parameters: {p: {set: finance.wacc, values: [0.05]}}\n", "nope.yaml")),
            "--out",
            str(out),
        ],
    ),
    Case(
        "sweep alias bomb",
        nothing,
        ("aliases",),
        command=lambda folder, out: [
            "sweep",
            str(_write(folder.parent / "bomb_sweep.yaml", ALIAS_BOMB)),
            "--out",
            str(out),
        ],
    ),
    Case(
        "sweep with an infinite value",
        nothing,
        ("finite",),
        command=lambda folder, out: [
            "sweep",
            str(_sweep(folder, "parameters: {p: {set: finance.wacc, values: [.inf]}}\n")),
            "--out",
            str(out),
        ],
    ),
    Case(
        "sweep --out a folder of someone's",
        nothing,
        ("not a sweep folder",),
        command=lambda folder, out: [
            "sweep",
            str(_sweep(folder, "parameters: {p: {set: finance.wacc, values: [0.05]}}\n")),
            "--out",
            str(_someones_folder(out.parent)),
        ],
    ),
]


def _hourly_cell(folder: Path, column: str, value: str) -> None:
    path = folder / "hourly.csv.gz"
    frame = pd.read_csv(path, dtype=str)
    frame.loc[5, column] = value
    frame.to_csv(path, index=False)


def _touch(path: Path) -> Path:
    path.write_text("a file\n")
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _someones_folder(parent: Path) -> Path:
    folder = _mkdir(parent / "photos")
    (folder / "holiday.jpg").write_bytes(b"\xff\xd8 a picture")
    return folder


def _symlink(parent: Path) -> Path:
    target = _mkdir(parent / "real")
    link = parent / "link"
    link.symlink_to(target)
    return link


def _sweep(folder: Path, parameters: str, scenario: str = "scenario.yaml") -> Path:
    return _write(folder.parent / "sweep.yaml", f"scenario: {folder.name}/{scenario}\nmode: grid\n{parameters}")


def _damaged_plan(out: Path) -> Path:
    plan = _mkdir(out / "damaged")
    (plan / ".aifactory").write_text('{"kind": "plan"}\n')
    (plan / "summary.csv").write_text("status\noptimal\n")
    return plan


def _fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture(scope="module")
def tiny_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("template") / "in"
    write_tiny(folder)
    return folder


def test_the_corpus_holds_a_hundred_cases() -> None:
    assert len(CASES) >= 100
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_ends_in_one_named_line(case: Case, tiny_template: Path, tmp_path: Path, monkeypatch) -> None:
    work = tmp_path / "work"
    folder = work / "in"
    shutil.copytree(tiny_template, folder)
    case.damage(folder)
    before = _fingerprint(folder)
    out = work / "out"
    monkeypatch.chdir(work)
    result = CliRunner().invoke(app, case.command(folder, out))
    output = result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), f"traceback:\n{output}"
    assert "Traceback" not in output
    assert result.exit_code == case.exit_code, output
    for fragment in case.fragments:
        assert fragment in output, f"{fragment!r} missing from:\n{output}"
    if case.exit_code != 0:
        assert (
            len([line for line in output.splitlines() if line.startswith(("input error", "error", "violation"))]) >= 1
        )
    assert _fingerprint(folder) == before, "an input file was changed or removed"
    assert not list(work.rglob(".*aifactory-staging-*")), "a staging folder was left behind"
