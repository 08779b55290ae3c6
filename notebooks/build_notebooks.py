"""Write the notebooks of this folder from their cells (kept here so they diff as code).

    python notebooks/build_notebooks.py            # rewrites notebooks/*.ipynb
    python notebooks/build_notebooks.py OTHER_DIR  # writes them elsewhere

Each cell's id is the notebook's name and the cell's position (``quickstart-03``), so writing the
notebooks again changes nothing; tests/test_notebooks.py checks that the committed notebooks are
exactly what this script writes.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

QUICKSTART = [
    new_markdown_cell(
        "# Quickstart: plan the default AI-factory portfolio\n\n"
        "Load the bundled scenario (29 US candidate campuses, the 2030 token demand), solve it, and look at "
        "where the plan builds, what each token costs by layer, and how a site runs hour by hour; last, plan the "
        "same portfolio over years (a build-out)."
    ),
    new_code_cell(
        "import os\n"
        "from pathlib import Path\n"
        "from IPython.display import Image, display\n"
        "\n"
        "from optimizer.model import build_model\n"
        "from optimizer.outputs.plan import build_plan\n"
        "from optimizer.outputs.plots import plot_cost_by_site, plot_dispatch, plot_map\n"
        "from optimizer.inputs.scenario import load_scenario\n"
        "from optimizer.solver.milp import solve\n"
        "\n"
        "ROOT = Path.cwd().parent if Path.cwd().name == 'notebooks' else Path.cwd()\n"
        "OUT = Path(os.environ.get('AIFACTORY_PLANS', ROOT / 'plans')) / 'quickstart'"
    ),
    new_code_cell(
        "scenario = load_scenario(ROOT / 'data' / 'scenarios' / 'base.yaml')\n"
        "fm = build_model(scenario)\n"
        "plan = build_plan(fm, solve(fm, scenario.solver, scenario.objective))\n"
        "plan.write(OUT, scenario, force=True)\n"
        "plan.tables['summary'][['status', 'mip_gap', 'usd_per_mtok', 'energy_usd_per_mtok', 'chips_usd_per_mtok',\n"
        "                        'infrastructure_usd_per_mtok', 'emissions_kg_per_mtok', 'sites_built', 'it_capacity_mw']]"
    ),
    new_markdown_cell(
        "## Where the plan builds\nSites sized by IT MW and coloured by their main power source; lines carry tokens to the demand regions."
    ),
    new_code_cell("display(Image(filename=plot_map(OUT, OUT / 'plots' / 'map.png')))"),
    new_markdown_cell("## What a token costs, by layer and site"),
    new_code_cell(
        "display(Image(filename=plot_cost_by_site(OUT, OUT / 'plots' / 'cost_by_site.png')))\n"
        "sites = plan.tables['sites']\n"
        "sites[sites['built'] == 1][['site_id', 'cooling_id', 'it_capacity_mw', 'annual_pue', 'annual_wue_l_per_kwh', 'cfe_score', 'usd_per_mtok']]"
    ),
    new_markdown_cell("## One representative day at the largest site"),
    new_code_cell("display(Image(filename=plot_dispatch(OUT, OUT / 'plots' / 'dispatch.png')))"),
    new_markdown_cell(
        "## Plan over years (build-out)\n"
        "A build-out plans **what to add in each planning year** as token demand grows and chip generations "
        "arrive: each planning year is the one-year model above, built from that year's demand, prices and what "
        "may stand by then, and stands for the calendar years until the next one. Sites, IT halls, racks and power "
        "are **vintages**, added in a year and in service for their life; each pays its own build year's annuity "
        "in every year it stands (PyPSA's *Type II* costing), while operating costs are each year's own. The "
        "headline is the **levelised cost per token** (the present value of cost over the present value of "
        "tokens, overall, per year and by layer); demand a year cannot serve is bought at the scenario's "
        "unserved price and reported. Here `buildout.yaml` is solved year by year (myopic, as the scenario says) "
        "over 2028, 2030 and 2032 (to the end of 2033) to keep the notebook quick; "
        "`aifactory solve data/scenarios/buildout.yaml --out plans/buildout` does the same from the command line "
        "with the scenario's five planning years (design: `docs/BUILDOUT.md`)."
    ),
    new_code_cell(
        "from dataclasses import replace\n"
        "\n"
        "from optimizer.model.buildout import build_buildout\n"
        "from optimizer.outputs.buildout import build_buildout_plan\n"
        "from optimizer.outputs.plots import plot_buildout_cost, plot_buildout_fleet, plot_buildout_it\n"
        "from optimizer.solver.buildout import solve_buildout\n"
        "\n"
        "BUILDOUT_OUT = OUT.parent / 'quickstart_buildout'\n"
        "buildout_scenario = load_scenario(ROOT / 'data' / 'scenarios' / 'buildout.yaml')\n"
        "buildout_scenario.buildout = replace(buildout_scenario.buildout, planning_years=[2028, 2030, 2032], end_year=2034)\n"
        "bm = build_buildout(buildout_scenario)\n"
        "buildout = build_buildout_plan(bm, solve_buildout(bm, buildout_scenario.solver, buildout_scenario.objective))\n"
        "buildout.write(BUILDOUT_OUT, buildout_scenario, force=True)\n"
        "s = buildout.summary\n"
        "print(f\"levelised ${s['levelised_usd_per_mtok']:.4f}/Mtok over planning years {s['planning_years']} \"\n"
        "      f\"to the end of {s['end_year'] - 1} ({s['foresight']}, {s['status']}, gap {s['mip_gap']:.2%})\")\n"
        "years = buildout.tables['years'].assign(\n"
        "    period=lambda t: t['year'].astype(str) + '-' + (t['end_year'] - 1).astype(str),\n"
        "    demand_ptok=lambda t: t['demand_tokens_per_yr'] / 1e15,\n"
        "    unserved_ptok=lambda t: t['unserved_tokens_per_yr'] / 1e15,\n"
        ").set_index('period')\n"
        "display(years[['usd_per_mtok', 'energy_usd_per_mtok', 'chips_usd_per_mtok', 'infrastructure_usd_per_mtok',\n"
        "               'sites_open', 'it_capacity_mw', 'chips', 'demand_ptok', 'unserved_ptok']].round(4))\n"
        "buildout.tables['schedule'].head(10)"
    ),
    new_markdown_cell(
        "### What stands where, which chips, and what a token costs, year by year\n"
        "IT capacity standing at each site; the accelerator fleet by generation (its first year of sale); "
        "the cost per token by layer in each planning year and levelised over all of them "
        "(the pictures `aifactory plot plans/buildout` draws)."
    ),
    new_code_cell(
        "display(Image(filename=plot_buildout_it(BUILDOUT_OUT, BUILDOUT_OUT / 'plots' / 'it_by_site.png')))\n"
        "display(Image(filename=plot_buildout_fleet(BUILDOUT_OUT, BUILDOUT_OUT / 'plots' / 'fleet.png')))\n"
        "display(Image(filename=plot_buildout_cost(BUILDOUT_OUT, BUILDOUT_OUT / 'plots' / 'cost_by_year.png')))"
    ),
]


WHAT_IF = [
    new_markdown_cell(
        "# What if? Five planner questions, answered side by side\n\n"
        "Each question is a change to the default portfolio (29 US candidate campuses, the 2030 token demand):\n\n"
        "1. **power price**: grid energy and gas cost 30 % more;\n"
        "2. **chip price**: every accelerator costs 20 % more;\n"
        "3. **chip supply**: only 100,000 Vera Rubin GPUs can be had (about half of what the plan buys);\n"
        "4. **online-by date**: everything must run by 2027 instead of 2030;\n"
        "5. **carbon price**: CO2 costs $100 per tonne.\n\n"
        "Every question is a scenario that extends the base one; all of them are solved in parallel on a "
        "local Dask cluster (the same machinery as `aifactory sweep`) and each plan is written to its own "
        "folder, so any of them can be opened, plotted or compared later. The scenario is "
        "`screening.yaml`: the base portfolio with 2 typical days instead of 4 + 3 and one solver thread "
        "per case, so the six solves take a couple of minutes on a laptop. Swap in `base.yaml` for the "
        "full time resolution. Running the notebook again reuses the plans already solved."
    ),
    new_code_cell(
        "import os\n"
        "from pathlib import Path\n"
        "\n"
        "import matplotlib.pyplot as plt\n"
        "import pandas as pd\n"
        "\n"
        "from optimizer.outputs.compare import compare_plans\n"
        "from optimizer.outputs.plots import LAYER_COLOURS, plot_map\n"
        "from optimizer.analysis.sweep import run_sweep, variant_cases\n"
        "\n"
        "ROOT = Path.cwd().parent if Path.cwd().name == 'notebooks' else Path.cwd()\n"
        "SCENARIO = ROOT / 'data' / 'scenarios' / 'screening.yaml'\n"
        "OUT = Path(os.environ.get('AIFACTORY_PLANS', ROOT / 'plans')) / 'what_if'"
    ),
    new_markdown_cell(
        "## The questions, as scenario changes\nAny scenario option or table value can be changed the same way (see the README's *Scenarios and data*)."
    ),
    new_code_cell(
        "QUESTIONS = {\n"
        "    'today': {},\n"
        "    'power +30 %': {'overrides': {'sites': {'*': {'grid_price_usd_per_mwh': {'scale': 1.3},\n"
        "                                                    'gas_price_usd_per_mmbtu': {'scale': 1.3}}}}},\n"
        "    'chips +20 %': {'overrides': {'chips': {'*': {'price_usd_per_chip': {'scale': 1.2}}}}},\n"
        "    'Vera Rubin supply 100k': {'overrides': {'chips': {'vera_rubin_nvl144': {'supply_limit_chips': 100_000}}}},\n"
        "    'online by 2027': {'constraints': {'online_by_year': 2027}},\n"
        "    'carbon $100/t': {'constraints': {'carbon_price_usd_per_t': 100}},\n"
        "}\n"
        "cases = variant_cases(SCENARIO, QUESTIONS)\n"
        "sweep = run_sweep(cases, OUT, workers=2)\n"
        "folders = {case.values['variant']: OUT / case.case_id / 'plan' for case in cases}\n"
        "assert (sweep['status'] == 'optimal').all(), sweep[['variant', 'status', 'reason']]"
    ),
    new_markdown_cell(
        "## The answers side by side\n"
        "Cost per million delivered tokens by layer, its change from today, and what the plan does differently. "
        "Each plan is proven within its MIP gap (1 %): a change smaller than that is a nudge, not a finding."
    ),
    new_code_cell(
        "answers = sweep.set_index('variant').loc[list(QUESTIONS)]\n"
        "today = answers.loc['today']\n"
        "side_by_side = pd.DataFrame({\n"
        "    '$/Mtok': answers['usd_per_mtok'],\n"
        "    'change %': 100 * (answers['usd_per_mtok'] / today['usd_per_mtok'] - 1),\n"
        "    'energy': answers['energy_usd_per_mtok'],\n"
        "    'chips': answers['chips_usd_per_mtok'],\n"
        "    'infrastructure': answers['infrastructure_usd_per_mtok'],\n"
        "    'kg CO2/Mtok': answers['emissions_kg_per_mtok'],\n"
        "    'sites': answers['sites_built'].astype(int),\n"
        "    'IT MW': answers['it_capacity_mw'].round(0),\n"
        "    'MIP gap %': 100 * answers['mip_gap'],\n"
        "})\n"
        "side_by_side.style.format({'$/Mtok': '{:.4f}', 'change %': '{:+.2f}', 'energy': '{:.4f}', 'chips': '{:.4f}',\n"
        "                           'infrastructure': '{:.4f}', 'kg CO2/Mtok': '{:.3f}', 'IT MW': '{:,.0f}', 'MIP gap %': '{:.2f}'})"
    ),
    new_code_cell(
        "fig, (cost_ax, carbon_ax) = plt.subplots(1, 2, figsize=(13, 4.5))\n"
        "bottom = pd.Series(0.0, index=answers.index)\n"
        "for layer, colour in LAYER_COLOURS.items():\n"
        "    cost_ax.bar(answers.index, answers[f'{layer}_usd_per_mtok'], bottom=bottom, color=colour, label=layer)\n"
        "    bottom += answers[f'{layer}_usd_per_mtok']\n"
        "for position, (question, total) in enumerate(bottom.items()):\n"
        "    cost_ax.annotate(f\"${total:.4f}\\n{side_by_side.loc[question, 'change %']:+.1f} %\", (position, total),\n"
        "                     ha='center', va='bottom', fontsize=8)\n"
        "cost_ax.set_ylim(0, 1.2 * bottom.max())\n"
        "cost_ax.set_ylabel('USD per million tokens')\n"
        "cost_ax.set_title('cost per token by layer')\n"
        "cost_ax.legend(loc='lower right')\n"
        "carbon_ax.bar(answers.index, answers['emissions_kg_per_mtok'], color='#c0504d')\n"
        "carbon_ax.set_ylabel('kg CO2 per million tokens')\n"
        "carbon_ax.set_title('emissions per token')\n"
        "for ax in (cost_ax, carbon_ax):\n"
        "    plt.setp(ax.get_xticklabels(), rotation=25, ha='right')\n"
        "fig.tight_layout()"
    ),
    new_markdown_cell(
        "## What each answer changes in the plan\nSites, power capacity and accelerators that differ from today's plan (from `aifactory compare`)."
    ),
    new_code_cell(
        "for question, folder in folders.items():\n"
        "    if question == 'today':\n"
        "        continue\n"
        "    comparison = compare_plans(folders['today'], folder)\n"
        "    sites = comparison.sites\n"
        "    opened = sites[(sites['built_a'] == 0) & (sites['built_b'] == 1)]['site_id'].tolist()\n"
        "    closed = sites[(sites['built_a'] == 1) & (sites['built_b'] == 0)]['site_id'].tolist()\n"
        "    chips = ', '.join(f\"{r.chip_id} {r.change:+,.0f}\" for r in comparison.chips.itertuples()) or 'same'\n"
        "    power = comparison.capacities\n"
        "    power = ', '.join(f\"{r.tech_id}@{r.site_id} {r.change_mw:+,.0f} MW\" for r in power[power['change_mw'].abs() >= 5].itertuples())\n"
        "    print(f\"{question}: $/Mtok {side_by_side.loc[question, 'change %']:+.2f} %; \"\n"
        "          f\"sites opened {opened or 'none'}, closed {closed or 'none'}; chips: {chips}; power: {power or 'same'}\")"
    ),
    new_markdown_cell(
        "## Where the plan builds if everything must run by 2027\nOnly sites whose grid arrives in time, or that can bridge with on-site generation, remain."
    ),
    new_code_cell(
        "fig, axes = plt.subplots(1, 2, figsize=(16, 5))\n"
        "for ax, question in zip(axes, ['today', 'online by 2027']):\n"
        "    ax.imshow(plt.imread(plot_map(folders[question], folders[question] / 'plots' / 'map.png')))\n"
        "    ax.set_title(question)\n"
        "    ax.axis('off')\n"
        "fig.tight_layout()"
    ),
    new_markdown_cell(
        "## Build-out questions: what if Vera Rubin ships late, demand grows more slowly after 2030, or the announced racks come?\n"
        "The same portfolio planned over years (`buildout.yaml`: what to add in each planning year as demand grows, "
        "solved year by year), here over 2028, 2030 and 2032 to keep the notebook quick. Two questions change the "
        "scenario's tables before the build-out is built: Vera Rubin first ships in 2031 instead of 2026 (and GB300 "
        "and B300 stay on sale until 2032, a year after it, as `chips.csv`'s `last_year` rule has it), or demand "
        "grows half as fast after 2030 (its index above 2030's halved). The third loads `buildout_announced.yaml`, "
        "which may also buy the racks only announced so far: Rubin Ultra NVL576 (600 kW, from 2028) and MI450X Helios "
        "(from 2027), their tokens/s from the vendors' FP4 figures as far as Vera Rubin's came true. Each plan is "
        "verified and written like `aifactory solve` writes one (`aifactory plot` and `aifactory compare` work on "
        "the folders)."
    ),
    new_code_cell(
        "from dataclasses import replace\n"
        "\n"
        "import numpy as np\n"
        "\n"
        "from optimizer import load_scenario\n"
        "from optimizer.model.buildout import build_buildout\n"
        "from optimizer.outputs.buildout import build_buildout_plan\n"
        "from optimizer.outputs.compare import compare_buildouts\n"
        "from optimizer.solver.buildout import solve_buildout\n"
        "\n"
        "BUILDOUT = ROOT / 'data' / 'scenarios' / 'buildout.yaml'\n"
        "\n"
        "\n"
        "def rubin_late(tables):\n"
        "    chips = tables['chips'].copy()\n"
        "    chips.loc['vera_rubin_nvl144', 'available_year'] = 2031\n"
        "    # its predecessors stay on sale until a year after it ships, as chips.csv's last_year rule says\n"
        "    chips.loc[['gb300_nvl72', 'b300_hgx'], 'last_year'] = 2032\n"
        "    return {**tables, 'chips': chips}\n"
        "\n"
        "\n"
        "def slower_growth(tables):\n"
        "    growth = tables['demand_growth'].copy()\n"
        "    later = growth.index.get_level_values('year') > 2030\n"
        "    growth['demand_index'] = np.where(later, 1 + (growth['demand_index'] - 1) / 2, growth['demand_index'])\n"
        "    return {**tables, 'demand_growth': growth}\n"
        "\n"
        "\n"
        "def unchanged(tables):\n"
        "    return tables\n"
        "\n"
        "\n"
        "ANNOUNCED = ROOT / 'data' / 'scenarios' / 'buildout_announced.yaml'\n"
        "BUILDOUT_QUESTIONS = {\n"
        "    'today': (BUILDOUT, unchanged),\n"
        "    'Rubin ships 2031': (BUILDOUT, rubin_late),\n"
        "    'slower growth after 2030': (BUILDOUT, slower_growth),\n"
        "    'announced racks come': (ANNOUNCED, unchanged),\n"
        "}\n"
        "buildouts = {}\n"
        "for question, (scenario_file, change) in BUILDOUT_QUESTIONS.items():\n"
        "    scenario = load_scenario(scenario_file)\n"
        "    scenario.buildout = replace(scenario.buildout, planning_years=[2028, 2030, 2032], end_year=2034)\n"
        "    scenario.tables = change(scenario.tables)\n"
        "    model = build_buildout(scenario)\n"
        "    plan = build_buildout_plan(model, solve_buildout(model, scenario.solver, scenario.objective))\n"
        "    folder = OUT / 'buildout' / question.replace(' ', '_')\n"
        "    plan.write(folder, scenario, force=True)\n"
        "    buildouts[question] = (plan, folder)\n"
        "pd.DataFrame({\n"
        "    question: {\n"
        "        'levelised $/Mtok': plan.summary['levelised_usd_per_mtok'],\n"
        "        **{f'IT MW {row.year}': row.it_capacity_mw for row in plan.tables['years'].itertuples()},\n"
        "        'unserved Ptok (all years)': plan.tables['years']['unserved_tokens_per_yr'].sum() / 1e15,\n"
        "    }\n"
        "    for question, (plan, _) in buildouts.items()\n"
        "}).round(4)"
    ),
    new_code_cell(
        "fig, (it_ax, cost_ax) = plt.subplots(1, 2, figsize=(13, 4.5))\n"
        "for question, (plan, _) in buildouts.items():\n"
        "    years = plan.tables['years']\n"
        "    it_ax.plot(years['year'], years['it_capacity_mw'], marker='o', label=question)\n"
        "    cost_ax.plot(years['year'], years['usd_per_mtok'], marker='o', label=question)\n"
        "it_ax.set_ylabel('IT capacity standing, MW')\n"
        "cost_ax.set_ylabel('USD per million tokens in the year')\n"
        "for ax in (it_ax, cost_ax):\n"
        "    ax.set_xlabel('planning year')\n"
        "    ax.legend()\n"
        "fig.tight_layout()\n"
        "for question, (_, folder) in list(buildouts.items())[1:]:\n"
        "    halls = compare_buildouts(buildouts['today'][1], folder).halls\n"
        "    moved = ', '.join(f\"{r.site_id} {r.year} {r.change_mw:+,.0f} MW\" for r in halls.itertuples() if abs(r.change_mw) >= 5)\n"
        "    print(f\"{question}: halls standing that differ from today's build-out: {moved or 'none'}\")"
    ),
]

NOTEBOOKS = {"quickstart.ipynb": QUICKSTART, "what_if.ipynb": WHAT_IF}


KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def build_notebook(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` of NOTEBOOKS, each cell's id set from the notebook's name and the cell's
    position (nbformat would draw a random one each time)."""
    cells = copy.deepcopy(NOTEBOOKS[name])
    for index, cell in enumerate(cells):
        cell["id"] = f"{Path(name).stem}-{index:02d}"
    return new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC})


def write_notebooks(folder: Path = HERE) -> list[Path]:
    """Write every notebook of NOTEBOOKS into ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in NOTEBOOKS:
        nbformat.write(build_notebook(name), folder / name)
        paths.append(folder / name)
    return paths


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    for path in write_notebooks(Path(args[0]) if args else HERE):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
