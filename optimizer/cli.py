"""The ``aifactory`` command.

Every command ends in one of the exit codes below. A bad input, a file-system error or an
undecodable file is one line naming the file, row, column and rule (exit 2), never a traceback;
``aifactory --debug COMMAND`` shows the traceback for developers.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

import pandas as pd
import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from optimizer.analysis.diagnose import diagnose
from optimizer.analysis.diagnose_buildout import diagnose_buildout
from optimizer.analysis.screening import screened_solve
from optimizer.analysis.screening_buildout import screened_buildout
from optimizer.analysis.sweep import load_sweep, run_sweep
from optimizer.constants import TOKENS_PER_PTOK, USD_PER_BN
from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.geojson import GeoJSONError
from optimizer.inputs.safe_io import MAX_YAML_BYTES, UnsafeFileError, checked_file
from optimizer.inputs.scenario import OBJECTIVE_MODES, Scenario, ScenarioError, check_options, load_scenario
from optimizer.inputs.years import planning_years, year_scenario
from optimizer.model import FactoryModel, build_model
from optimizer.model.buildout import build_buildout
from optimizer.outputs.buildout import BuildoutPlan, build_buildout_plan
from optimizer.outputs.compare import (
    BuildoutComparison,
    PlanComparison,
    PlanFolderError,
    compare_buildouts,
    compare_plans,
)
from optimizer.outputs.folders import OutputFolderError, check_output_folder, write_folder
from optimizer.outputs.fullyear import full_year_warning
from optimizer.outputs.plan import Plan, PlanFailsVerification, build_plan
from optimizer.outputs.plots import (
    PlotOptionError,
    plot_buildout_cost,
    plot_buildout_fleet,
    plot_buildout_it,
    plot_cost_by_site,
    plot_dispatch,
    plot_map,
    plot_map_html,
    plot_tornado,
)
from optimizer.solver.buildout import solve_buildout
from optimizer.solver.milp import SolveError, SolveResult, solve
from optimizer.solver.session import SolverSession
from optimizer.solver.stats import family_tables, model_stats
from optimizer.verify import verification_table, verify_plan
from optimizer.verify.buildout import verify_buildout

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Plan AI factories at the lowest cost per delivered token."
)
console = Console()
# soft_wrap: an error stays on one line in logs and CI, whatever the width
err_console = Console(stderr=True, soft_wrap=True)

EXIT_OK = 0
#: a bug: one line and a request to run with --debug
EXIT_INTERNAL = 1
EXIT_INPUT = 2
#: the scenario is proven to have no plan
EXIT_INFEASIBLE = 3
EXIT_VIOLATION = 4
#: the time limit stopped the solve with a plan, not proven within the gap asked
EXIT_TIME_LIMIT_PLAN = 5
#: the solve stopped without any plan (time limit or numerical trouble), not proven infeasible
EXIT_NO_PLAN = 6
#: the shell's convention for a process ended by SIGINT
EXIT_INTERRUPTED = 130

#: errors that are the input's fault, reported as one line each
INPUT_ERRORS = (
    ScenarioError,
    OutputFolderError,
    PlanFolderError,
    UnsafeFileError,
    GeoJSONError,
    PlotOptionError,
    yaml.YAMLError,
)
#: file-system errors in a planner's words
OS_ERROR_WORDS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "is a folder, not a file",
}


class _State:
    debug = False


@app.callback()
def main(debug: bool = typer.Option(False, "--debug", help="show the Python traceback of any error")) -> None:
    """Plan AI factories: sites, power, chips and cooling at the lowest cost per delivered token."""
    _State.debug = debug


def _os_error_line(error: OSError) -> str:
    where = error.filename or ""
    fallback = error.strerror or str(error)
    words = OS_ERROR_WORDS.get(error.errno, fallback) if error.errno is not None else fallback
    return f"{where}: {words}" if where else words


@contextmanager
def _one_line_errors(interrupted: str = "stopped; nothing written") -> Iterator[None]:
    """Turn every failure of a command into its exit code and one line (the traceback with --debug)."""
    try:
        yield
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        _interrupted(interrupted)
    except INPUT_ERRORS as error:
        if _State.debug:
            raise
        _print_input_error(error)
        raise typer.Exit(EXIT_INPUT) from None
    except (OSError, UnicodeError) as error:
        if _State.debug:
            raise
        line = _os_error_line(error) if isinstance(error, OSError) else f"cannot decode a file: {error}"
        err_console.print(f"[red]error:[/red] {escape(line)}")
        raise typer.Exit(EXIT_INPUT) from None
    except Exception as error:  # a bug must still end in one line, not a traceback
        if _State.debug:
            raise
        err_console.print(
            f"[red]internal error:[/red] {escape(type(error).__name__)}: "
            f"{escape(' '.join(str(error).split()))} "
            "(run `aifactory --debug ...` for the traceback and report it)"
        )
        raise typer.Exit(EXIT_INTERNAL) from None


def _headline(plan: Plan) -> Table:
    s = plan.summary
    table = Table(title=f"Plan '{plan.scenario_name}'", show_header=True, header_style="bold")
    table.add_column("figure")
    table.add_column("value", justify="right")
    gap = f"{s['mip_gap']:.2%}"
    rows = [
        ("status", f"{s['status']} (gap {gap}, plan from {s['plan_source']})"),
        ("cost per million tokens", f"${s['usd_per_mtok']:.4f}"),
        ("  energy", f"${s['energy_usd_per_mtok']:.4f}"),
        ("  chips", f"${s['chips_usd_per_mtok']:.4f}"),
        ("  infrastructure", f"${s['infrastructure_usd_per_mtok']:.4f}"),
        ("total cost", f"${s['total_cost_usd_per_yr'] / USD_PER_BN:,.2f} bn/yr"),
        ("delivered tokens", f"{s['delivered_tokens_per_yr']:.3e} /yr"),
        ("sites built", f"{int(s['sites_built'])}"),
        ("IT capacity", f"{s['it_capacity_mw']:,.0f} MW"),
        ("accelerators", f"{int(s['chips']):,}"),
        ("emissions", f"{s['emissions_kg_per_mtok']:.3f} kg CO2/Mtok"),
        ("water", f"{s['water_l_per_mtok']:.3f} L/Mtok"),
        ("energy per token", f"{s['energy_j_per_token']:.3f} J"),
        ("representative days", f"{int(s['periods'])} ({int(s['slices'])} h)"),
        (
            "  hourly RMSE solar / wind",
            f"{s['aggregation_rmse_solar_cf']:.2f} / {s['aggregation_rmse_wind_cf']:.2f} CF",
        ),
        ("model build / hand-off / solve", f"{s['build_s']:.1f} / {s['handoff_s']:.1f} / {s['solve_s']:.1f} s"),
    ]
    if s["dinkelbach_iterations"]:
        rows.append(("Dinkelbach iterations", f"{int(s['dinkelbach_iterations'])}"))
    for name, value in rows:
        table.add_row(name, value)
    return table


#: families listed by aifactory stats
WIDEST_SHOWN = 10
#: smallest capacity the sites table names (the CSV keeps every MW)
MW_SHOWN = 0.5


def _sites_table(plan: Plan) -> Table:
    sites = plan.tables["sites"]
    built = sites[sites["built"] == 1].sort_values("it_capacity_mw", ascending=False)
    power = plan.tables["power"]
    table = Table(title="Sites built", header_style="bold")
    for column in ("site", "cooling", "IT MW", "chips", "power", "$/Mtok"):
        table.add_column(column, justify="right" if column in ("IT MW", "$/Mtok") else "left")
    chips = plan.tables["chips"]
    for row in built.itertuples():
        mix = power[(power["site_id"] == row.site_id) & (power["capacity_mw"] >= MW_SHOWN)]
        sources = ", ".join(f"{r.tech_id} {r.capacity_mw:,.0f}" for r in mix.itertuples())
        skus = ", ".join(f"{r.chip_id} x{int(r.chips):,}" for r in chips[chips["site_id"] == row.site_id].itertuples())
        table.add_row(
            row.site_id, row.cooling_id, f"{row.it_capacity_mw:,.0f}", skus, sources, f"{row.usd_per_mtok:.4f}"
        )
    return table


@app.command("solve")
def solve_command(
    scenario_path: Path = typer.Argument(..., help="scenario YAML, e.g. data/scenarios/base.yaml"),
    out: Path = typer.Option(..., "--out", "-o", help="folder for the plan's CSV tables"),
    force: bool = typer.Option(False, "--force", help="replace an existing plan folder (written by aifactory)"),
    objective: str | None = typer.Option(None, help=f"override objective.mode: {' | '.join(OBJECTIVE_MODES)}"),
    time_limit: float | None = typer.Option(None, "--time-limit", help="solver time limit, s"),
    mip_gap: float | None = typer.Option(None, "--mip-gap", help="relative MIP gap, e.g. 0.005"),
    threads: int | None = typer.Option(None, help="HiGHS threads"),
    log: bool | None = typer.Option(None, "--log/--no-log", help="print the HiGHS log"),
    screen: bool = typer.Option(
        False,
        "--screen",
        help="long site lists (serve_demand): bound every candidate by a relaxation (each planning year of a "
        "build-out), plan the sites it builds with the full model, report the gap over all candidates",
    ),
) -> None:
    """Solve a scenario and write its plan (summary, sites, chips, power, dispatch, ...) to --out.

    Exit codes: 0 optimal within the gap; 5 time limit with a plan (gap shown); 3 proven
    infeasible (with the reason); 6 no plan at the time limit; 2 bad input; 4 the plan failed its
    own verification (nothing written); 130 interrupted."""
    with _one_line_errors(f"nothing written to {out}"):
        # refused before any work: a scenario that is no file, and an output folder that would
        # replace the current folder, the scenario's folder or a folder we did not write
        checked_file(scenario_path, MAX_YAML_BYTES, "scenario file")
        check_output_folder(out, "plan", protected=[scenario_path.parent], force=force)
        with console.status("loading and validating the scenario"):
            scenario = load_scenario(scenario_path)
        check_output_folder(out, "plan", protected=scenario.input_folders(), force=force)
        for warning in scenario.warnings:
            err_console.print(f"[yellow]check units:[/yellow] {escape(warning)}")
        for line in _never_used(scenario):
            err_console.print(f"[yellow]never used:[/yellow] {escape(line)}")
        _apply_command_line(scenario, objective, time_limit=time_limit, mip_gap=mip_gap, threads=threads, log=log)
        if scenario.buildout.planning_years is not None:
            _solve_buildout(scenario, out, force, screen)
            return
        try:
            fm, result = _screened(scenario) if screen else _solved(scenario)
        except SolveError as error:
            _no_plan(error, scenario)
        if screen:
            # the folder's scenario holds the planned sites, so that `aifactory verify` re-checks it
            scenario = replace(fm.scenario, solver=scenario.solver)
        plan = build_plan(fm, result)
        checks = _write_verified(plan, out, scenario, force)
    console.print(_headline(plan))
    console.print(_sites_table(plan))
    for warning in result.numerics_warnings:
        console.print(f"[yellow]numerics:[/yellow] {escape(warning)}")
    console.print(_full_year_line(plan))
    full_year = full_year_warning(plan.summary)
    if full_year is not None:
        console.print(f"[yellow]warning:[/yellow] {escape(full_year)}")
    console.print(f"verified: the plan passes all {checks} independent checks (aifactory verify {escape(str(out))})")
    console.print(f"plan written to [bold]{escape(str(out))}[/bold]")
    if plan.summary["status"] != "optimal":
        if screen:
            console.print(
                f"[yellow]proven within {plan.summary['mip_gap']:.2%} of the best plan over all candidates, "
                f"not the {scenario.solver.mip_gap:.2%} asked: the relaxation's bound or the time limit "
                "stopped it[/yellow]"
            )
        else:
            console.print(
                f"[yellow]time limit reached: this plan is feasible and within {plan.summary['mip_gap']:.2%} "
                f"of the proven bound, not the {scenario.solver.mip_gap:.2%} asked[/yellow]"
            )
        raise typer.Exit(EXIT_TIME_LIMIT_PLAN)


def _never_used(scenario: Scenario) -> list[str]:
    """Rows the model can never pick; for a build-out, those its last planning year (the one that
    allows the most: the longest lead times met, every SKU shipped) still cannot pick."""
    periods = planning_years(scenario)
    return DerivedInputs(year_scenario(scenario, periods[-1]) if periods else scenario).never_used


def _solve_buildout(scenario: Scenario, out: Path, force: bool, screen: bool) -> None:
    """A build-out (``buildout.planning_years``): solve every planning year, write the verified plan."""
    solving = f"solving with HiGHS ({scenario.buildout.foresight} foresight, limit {scenario.solver.time_limit_s:g} s)"
    with console.status(solving) as status:
        try:
            if screen:  # every planning year bounded over all candidates, the sites they build planned
                screened = screened_buildout(scenario, progress=lambda message: status.update(f"screening: {message}"))
                model, outcome = screened.model, screened.outcome
                console.print(screened.describe())
            else:
                model = build_buildout(scenario)
                outcome = solve_buildout(model, scenario.solver, scenario.objective)
        except SolveError as error:
            err_console.print(f"[red]no plan:[/red] {escape(str(error))}")
            if error.infeasible:
                _explain_buildout(scenario)
            raise typer.Exit(EXIT_INFEASIBLE if error.infeasible else EXIT_NO_PLAN) from None
    plan = build_buildout_plan(model, outcome)
    _write_verified(plan, out, scenario, force)
    console.print(_years_table(plan))
    s = plan.summary
    console.print(
        f"levelised cost ${s['levelised_usd_per_mtok']:.4f}/Mtok over {s['planning_years']} to {int(s['end_year'])} "
        f"({s['status']}, gap {s['mip_gap']:.2%}; build / hand-off / solve "
        f"{s['build_s']:.1f} / {s['handoff_s']:.1f} / {s['solve_s']:.1f} s)"
    )
    console.print(f"verified: the build-out passes all {plan.checks_passed} independent checks")
    console.print(f"plan written to [bold]{escape(str(out))}[/bold]")
    if s["status"] != "optimal":
        console.print(
            f"[yellow]time limit reached: this build-out is feasible and within {s['mip_gap']:.2%} of the proven "
            f"bound, not the {scenario.solver.mip_gap:.2%} asked[/yellow]"
        )
        raise typer.Exit(EXIT_TIME_LIMIT_PLAN)


def _years_table(plan: BuildoutPlan) -> Table:
    """The build-out year by year: demand, what stands, unserved tokens and the cost per token."""
    table = Table(title="Build-out by planning year", header_style="bold")
    for column in ("year", "demand Ptok", "unserved Ptok", "sites", "IT MW", "chips", "$/Mtok"):
        table.add_column(column, justify="right")
    for row in plan.tables["years"].itertuples():
        table.add_row(
            f"{row.year}-{row.end_year - 1}" if row.years > 1 else str(row.year),
            f"{row.demand_tokens_per_yr / TOKENS_PER_PTOK:,.1f}",
            f"{row.unserved_tokens_per_yr / TOKENS_PER_PTOK:,.2f}",
            str(row.sites_open),
            f"{row.it_capacity_mw:,.0f}",
            f"{row.chips:,.0f}",
            f"{row.usd_per_mtok:.4f}",
        )
    return table


def _full_year_line(plan: Plan) -> str:
    """The design run through all 8,760 hours against the representative days, by layer."""
    s = plan.summary
    layers = ", ".join(
        f"{layer} {s[f'representative_{layer}_error_pct']:+.2f} %" for layer in ("energy", "chips", "infrastructure")
    )
    return (
        f"full year: ${s['full_year_usd_per_mtok']:.4f}/Mtok with the design fixed over 8,760 hours "
        f"(representative days {s['representative_error_pct']:+.2f} %: {layers}; "
        f"re-checked in {s['full_year_check_s']:.1f} s)"
    )


def _apply_command_line(
    scenario: Scenario,
    objective: str | None,
    *,
    time_limit: float | None,
    mip_gap: float | None,
    threads: int | None,
    log: bool | None,
) -> None:
    """The command line's options over the YAML's (those given), checked by the same rules."""
    if objective is not None:
        scenario.objective = replace(scenario.objective, mode=objective)
    solver = scenario.solver
    scenario.solver = replace(
        solver,
        time_limit_s=solver.time_limit_s if time_limit is None else time_limit,
        mip_gap=solver.mip_gap if mip_gap is None else mip_gap,
        threads=solver.threads if threads is None else threads,
        log=solver.log if log is None else log,
    )
    check_options(scenario, "command line")


def _solved(scenario: Scenario) -> tuple[FactoryModel, SolveResult]:
    with console.status("building the model"):
        fm = build_model(scenario)
    with console.status(f"solving with HiGHS (limit {scenario.solver.time_limit_s:g} s)"):
        return fm, solve(fm, scenario.solver, scenario.objective)


def _no_plan(error: SolveError, scenario: Scenario) -> NoReturn:
    """Say why there is no plan and leave with the exit code of its kind."""
    err_console.print(f"[red]no plan:[/red] {escape(str(error))}")
    if error.infeasible:
        _explain(scenario)
        raise typer.Exit(EXIT_INFEASIBLE)
    raise typer.Exit(EXIT_NO_PLAN)


def _write_verified(plan: Plan | BuildoutPlan, out: Path, scenario: Scenario, force: bool) -> int:
    """Write the plan (of one year or a build-out) whole, after the independent verifier has passed it
    in its staging folder; the number of checks passed. A plan that fails is not written (exit 4)."""
    with console.status("verifying the plan independently and writing it"):
        try:
            plan.write(
                out,
                scenario,
                force=force,
                protected=scenario.input_folders(),
                say=lambda line: err_console.print(f"[yellow]note:[/yellow] {escape(line)}"),
            )
        except PlanFailsVerification as error:
            for line in error.messages:
                err_console.print(f"[red]violation:[/red] {escape(line)}")
            err_console.print(
                f"[red]error:[/red] the plan fails its own verification; nothing written to {escape(str(out))}"
            )
            raise typer.Exit(EXIT_VIOLATION) from None
    return plan.checks_passed


def _screened(scenario: Scenario) -> tuple[FactoryModel, SolveResult]:
    """The screened plan (optimizer.analysis.screening) as a model and a result whose gap and lower bound
    hold over every candidate site, not only the planned ones."""
    with console.status("screening: bounding every candidate site") as status:
        screened = screened_solve(scenario, progress=lambda message: status.update(f"screening: {message}"))
    console.print(
        f"screened {screened.candidate_sites:,} candidate sites in {screened.bound_s:.0f} s ({screened.rounds} pricing "
        f"rounds): every plan costs at least {screened.lower_musd_per_yr:,.1f} M$/yr; the full model planned "
        f"{len(screened.planned_sites)} of them in {screened.plan_s:.0f} s"
    )
    within = screened.gap <= scenario.solver.mip_gap
    result = replace(
        screened.result,
        status="optimal" if within else "time_limit_feasible",
        mip_gap=screened.gap,
        cost_lower_bound_musd_per_yr=screened.lower_musd_per_yr,
    )
    return screened.fm, result


def _print_input_error(error: Exception) -> None:
    """One "input error:" line per problem, so each can be read (or grepped) on its own."""
    for line in str(error).splitlines():
        err_console.print(f"[red]input error:[/red] {escape(line)}")


def _interrupted(what: str) -> NoReturn:
    """Ctrl-C: say so and leave at once. The solver may still be inside an LP on its own thread;
    ``os._exit`` ends the process without waiting for it (outputs are written whole or not at all)."""
    err_console.print(f"[yellow]interrupted:[/yellow] {escape(what)}")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def _explain(scenario: Scenario) -> None:
    """Print why a scenario has no plan (the elastic re-solves of optimizer.analysis.diagnose)."""
    try:
        with console.status("finding which limits must move (two elastic re-solves)"):
            diagnosis = diagnose(scenario)
    except KeyboardInterrupt:
        _interrupted("diagnosis stopped; nothing written")
    err_console.print(escape(diagnosis.text()))


def _explain_buildout(scenario: Scenario) -> None:
    """Print the planning years whose demand no plan can serve, and what stops each."""
    try:
        with console.status("finding which years' demand cannot be served (year by year, unserved at a price)"):
            lines = diagnose_buildout(scenario)
    except KeyboardInterrupt:
        _interrupted("diagnosis stopped; nothing written")
    for line in lines or ["every year's demand can be served one year at a time: the years together cannot"]:
        err_console.print(f"[yellow]why:[/yellow] {escape(line)}")


@app.command("diagnose")
def diagnose_command(
    scenario_path: Path = typer.Argument(..., help="scenario YAML"),
) -> None:
    """Say why a scenario has no plan: contradictory inputs, demand that cannot be served, and a
    smallest set of limits (land, grid, carbon, budget, chip supply, water, 24/7 share) to move; for a
    build-out, each planning year whose demand cannot be served and what stops it.
    Exits 0 when the scenario has a plan, 3 when it has none."""
    with _one_line_errors("diagnosis stopped"):
        scenario = load_scenario(scenario_path)
        if scenario.buildout.planning_years is not None:
            with console.status("solving year by year with demand allowed to go unserved at a price"):
                lines = diagnose_buildout(scenario)
            for line in lines or ["every planning year's demand can be served"]:
                console.print(escape(line))
            if lines:
                raise typer.Exit(EXIT_INFEASIBLE)
            return
        with console.status("checking the inputs and re-solving with elastic limits"):
            diagnosis = diagnose(scenario)
    console.print(escape(diagnosis.text()))
    if not diagnosis.feasible:
        raise typer.Exit(EXIT_INFEASIBLE)


@app.command("stats")
def stats_command(
    scenario_path: Path = typer.Argument(..., help="scenario YAML"),
    out: Path | None = typer.Option(None, "--out", "-o", help="write the per-family ranges to this CSV"),
) -> None:
    """Build a scenario's model and print its size and coefficient ranges (matrix, costs, bounds,
    right-hand sides) against the documented range, with the widest constraint and variable families."""
    with _one_line_errors():
        scenario = load_scenario(scenario_path)
        with console.status("building and compiling the model"):
            fm = build_model(scenario)
            session = SolverSession.compile(fm, scenario.solver)
    stats = model_stats(session)
    size = session.size
    console.print(
        f"{scenario.name}: {size.variables:,} variables ({size.integers:,} integer), "
        f"{size.constraints:,} constraints, {size.nonzeros:,} nonzeros; built in {fm.build_s:.1f} s, "
        f"handed to HiGHS in {session.handoff_s:.1f} s"
    )
    overall = Table(title="Magnitudes of non-zero values (absolute)", header_style="bold")
    for column in ("quantity", "smallest", "largest", "documented range", "within"):
        overall.add_column(column, justify="left" if column == "quantity" else "right")
    for quantity, row in stats.overall.iterrows():
        overall.add_row(
            quantity,
            f"{row['min_abs']:.3g}",
            f"{row['max_abs']:.3g}",
            f"{row['documented_min']:g} .. {row['documented_max']:g}",
            "yes" if row["within"] else "[red]NO[/red]",
        )
    wide = Console(width=max(console.width, 170))  # family names and tables on one line, in a log too
    wide.print(overall)
    families = pd.concat([stats.rows.assign(kind="constraint"), stats.columns.assign(kind="variable")])
    families["spread"] = families["matrix_max"] / families["matrix_min"]
    widest = Table(title="Widest families (largest / smallest matrix coefficient)", header_style="bold")
    for column in ("family", "kind", "count", "matrix |a|", "spread", "input tables"):
        widest.add_column(column, justify="right" if column in ("count", "spread") else "left")
    for family, row in families.sort_values("spread", ascending=False).head(WIDEST_SHOWN).iterrows():
        widest.add_row(
            family,
            row["kind"],
            f"{int(row['count']):,}",
            f"{row['matrix_min']:.3g} .. {row['matrix_max']:.3g}",
            f"{row['spread']:.3g}",
            family_tables(family),
        )
    wide.print(widest)
    for warning in stats.outside_range():
        console.print(f"[yellow]outside the documented range:[/yellow] {escape(warning)}")
    if out is not None:
        with _one_line_errors():
            _write_csv(families.drop(columns="spread"), out)
        console.print(f"per-family ranges written to [bold]{escape(str(out))}[/bold]")


def _write_csv(frame: pd.DataFrame, out: Path) -> None:
    """A CSV the user named: never through a symlink, never over a folder; written whole."""
    if out.is_symlink() or out.is_dir():
        raise OutputFolderError(f"{out}: is a {'symbolic link' if out.is_symlink() else 'folder'}; name a new CSV file")
    staging = out.with_name(f".{out.name}.partial")
    try:
        frame.to_csv(staging)
        os.replace(staging, out)
    finally:
        staging.unlink(missing_ok=True)


@app.command("verify")
def verify_command(
    plan: Path = typer.Argument(..., help="plan folder (written by aifactory solve)"),
) -> None:
    """Re-check a plan from its CSVs and scenario copy alone (no model, no solver): every
    constraint with its worst margin, the costs and $/Mtok recomputed. Exits 4 on any violation."""
    with _one_line_errors("verification stopped"), console.status(f"re-checking {plan}"):
        if not plan.is_dir():
            raise PlanFolderError(
                f"{plan}: plan folder not found" if not plan.exists() else f"{plan}: is a file, not a folder"
            )
        # a build-out's folder holds its years (years.csv); a one-year plan's does not
        verification = verify_buildout(plan) if (plan / "years.csv").is_file() else verify_plan(plan)
    # wide enough for ids and rules on one line, even when the output is a file or a CI log
    Console(width=max(console.width, 170)).print(verification_table(verification))
    for message in verification.messages:
        err_console.print(f"[red]violation:[/red] {escape(message)}")
    if not verification.ok:
        raise typer.Exit(EXIT_VIOLATION)


def _number(value: float) -> str:
    """Four significant figures; whole numbers with separators; solver noise below 1e-6 as 0."""
    if pd.isna(value):
        return ""
    if abs(value) < 1e-6:
        return "0"
    if abs(value) >= 1e6:
        return f"{value:.4g}"
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _comparison_tables(comparison: PlanComparison, name_a: str, name_b: str) -> list[Table]:
    tables = [_headline_table(comparison.headline, name_a, name_b)]
    sections = (
        (
            "Sites that changed",
            comparison.sites,
            {
                "site_id": "site",
                "built_a": "built A",
                "built_b": "built B",
                "it_mw_a": "IT MW A",
                "it_mw_b": "IT MW B",
                "change_mw": "change",
                "cooling_id_a": "cooling A",
                "cooling_id_b": "cooling B",
            },
        ),
        (
            "Power capacity that changed (MW)",
            comparison.capacities,
            {"site_id": "site", "tech_id": "source", "mw_a": "A", "mw_b": "B", "change_mw": "change"},
        ),
        (
            "Accelerators that changed",
            comparison.chips,
            {"chip_id": "SKU", "chips_a": "A", "chips_b": "B", "change": "change"},
        ),
    )
    return [*tables, *_section_tables(sections)]


def _headline_table(headline: pd.DataFrame, name_a: str, name_b: str) -> Table:
    """The headline figures of a comparison: A, B, the change and the change in %."""
    table = Table(title=f"{name_a} -> {name_b}", header_style="bold")
    for column in ("figure", "A", "B", "change", "change %"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    for row in headline.itertuples(index=False):
        change = "" if pd.isna(row.change_pct) else f"{row.change_pct:+.2f} %"
        table.add_row(row.figure, _number(row.a), _number(row.b), _number(row.change), change)
    return table


def _section_tables(sections: tuple[tuple[str, pd.DataFrame, dict[str, str]], ...]) -> list[Table]:
    """One table per (title, rows, {column: header}) of a comparison; ids never wrap."""
    tables = []
    for title, frame, columns in sections:
        table = Table(title=title if len(frame) else f"{title}: none", header_style="bold")
        for position, header in enumerate(columns.values()):
            table.add_column(header, no_wrap=position == 0)  # the id must stay readable
        for _, row in frame.iterrows():
            table.add_row(*[_number(row[c]) if isinstance(row[c], float) else str(row[c]) for c in columns])
        tables.append(table)
    return tables


def _buildout_comparison_tables(comparison: BuildoutComparison, name_a: str, name_b: str) -> list[Table]:
    tables = [_headline_table(comparison.headline, name_a, name_b)]
    sections = (
        (
            "Year by year",
            comparison.years,
            {
                "year": "year",
                "usd_per_mtok_a": "$/Mtok A",
                "usd_per_mtok_b": "$/Mtok B",
                "it_mw_a": "IT MW A",
                "it_mw_b": "IT MW B",
                "sites_a": "sites A",
                "sites_b": "sites B",
            },
        ),
        (
            "IT standing that changed (MW)",
            comparison.halls,
            {"site_id": "site", "year": "year", "it_mw_a": "A", "it_mw_b": "B", "change_mw": "change"},
        ),
        (
            "Racks standing that changed",
            comparison.fleet,
            {"year": "year", "chip_id": "SKU", "racks_a": "A", "racks_b": "B", "change": "change"},
        ),
    )
    return [*tables, *_section_tables(sections)]


@app.command("compare")
def compare_command(
    plan_a: Path = typer.Argument(..., help="first plan folder (written by aifactory solve)"),
    plan_b: Path = typer.Argument(..., help="second plan folder"),
) -> None:
    """Print what changed from plan A to plan B: $/Mtok by layer, sites, power capacity, chips; for two
    build-outs, the levelised cost, each year, the halls standing at each site and the fleet."""
    with _one_line_errors("comparison stopped"):
        if (plan_a / "years.csv").is_file() and (plan_b / "years.csv").is_file():
            tables = _buildout_comparison_tables(compare_buildouts(plan_a, plan_b), plan_a.name, plan_b.name)
        else:
            tables = _comparison_tables(compare_plans(plan_a, plan_b), plan_a.name, plan_b.name)
    for table in tables:
        console.print(table)


@app.command("plot")
def plot_command(
    folder: Path = typer.Argument(..., help="plan folder (aifactory solve) or sweep folder (aifactory sweep)"),
    out: Path | None = typer.Option(None, "--out", "-o", help="folder for the pictures (default: FOLDER/plots)"),
    force: bool = typer.Option(
        False, "--force", help="replace an existing --out plots folder (FOLDER/plots always is)"
    ),
    site: str | None = typer.Option(None, help="site for the dispatch chart (default: the largest)"),
    period: int | None = typer.Option(
        None, help="representative day for the dispatch chart (default: the most common)"
    ),
    boundaries: Path | None = typer.Option(
        None, help="boundary file for the map (default: US states from bokeh_sampledata)"
    ),
    metric: str = typer.Option("usd_per_mtok", help="sweep.csv column the tornado chart ranks parameters by"),
) -> None:
    """Draw a plan (map.png, map.html, cost_by_site.png, dispatch.png), a build-out (it_by_site.png,
    fleet.png, cost_by_year.png) or a sweep (tornado.png and sensitivity.csv) into FOLDER/plots/ or --out."""
    with _one_line_errors("plotting stopped; nothing written"):
        is_sweep = (folder / "sweep.csv").is_file()
        is_buildout = (folder / "years.csv").is_file()
        if not is_sweep and not (folder / "summary.csv").is_file():
            raise PlanFolderError(f"{folder}: neither a plan folder (summary.csv) nor a sweep folder (sweep.csv)")
        target = check_output_folder(
            out or folder / "plots", "plots", protected=[folder / "scenario"], force=force or out is None
        )
        names = (
            ["tornado.png", "sensitivity.csv"]
            if is_sweep
            else ["it_by_site.png", "fleet.png", "cost_by_year.png"]
            if is_buildout
            else ["map.png", "map.html", "cost_by_site.png", "dispatch.png"]
        )

        def draw(staging: Path) -> None:
            try:
                if is_sweep:
                    plot_tornado(folder, staging / "tornado.png", metric)
                elif is_buildout:
                    plot_buildout_it(folder, staging / "it_by_site.png")
                    plot_buildout_fleet(folder, staging / "fleet.png")
                    plot_buildout_cost(folder, staging / "cost_by_year.png")
                else:
                    plot_map(folder, staging / "map.png", boundaries)
                    plot_map_html(folder, staging / "map.html", boundaries)
                    plot_cost_by_site(folder, staging / "cost_by_site.png")
                    plot_dispatch(folder, staging / "dispatch.png", site, period)
            except (KeyError, IndexError, TypeError, ValueError) as error:
                if isinstance(error, INPUT_ERRORS):
                    raise
                # a plan folder edited by hand or cut short: name it, do not draw half a picture
                raise PlanFolderError(
                    f"{folder}: cannot draw this folder, a table is damaged or incomplete "
                    f"({type(error).__name__}: {' '.join(str(error).split())}); "
                    f"`aifactory verify {folder}` says what"
                ) from None

        write_folder(target, "plots", draw)
    for name in names:
        console.print(f"wrote [bold]{escape(str(target / name))}[/bold]")


@app.command("sweep")
def sweep_command(
    sweep_file: Path = typer.Argument(..., help="sweep YAML: a base scenario and the parameters to vary"),
    out: Path = typer.Option(..., "--out", "-o", help="folder for one plan per case and sweep.csv"),
    scheduler: str | None = typer.Option(None, help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786"),
    workers: int | None = typer.Option(None, help="local worker processes (default: one per core)"),
) -> None:
    """Solve every case of a sweep in parallel; resumes where an earlier run stopped."""
    with _one_line_errors(f"sweep stopped; the cases finished so far are kept in {out}"):
        cases = load_sweep(sweep_file)
        check_output_folder(out, "sweep", resume=True)
        table = run_sweep(cases, out, scheduler=scheduler, workers=workers, console=console)
    solved = table["status"].isin(["optimal", "time_limit_feasible"])
    console.print(f"{int(solved.sum())} of {len(table)} cases solved; results in [bold]{out / 'sweep.csv'}[/bold]")
    for row in table[~solved].itertuples(index=False):
        console.print(f"[yellow]{row.case_id}[/yellow]: {row.status}: {escape(str(row.reason))}")


if __name__ == "__main__":
    app()
