"""The build-out over planning years on tiny cases whose optimum is worked out by hand.

Each case is the tiny scenario of ``tests/tiny.py`` (one site, grid power, one representative day that
is the whole year) over a few planning years; the asserted vintages and prices are derived in the
test's docstring from the case's numbers, not read back from the model.
"""

from __future__ import annotations

import pandas as pd
import pyomo.environ as pyo
import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.constants import TOKENS_PER_MTOK, TOKENS_PER_TTOK, USD_PER_MUSD, crf
from optimizer.inputs.scenario import ScenarioError, load_scenario
from optimizer.inputs.years import planning_years
from optimizer.model import build_model
from optimizer.model.buildout import BuildoutModel, build_buildout
from optimizer.outputs.buildout import build_buildout_plan
from optimizer.outputs.compare import compare_buildouts
from optimizer.solver.buildout import BuildoutResult, block_lp_bound, solve_buildout, year_by_year_bound
from optimizer.solver.milp import SolveError, SolveResult, solve
from optimizer.verify import verify_plan_folder
from tests.tiny import CHIP, SITE, TOKENS_PER_RACK_YR, write_tiny

#: the racks of CHIP that serve the tiny scenario's demand (100 racks' worth of tokens a year)
RACKS = 100
#: a second generation: twice CHIP's tokens per second at the same rack power and price
NEXT_GEN = {**CHIP, "chip_id": "y", "name": "Chip Y", "available_year": 2029}
THROUGHPUT = [
    {"chip_id": "x", "workload_id": "chat", "tokens_per_s_per_chip": 1000.0, "basis": "S"},
    {"chip_id": "y", "workload_id": "chat", "tokens_per_s_per_chip": 2000.0, "basis": "S"},
]


def growth(index_by_year: dict[int, float]) -> list[dict]:
    """demand_growth.csv rows of the tiny workload."""
    return [{"workload_id": "chat", "year": year, "demand_index": index} for year, index in index_by_year.items()]


def solved_buildout(folder, years, end, index_by_year, **tiny) -> tuple[BuildoutModel, SolveResult]:
    """The tiny build-out over ``years`` (horizon to ``end``), solved to optimality, and its result."""
    options = tiny.pop("options", {})
    options = {**options, "buildout": {"planning_years": years, "end_year": end, **options.get("buildout", {})}}
    tiny.setdefault("facility", {"hall_lead_time_yr": 0.0})
    scenario = load_scenario(write_tiny(folder, demand_growth=growth(index_by_year), options=options, **tiny))
    model = build_buildout(scenario)
    result = solve(model, scenario.solver, scenario.objective)
    assert result.status == "optimal"
    return model, result


def added(model: BuildoutModel, family: str, year: int, *key: str) -> float:
    """Capacity of ``family`` added in ``year`` at ``key`` (0 where nothing could be added)."""
    index = (family, year, *key)
    return pyo.value(model.vintages.added[index]) if index in model.vintages.added else 0.0


def test_planning_years_stand_for_the_years_until_the_next(tmp_path):
    scenario = load_scenario(
        write_tiny(tmp_path, options={"buildout": {"planning_years": [2026, 2027, 2030], "end_year": 2032}})
    )
    years = planning_years(scenario)
    assert [(p.year, p.end, p.years) for p in years] == [(2026, 2027, 1), (2027, 2030, 3), (2030, 2032, 2)]
    # 8 % WACC from 2026: 2027..2029 weigh 1/1.08 + 1/1.08^2 + 1/1.08^3
    assert years[1].pv_weight == pytest.approx(1 / 1.08 + 1 / 1.08**2 + 1 / 1.08**3, rel=1e-12)
    assert years[0].pv_weight == 1.0


def test_a_one_year_build_out_is_the_one_year_model(tmp_path):
    """The build-out of the single planning year 2030 over the one-year model's horizon (20 years) is
    the one-year model with everything online by 2030: the same cost and the same plan."""
    one_year = load_scenario(write_tiny(tmp_path / "one", options={"constraints": {"online_by_year": 2030}}))
    fm = build_model(one_year)
    one = solve(fm, one_year.solver, one_year.objective)
    model, run = solved_buildout(
        tmp_path / "buildout",
        [2030],
        2050,
        {2030: 1.0},
        options={"constraints": {"online_by_year": 2030}},
    )
    assert run.cost_musd_per_yr == pytest.approx(one.cost_musd_per_yr, rel=1e-6)
    assert run.delivered_ptok_per_yr == pytest.approx(one.delivered_ptok_per_yr, rel=1e-9)
    block = model.blocks[2030]
    assert pyo.value(block.chips.racks["a", "x"]) == pyo.value(fm.chips.racks["a", "x"]) == RACKS


def test_a_faster_generation_serves_the_growth_once_it_arrives(tmp_path):
    """Demand is 100 racks of X's worth in 2027 and 2028 and triples in 2029, when Y (twice the tokens
    per rack, same price and power) arrives. X is bought only for what 2027-28 need (100 racks, once);
    the growth of 2029 (200 racks of X's worth) is 100 racks of Y, and no X is retired: its capital is
    spent either way, and keeping it costs only its power."""
    model, _ = solved_buildout(
        tmp_path,
        [2027, 2028, 2029],
        2030,
        {2027: 1.0, 2028: 1.0, 2029: 3.0},
        chips=[CHIP, NEXT_GEN],
        throughput=THROUGHPUT,
    )
    assert added(model, "racks", 2027, "a", "x") == RACKS
    assert added(model, "racks", 2028, "a", "x") == added(model, "racks", 2029, "a", "x") == 0
    assert added(model, "racks", 2029, "a", "y") == RACKS
    assert sum(pyo.value(v) for v in model.vintages.retired.values()) == pytest.approx(0.0, abs=1e-6)
    assert pyo.value(model.blocks[2029].chips.racks["a", "x"]) == RACKS


def test_racks_at_the_end_of_their_life_are_replaced(tmp_path):
    """Racks live 2 years: those bought for 2027 serve 2027-28 and are replaced for 2029-30."""
    model, _ = solved_buildout(
        tmp_path,
        [2027, 2028, 2029, 2030],
        2031,
        dict.fromkeys(range(2027, 2031), 1.0),
        chips=[{**CHIP, "life_yr": 2.0}],
    )
    assert [added(model, "racks", year, "a", "x") for year in range(2027, 2031)] == [RACKS, 0, RACKS, 0]
    assert [pyo.value(model.blocks[y].chips.racks["a", "x"]) for y in range(2027, 2031)] == [RACKS] * 4


def test_halls_are_energised_as_demand_grows_and_none_before_their_lead_time(tmp_path):
    """Halls take two years from 2026: none can stand in 2027, so 2027's demand is bought at the
    unserved price; 10 MW of IT (100 racks of 100 kW) is energised in 2028 and 10 MW more in 2029,
    when demand doubles (construction of the second began in 2027, two years ahead)."""
    model, _ = solved_buildout(
        tmp_path,
        [2027, 2028, 2029],
        2030,
        {2027: 1.0, 2028: 1.0, 2029: 2.0},
        facility={"hall_lead_time_yr": 2.0},
        options={"objective": {"unserved_usd_per_mtok": 50.0}},
    )
    halls = {year: added(model, "halls", year, "a", "liquid") for year in (2027, 2028, 2029)}
    assert halls == {2027: 0.0, 2028: pytest.approx(10.0), 2029: pytest.approx(10.0)}
    assert ("halls", 2027, "a", "liquid") not in model.vintages.added
    demand_ttok = RACKS * TOKENS_PER_RACK_YR / TOKENS_PER_TTOK
    assert pyo.value(model.core.delivered_ptok[2027]) == pytest.approx(0.0, abs=1e-9)
    assert pyo.value(model.blocks[2027].applications.unserved_ttok["r", "chat"]) == pytest.approx(demand_ttok)
    assert pyo.value(model.blocks[2029].applications.unserved_ttok["r", "chat"]) == pytest.approx(0.0, abs=1e-9)


def test_demand_no_hall_can_serve_in_time_is_infeasible_without_an_unserved_price(tmp_path):
    with pytest.raises(SolveError) as caught:
        solved_buildout(tmp_path, [2027, 2028], 2029, {2027: 1.0, 2028: 1.0}, facility={"hall_lead_time_yr": 2.0})
    assert caught.value.infeasible


def retirement_case(
    tmp_path, price_usd_per_mtok: float, resale_share: float = 0.0
) -> tuple[BuildoutModel, SolveResult]:
    """One site whose grid carries exactly 100 racks (11 MW at PUE 1.1); 100 racks of X (a third of Y's
    price) serve 2027; in 2028 demand doubles and Y (twice X's tokens, same power) arrives. No site or
    building capital, so serving 2027 pays at either price; the halls' fixed O&M makes a retired rack's
    place cheaper for Y than a new hall beside an idle X."""
    return solved_buildout(
        tmp_path,
        [2027, 2028],
        2029,
        {2027: 1.0, 2028: 2.0},
        sites=[{**SITE, "grid_capacity_mw": 11.0}],
        chips=[{**CHIP, "price_usd_per_chip": 10_000.0}, {**NEXT_GEN, "available_year": 2028}],
        throughput=THROUGHPUT,
        facility={"hall_lead_time_yr": 0.0, "facility_capex_usd_per_kw_it": 0.0, "site_development_usd": 0.0},
        options={
            "objective": {"unserved_usd_per_mtok": price_usd_per_mtok},
            "buildout": {"resale_share": resale_share},
        },
    )


def break_even_usd_per_mtok() -> float:
    """Swapping one rack of X for one of Y (same power, so no other cost moves: X's capital is spent
    either way) serves one more rack of X's tokens a year for Y's annuity: it pays above this price."""
    annuity_y_usd = CHIP["chips_per_rack"] * CHIP["price_usd_per_chip"] * crf(0.08, CHIP["life_yr"])
    return annuity_y_usd / (TOKENS_PER_RACK_YR / TOKENS_PER_MTOK)


@pytest.mark.parametrize("share, retired", [(0.9, 0), (1.1, RACKS)])
def test_early_retirement_pays_off_only_above_the_break_even_price(tmp_path, share, retired):
    """At 0.9 x the break-even unserved price the X racks stay and 2028's growth goes unserved; at
    1.1 x all 100 are retired at the start of 2028 for 100 racks of Y, which serve all of it."""
    model, _ = retirement_case(tmp_path, share * break_even_usd_per_mtok())
    assert pyo.value(model.vintages.retired["racks", 2027, 2028, "a", "x"]) == pytest.approx(retired)
    assert added(model, "racks", 2028, "a", "y") == retired
    unserved = pyo.value(model.blocks[2028].applications.unserved_ttok["r", "chat"])
    assert unserved == pytest.approx((RACKS - retired) * TOKENS_PER_RACK_YR / TOKENS_PER_TTOK, abs=1e-6)


def test_a_build_out_needs_demand_for_every_planning_year(tmp_path):
    scenario = load_scenario(
        write_tiny(
            tmp_path,
            demand_growth=growth({2027: 1.0, 2028: 2.0}),
            options={"buildout": {"planning_years": [2027, 2030]}},
        )
    )
    with pytest.raises(
        ScenarioError, match=r"demand_growth.csv: workload 'chat': demand_index is stated for 2027..2028"
    ):
        build_buildout(scenario)


def test_a_one_year_plan_reports_the_demand_it_leaves_unserved(tmp_path):
    """The grid carries 5.6 MW: at PUE 1.1, 5.6 / 0.11 = 50.9 racks' worth of running IT (racks run
    part-time) of the 100 the demand needs. At 50 USD/Mtok the rest is bought: the summary says how
    much and at what price, outside the plan's cost per token, and the plan passes its own checks."""
    scenario = write_tiny(
        tmp_path / "in",
        sites=[{**SITE, "grid_capacity_mw": 5.6}],
        options={"objective": {"unserved_usd_per_mtok": 50.0}},
    )
    plan = tmp_path / "plan"
    result = CliRunner().invoke(app, ["solve", str(scenario), "--out", str(plan)])
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(plan / "summary.csv").iloc[0]
    running_racks = 5.6 / (CHIP["rack_power_kw"] / 1000.0 * 1.1)
    unserved = (RACKS - running_racks) * TOKENS_PER_RACK_YR
    assert summary["unserved_tokens_per_yr"] == pytest.approx(unserved, rel=1e-6)
    assert summary["unserved_usd_per_yr"] == pytest.approx(unserved / TOKENS_PER_MTOK * 50.0, rel=1e-6)
    assert summary["delivered_tokens_per_yr"] == pytest.approx(running_racks * TOKENS_PER_RACK_YR, rel=1e-6)
    assert verify_plan_folder(plan) == []


def regret_case(folder, foresight: str):
    """Two sites: a is a little cheaper to run (50 against 51 USD/MWh) but its grid carries only 100
    racks (11 MW), b's carries all; demand doubles from 2027 to 2028. The scenario YAML's path."""
    return write_tiny(
        folder,
        sites=[
            {**SITE, "grid_capacity_mw": 11.0},
            {**SITE, "site_id": "b", "name": "Site B", "lat": 32.5, "grid_price_usd_per_mwh": 51.0},
        ],
        demand_growth=growth({2027: 1.0, 2028: 2.0}),
        facility={"hall_lead_time_yr": 0.0},
        options={"buildout": {"planning_years": [2027, 2028], "end_year": 2029, "foresight": foresight}},
    )


def test_myopic_planning_opens_a_site_it_later_regrets(tmp_path):
    """Site a is a little cheaper to run (50 against 51 USD/MWh) but its grid carries only 100 racks
    (11 MW); site b's carries all. Demand doubles in 2028. Seeing only 2027, the myopic planner opens
    a, then must open b as well in 2028 and pays two site developments (4.4 M$/yr each) for a saving
    of 0.1 M$/yr on power; with foresight, b alone serves both years. Myopic costs more, never less."""
    costs = {}
    for foresight in ("perfect", "myopic"):
        scenario = load_scenario(regret_case(tmp_path / foresight, foresight))
        model = build_buildout(scenario)
        outcome = solve_buildout(model, scenario.solver, scenario.objective)
        assert outcome.result.status == "optimal" and outcome.foresight == foresight
        costs[foresight] = outcome.result.cost_musd_per_yr
        if foresight == "perfect":
            assert pyo.value(model.blocks[2027].infrastructure.build["a"]) == 0
            assert pyo.value(model.blocks[2028].infrastructure.build["b"]) == 1
        else:
            assert [year for year, _ in outcome.steps] == [2027, 2028]
            assert pyo.value(model.blocks[2027].infrastructure.build["a"]) == 1
            assert pyo.value(model.blocks[2028].infrastructure.build["b"]) == 1
    assert costs["myopic"] > costs["perfect"]


def test_the_plan_tables_read_the_build_out_year_by_year(tmp_path):
    """The plan of the faster-generation case: its years, fleet by vintage, schedule and present values
    agree with the solve (the objective times the sum of the weights is the present value of cost)."""
    scenario = load_scenario(
        write_tiny(
            tmp_path,
            chips=[CHIP, NEXT_GEN],
            throughput=THROUGHPUT,
            facility={"hall_lead_time_yr": 0.0},
            demand_growth=growth({2027: 1.0, 2028: 1.0, 2029: 3.0}),
            options={"buildout": {"planning_years": [2027, 2028, 2029], "end_year": 2030}},
        )
    )
    model = build_buildout(scenario)
    outcome = solve_buildout(model, scenario.solver, scenario.objective)
    plan = build_buildout_plan(model, outcome)
    years = plan.tables["years"].set_index("year")
    assert list(years.index) == [2027, 2028, 2029]
    assert years.loc[2029, "delivered_tokens_per_yr"] == pytest.approx(3 * RACKS * TOKENS_PER_RACK_YR, rel=1e-9)
    assert (years["unserved_tokens_per_yr"] == 0).all()
    fleet = plan.tables["fleet"].set_index(["year", "chip_id", "build_year"])["racks"]
    assert fleet.to_dict() == {
        (2027, "x", 2027): RACKS,
        (2028, "x", 2027): RACKS,
        (2029, "x", 2027): RACKS,
        (2029, "y", 2029): RACKS,
    }
    schedule = plan.tables["schedule"].set_index("year")
    assert schedule["it_capacity_mw"].to_dict() == pytest.approx({2027: 10.0, 2028: 10.0, 2029: 20.0})
    assert schedule["it_energised_mw"].to_dict() == pytest.approx({2027: 10.0, 2028: 0.0, 2029: 10.0})
    summary = plan.summary
    weights = years["pv_weight"].sum()
    assert summary["pv_cost_usd"] + summary["pv_unserved_usd"] == pytest.approx(
        outcome.result.cost_musd_per_yr * USD_PER_MUSD * weights, rel=1e-9
    )
    layers = sum(summary[f"levelised_{layer}_usd_per_mtok"] for layer in ("energy", "chips", "infrastructure"))
    assert layers == pytest.approx(summary["levelised_usd_per_mtok"], rel=1e-12)
    assert summary["levelised_usd_per_mtok"] == pytest.approx(
        summary["pv_cost_usd"] / (summary["pv_tokens"] / TOKENS_PER_MTOK), rel=1e-12
    )


def test_the_command_line_solves_verifies_and_writes_a_build_out(tmp_path):
    """``aifactory solve`` on a build-out writes its tables after the independent re-check passes;
    ``aifactory plot`` draws its years, ``aifactory verify`` re-checks the folder and catches a fleet
    that does not add up."""
    scenario = write_tiny(
        tmp_path / "in",
        chips=[CHIP, NEXT_GEN],
        throughput=THROUGHPUT,
        facility={"hall_lead_time_yr": 0.0},
        demand_growth=growth({2027: 1.0, 2028: 1.0, 2029: 3.0}),
        options={"buildout": {"planning_years": [2027, 2028, 2029], "end_year": 2030}},
    )
    plan = tmp_path / "plan"
    runner = CliRunner()
    result = runner.invoke(app, ["solve", str(scenario), "--out", str(plan)])
    assert result.exit_code == 0, result.output
    assert "Build-out by planning year" in result.output and "independent checks" in result.output
    for name in ("summary", "years", "schedule", "vintages", "retirements", "fleet", "power", "costs", "deliveries"):
        assert (plan / f"{name}.csv").is_file(), name
    assert runner.invoke(app, ["verify", str(plan)]).exit_code == 0
    drawn = runner.invoke(app, ["plot", str(plan)])
    assert drawn.exit_code == 0, drawn.output
    for picture in ("it_by_site.png", "fleet.png", "cost_by_year.png"):
        assert (plan / "plots" / picture).stat().st_size > 10_000, picture
    fleet = pd.read_csv(plan / "fleet.csv")
    fleet.loc[0, "racks"] += 1
    fleet.to_csv(plan / "fleet.csv", index=False)
    checked = runner.invoke(app, ["verify", str(plan)])
    assert checked.exit_code == 4
    assert "fleet.csv racks = added in service - retired" in checked.output


def test_a_build_out_with_early_retirements_and_resale_passes_its_own_checks(tmp_path):
    """The retirement case above 1.1 x break-even, with half of what is still owed recovered by selling
    the retired racks: the plan's fleet, retirements, annuities and present values all re-check."""
    model, result = retirement_case(tmp_path / "solve", 1.1 * break_even_usd_per_mtok(), resale_share=0.5)
    plan = build_buildout_plan(model, BuildoutResult(result, "perfect"))
    assert plan.tables["retirements"]["retired"].sum() == pytest.approx(RACKS)
    assert plan.summary["pv_resale_usd"] > 0
    plan.write(tmp_path / "plan", model.scenario)
    assert plan.checks_passed == 6


def test_a_grid_that_grows_by_year_carries_the_growth(tmp_path):
    """The site's grid carries 100 racks (11 MW) in 2027 and twice that from 2028 (``by_year``), when
    demand doubles: the second 100 racks come in 2028 on the grown connection, nothing is unserved,
    and a carbon cap set from 2028 on reaches that year's block only."""
    model, _ = solved_buildout(
        tmp_path / "solve",
        [2027, 2028],
        2029,
        {2027: 1.0, 2028: 2.0},
        sites=[{**SITE, "grid_capacity_mw": 11.0}],
        options={
            "objective": {"unserved_usd_per_mtok": 50.0},
            "by_year": {
                2028: {
                    "constraints": {"carbon_cap_t_per_yr": 1e6},
                    "overrides": {"sites": {"a": {"grid_capacity_mw": 22.0}}},
                }
            },
        },
    )
    assert added(model, "racks", 2027, "a", "x") == added(model, "racks", 2028, "a", "x") == RACKS
    assert pyo.value(model.blocks[2028].energy.capacity_mw["a", "grid"]) == pytest.approx(22.0)
    assert pyo.value(model.blocks[2028].applications.unserved_ttok["r", "chat"]) == pytest.approx(0.0, abs=1e-6)
    assert model.blocks[2027].policy.carbon_cap is None and model.blocks[2028].policy.carbon_cap is not None
    plan = build_buildout_plan(
        model, BuildoutResult(solve(model, model.scenario.solver, model.scenario.objective), "perfect")
    )
    plan.write(tmp_path / "plan", model.scenario)
    reloaded = load_scenario(tmp_path / "plan" / "scenario" / "scenario.yaml")
    assert [change.year for change in reloaded.by_year] == [2028]


def test_by_year_changes_are_checked_when_the_scenario_loads(tmp_path):
    with pytest.raises(ScenarioError, match=r"by_year.2030.overrides: 'hourly' cannot change by year"):
        load_scenario(write_tiny(tmp_path / "a", options={"by_year": {2030: {"overrides": {"hourly": {}}}}}))
    with pytest.raises(ScenarioError, match=r"by_year.2030: unknown key 'constraints.carbon_cap'"):
        load_scenario(write_tiny(tmp_path / "b", options={"by_year": {2030: {"constraints": {"carbon_cap": 1.0}}}}))
    with pytest.raises(ScenarioError, match=r"grid_capacity_mw"):
        load_scenario(
            write_tiny(
                tmp_path / "c",
                options={"by_year": {2030: {"overrides": {"sites": {"a": {"grid_capacity_mw": -5.0}}}}}},
            )
        )


def test_compare_shows_what_foresight_changes(tmp_path):
    """The regret case of the myopic test, solved both ways through the command line: ``aifactory
    compare`` puts the levelised cost side by side and names the site whose halls stand differently."""
    runner, folders = CliRunner(), {}
    for foresight in ("perfect", "myopic"):
        scenario = regret_case(tmp_path / f"in_{foresight}", foresight)
        folders[foresight] = tmp_path / foresight
        solved = runner.invoke(app, ["solve", str(scenario), "--out", str(folders[foresight])])
        assert solved.exit_code == 0, solved.output
    compared = runner.invoke(app, ["compare", str(folders["perfect"]), str(folders["myopic"])])
    assert compared.exit_code == 0, compared.output
    assert "levelised $/Mtok" in compared.output and "IT standing that changed" in compared.output
    halls = compare_buildouts(folders["perfect"], folders["myopic"]).halls
    assert set(halls["site_id"]) == {"a", "b"}


def test_an_infeasible_build_out_names_the_year_and_the_limit(tmp_path):
    """Halls take two years from 2026, so 2027's demand cannot be served: ``aifactory solve`` exits 3
    and says why. In 2028 the site's 5.6 MW grid powers only part of the doubled demand:
    ``aifactory diagnose`` names that year, the region and workload and what the reachable sites hold."""
    scenario = write_tiny(
        tmp_path / "in",
        sites=[{**SITE, "grid_capacity_mw": 5.6}],
        facility={"hall_lead_time_yr": 2.0},
        demand_growth=growth({2027: 1.0, 2028: 2.0}),
        options={"buildout": {"planning_years": [2027, 2028], "end_year": 2029}},
    )
    runner = CliRunner()
    solved = runner.invoke(app, ["solve", str(scenario), "--out", str(tmp_path / "plan")])
    assert solved.exit_code == 3, solved.output
    assert "2027:" in solved.output and "no IT hall can be energised before 2028" in solved.output
    assert not (tmp_path / "plan").exists()
    diagnosed = runner.invoke(app, ["diagnose", str(scenario)])
    assert diagnosed.exit_code == 3
    assert "2028:" in diagnosed.output and "'chat' for 'r' cannot be served" in diagnosed.output
    assert "5.6 MW of grid" in diagnosed.output


def test_least_cost_per_token_over_years_through_the_command_line(tmp_path):
    """min_cost_per_token on a build-out: the levelised cost per token is what Dinkelbach minimises.
    The site's fixed costs (development, land) fall per token as it delivers more, so the least cost
    per token delivers all of each year's demand, above the half asked; the plan re-checks."""
    scenario = write_tiny(
        tmp_path / "in",
        demand_growth=growth({2027: 1.0, 2028: 2.0}),
        facility={"hall_lead_time_yr": 0.0},
        options={
            "objective": {"mode": "min_cost_per_token", "min_demand_share": 0.5},
            "buildout": {"planning_years": [2027, 2028], "end_year": 2029},
        },
    )
    plan = tmp_path / "plan"
    solved = CliRunner().invoke(app, ["solve", str(scenario), "--out", str(plan)])
    assert solved.exit_code == 0, solved.output
    years = pd.read_csv(plan / "years.csv").set_index("year")
    assert years["delivered_tokens_per_yr"].to_numpy() == pytest.approx(
        years["demand_tokens_per_yr"].to_numpy(), rel=1e-6
    )
    summary = pd.read_csv(plan / "summary.csv").iloc[0]
    assert summary["objective"] == "min_cost_per_token" and summary["levelised_usd_per_mtok"] > 0


def test_the_year_by_year_bound_holds_and_is_tight_when_the_years_agree(tmp_path):
    """Each year's one-year relaxation bounds that year's share of every plan. With the same demand in
    2027 and 2028 at one site, what 2027 builds is what 2028 wants, so the bound is the optimum; in the
    regret case of the myopic test it lies below the perfect-foresight optimum, and that below myopia."""
    model, result = solved_buildout(tmp_path / "flat", [2027, 2028], 2029, {2027: 1.0, 2028: 1.0})
    bound = year_by_year_bound(model, model.scenario.solver, model.scenario.objective)
    assert bound == pytest.approx(result.cost_musd_per_yr, rel=1e-5)
    costs = {}
    for foresight in ("perfect", "myopic"):
        scenario = load_scenario(regret_case(tmp_path / foresight, foresight))
        model = build_buildout(scenario)
        costs[foresight] = solve_buildout(model, scenario.solver, scenario.objective).result.cost_musd_per_yr
    regret_bound = year_by_year_bound(model, scenario.solver, scenario.objective)
    assert regret_bound < costs["perfect"] - 1e-6 < costs["myopic"]


def test_the_year_by_year_bound_holds_when_a_chip_leaves_sale(tmp_path):
    """X is sold until 2027 only (last_year) and Y, twice its tokens per rack, from 2028; demand is the
    same both years. The plan buys 100 racks of X in 2027 and keeps them in 2028. In 2028's one-year
    relaxation X may still stand at 2028's price (no higher than 2027's), so the bound still holds:
    it is given and lies below the optimum (the relaxation of 2028 buys half as many racks of Y)."""
    model, result = solved_buildout(
        tmp_path,
        [2027, 2028],
        2029,
        {2027: 1.0, 2028: 1.0},
        chips=[{**CHIP, "last_year": 2027}, NEXT_GEN],
        throughput=THROUGHPUT,
    )
    assert added(model, "racks", 2027, "a", "x") == RACKS
    assert ("racks", 2028, "a", "x") not in model.vintages.added  # not for sale
    bound = year_by_year_bound(model, model.scenario.solver, model.scenario.objective)
    assert bound is not None
    assert bound <= result.cost_musd_per_yr * (1 + 1e-9)


def test_perfect_foresight_plans_where_its_myopic_start_has_none(tmp_path):
    """X, the only chip, is sold until 2027; demand doubles in 2028 and none may go unserved. Seeing
    only 2027, the myopic planner buys the 100 racks 2027 needs and has no plan for 2028 (nothing is
    for sale). Perfect foresight starts from that myopic plan, finds none, and goes on: its MILP of
    both years buys all 200 racks in 2027."""
    chips = [{**CHIP, "last_year": 2027}]
    plans = {}
    for foresight in ("myopic", "perfect"):
        folder = tmp_path / foresight
        options = {"buildout": {"planning_years": [2027, 2028], "end_year": 2029, "foresight": foresight}}
        scenario = load_scenario(
            write_tiny(
                folder,
                chips=chips,
                demand_growth=growth({2027: 1.0, 2028: 2.0}),
                facility={"hall_lead_time_yr": 0.0},
                options=options,
            )
        )
        model = build_buildout(scenario)
        try:
            plans[foresight] = solve_buildout(model, scenario.solver, scenario.objective), model
        except SolveError as error:
            plans[foresight] = error
    assert isinstance(plans["myopic"], SolveError) and plans["myopic"].infeasible
    outcome, model = plans["perfect"]
    assert outcome.result.status == "optimal" and outcome.steps == []
    assert added(model, "racks", 2027, "a", "x") == 2 * RACKS


def test_a_grid_price_that_changes_by_year_reaches_the_year(tmp_path):
    """The site's grid price doubles from 2028 (``by_year``) and its CO2 rate halves; the tiny site has
    no hours of its own, so its hourly price and rate are its annual ones. Demand is the same both
    years, all of it on the grid: 2028's grid energy costs exactly twice 2027's, and emits half."""
    price = SITE["grid_price_usd_per_mwh"]
    model, _ = solved_buildout(
        tmp_path,
        [2027, 2028],
        2029,
        {2027: 1.0, 2028: 1.0},
        options={
            "by_year": {
                2028: {
                    "overrides": {
                        "sites": {"a": {"grid_price_usd_per_mwh": 2 * price, "grid_co2_kg_per_mwh": {"scale": 0.5}}}
                    }
                }
            }
        },
    )
    profiles = {year: block.scenario.tables["profiles"] for year, block in model.blocks.items()}
    assert (profiles[2028]["grid_price_usd_per_mwh"] == 2 * price).all()
    energy = {year: pyo.value(block.model.grid_energy_cost_musd["a"]) for year, block in model.blocks.items()}
    assert energy[2028] == pytest.approx(2 * energy[2027], rel=1e-9)
    co2 = {year: pyo.value(block.energy.emissions_t["a"]) for year, block in model.blocks.items()}
    assert co2[2028] == pytest.approx(0.5 * co2[2027], rel=1e-9)


def test_the_block_lp_bound_keeps_what_racks_bought_early_cost(tmp_path):
    """Chip X costs half as much in 2028 as in 2027 (chip_years), demand is the same both years, and
    every hour alike. The optimum buys 100 racks in 2027 at the full price and keeps them in 2028. The
    year-by-year bound charges 2028's racks at 2028's half price, so it lies below the optimum by
    about half a year's rack annuity in 2028's weight; the block LP keeps the vintages and is the
    optimum (the racks are whole at the optimum, the hours one block each)."""
    prices = [
        {"chip_id": "x", "year": 2027, "price_index": 1.0, "throughput_index": 1.0},
        {"chip_id": "x", "year": 2028, "price_index": 0.5, "throughput_index": 1.0},
    ]
    model, result = solved_buildout(tmp_path, [2027, 2028], 2029, {2027: 1.0, 2028: 1.0}, chip_years=prices)
    assert added(model, "racks", 2027, "a", "x") == RACKS and added(model, "racks", 2028, "a", "x") == 0
    options, objective = model.scenario.solver, model.scenario.objective
    block = block_lp_bound(model, options)
    by_year = year_by_year_bound(model, options, objective)
    assert block is not None and by_year is not None
    assert block == pytest.approx(result.cost_musd_per_yr, rel=1e-6)
    periods = planning_years(model.scenario)
    rack_annuity = (
        RACKS
        * CHIP["chips_per_rack"]
        * CHIP["price_usd_per_chip"]
        / USD_PER_MUSD
        * crf(model.scenario.finance.wacc, CHIP["life_yr"])
    )
    share_2028 = periods[1].pv_weight / sum(period.pv_weight for period in periods)
    assert result.cost_musd_per_yr - by_year == pytest.approx(0.5 * rack_annuity * share_2028, rel=1e-3)
