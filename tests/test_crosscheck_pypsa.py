"""The build-out's energy layer, chips fixed, agrees with PyPSA on the same multi-period power problem.

Runs ``benchmarks/crosscheck_pypsa.py`` on each of its cases: the energy layer's present-value cost and
every capacity added per (site, technology, build year) match PyPSA's to 1e-6.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import crosscheck_pypsa  # noqa: E402  (benchmarks/ is a folder of scripts, not a package)


@pytest.mark.parametrize("case", list(crosscheck_pypsa.CASES))
def test_the_energy_layer_agrees_with_pypsa(case, tmp_path):
    rows = crosscheck_pypsa.crosscheck(case, tmp_path)
    assert crosscheck_pypsa.disagreements(rows) == []
    # not an agreement on nothing: demand grows, so both tools add power in every planning year
    added = rows[rows["quantity"].str.contains(" added ") & (rows["unit"] == "MW")]
    years = added["quantity"].str.extract(r"added (\d{4})$", expand=False).astype(int)
    assert set(years[added["ours"] > 1.0]) == set(crosscheck_pypsa.PLANNING_YEARS)
