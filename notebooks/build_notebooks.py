"""Write the notebooks of this folder from their cells (kept here so they diff as code).

    python notebooks/build_notebooks.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

QUICKSTART = [
    new_markdown_cell(
        "# Quickstart: plan the default AI-factory portfolio\n\n"
        "Load the bundled scenario (24 US candidate campuses, 2026 token demand), solve it, and look at "
        "where the plan builds, what each token costs by layer, and how a site runs hour by hour."
    ),
    new_code_cell(
        "from pathlib import Path\n"
        "from IPython.display import Image, display\n"
        "\n"
        "from optimizer.model import build_model\n"
        "from optimizer.plan import build_plan\n"
        "from optimizer.plots import plot_cost_by_site, plot_dispatch, plot_map\n"
        "from optimizer.scenario import load_scenario\n"
        "from optimizer.solve import solve\n"
        "\n"
        "ROOT = Path.cwd().parent if Path.cwd().name == 'notebooks' else Path.cwd()\n"
        "OUT = ROOT / 'plans' / 'quickstart'"
    ),
    new_code_cell(
        "scenario = load_scenario(ROOT / 'data' / 'scenarios' / 'base.yaml')\n"
        "fm = build_model(scenario)\n"
        "plan = build_plan(fm, solve(fm, scenario.solver, scenario.objective))\n"
        "plan.write(OUT, scenario, force=True)\n"
        "plan.tables['summary'][['status', 'mip_gap', 'usd_per_mtok', 'energy_usd_per_mtok', 'chips_usd_per_mtok',\n"
        "                        'infrastructure_usd_per_mtok', 'emissions_kg_per_mtok', 'sites_built', 'it_capacity_mw']]"
    ),
    new_markdown_cell("## Where the plan builds\nSites sized by IT MW and coloured by their main power source; lines carry tokens to the demand regions."),
    new_code_cell("display(Image(filename=plot_map(OUT, OUT / 'plots' / 'map.png')))"),
    new_markdown_cell("## What a token costs, by layer and site"),
    new_code_cell(
        "display(Image(filename=plot_cost_by_site(OUT, OUT / 'plots' / 'cost_by_site.png')))\n"
        "sites = plan.tables['sites']\n"
        "sites[sites['built'] == 1][['site_id', 'cooling_id', 'it_capacity_mw', 'annual_pue', 'annual_wue_l_per_kwh', 'cfe_score', 'usd_per_mtok']]"
    ),
    new_markdown_cell("## One representative day at the largest site"),
    new_code_cell("display(Image(filename=plot_dispatch(OUT, OUT / 'plots' / 'dispatch.png')))"),
]


def main() -> None:
    notebook = new_notebook(cells=QUICKSTART, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(notebook, HERE / "quickstart.ipynb")
    print(f"wrote {HERE / 'quickstart.ipynb'}")


if __name__ == "__main__":
    main()
