"""The chip prices and throughput by year (data/chip_years.csv) are what data/scripts/chip_years.py
derives, follow its stated rules, and leave every year of the default build-out something to buy."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from optimizer.inputs.scenario import load_scenario
from optimizer.inputs.years import chip_indices

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "data" / "scripts"))

import chip_years  # noqa: E402  (data/scripts is a folder of scripts, not a package)


def test_the_committed_table_is_what_the_script_writes():
    assert chip_years.main(["--check"]) == 0


def test_prices_fall_ten_per_cent_a_year_after_the_successor_down_to_the_floor():
    """Vera Rubin: flat to 2028 (Rubin Ultra's volume year), then 0.9, 0.8, 0.7, 0.6 and no lower;
    its preview software matures by 1.139 from 2027."""
    scenario = load_scenario(ROOT / "data" / "scenarios" / "buildout.yaml")
    expected = {2027: (1.0, 1.139), 2028: (1.0, 1.139), 2029: (0.9, 1.139), 2031: (0.7, 1.139), 2034: (0.6, 1.139)}
    for year, (price, throughput) in expected.items():
        prices, throughputs = chip_indices(scenario, year)
        assert prices["vera_rubin_nvl144"] == pytest.approx(price)
        assert throughputs["vera_rubin_nvl144"] == pytest.approx(throughput)


def test_every_planning_year_of_the_default_build_out_has_a_chip_on_sale():
    chips = pd.read_csv(ROOT / "data" / "chips.csv")
    scenario = load_scenario(ROOT / "data" / "scenarios" / "buildout.yaml")
    for year in scenario.buildout.planning_years or []:
        on_sale = chips[(chips["available_year"] <= year) & ~(chips["last_year"] < year)]
        assert len(on_sale) >= 2, year  # an NVIDIA and an AMD rack at least
