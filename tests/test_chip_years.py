"""The chip prices and throughput by year (data/chip_years.csv) are what data/scripts/chip_years.py
derives, follow its stated rules, and leave every year of the default build-out something to buy."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd
import pytest

from optimizer.inputs.scenario import ScenarioError, load_scenario
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


def test_announced_skus_follow_vera_rubin_as_far_as_its_announced_gain_came_true():
    """Rubin Ultra's reasoning row, computed by hand from chip_throughput.csv: Vera Rubin's row x the
    announced FP4 per die (15 EF / 576 over 3.6 EF / 144) to the elasticity of Vera Rubin over GB300
    (measured 9,066 / 3,521 tokens/s against 50 / 15 PF announced) x 2 dies per package."""
    rows = pd.read_csv(ROOT / "data" / "chip_throughput.csv").set_index(["chip_id", "workload_id"])
    tokens = rows["tokens_per_s_per_chip"]
    elasticity = math.log(9066 / 3521) / math.log(50 / 15)
    per_die = (15.0 / 576) / (3.6 / 144)
    expected = tokens["vera_rubin_nvl144", "reasoning_r1"] * per_die**elasticity * 2
    assert tokens["rubin_ultra_nvl576", "reasoning_r1"] == pytest.approx(expected, abs=0.5)
    assert (rows.loc[["rubin_ultra_nvl576", "mi450x_helios"], "basis"] == "A").all()
    assert (rows.drop(["rubin_ultra_nvl576", "mi450x_helios"], level="chip_id")["basis"] != "A").all()


def test_announced_skus_are_bought_only_where_a_scenario_asks_for_them():
    default = load_scenario(ROOT / "data" / "scenarios" / "buildout.yaml")
    announced = load_scenario(ROOT / "data" / "scenarios" / "buildout_announced.yaml")
    new = {"rubin_ultra_nvl576", "mi450x_helios"}
    assert not new & set(default.tables["chips"].index)
    assert not new & set(default.tables["chip_throughput"].index.get_level_values("chip_id"))
    assert not new & set(default.tables["chip_years"].index.get_level_values("chip_id"))
    assert new <= set(announced.tables["chips"].index)
    prices, throughputs = chip_indices(announced, 2029)  # flat until Feynman (assumed in volume 2029)
    assert prices["rubin_ultra_nvl576"] == pytest.approx(1.0) and throughputs["rubin_ultra_nvl576"] == pytest.approx(
        1.139
    )
    # everything else is the same scenario
    for table in ("sites", "demand", "power_techs"):
        pd.testing.assert_frame_equal(default.tables[table], announced.tables[table])


def test_announced_chips_hold_for_the_whole_scenario_not_from_a_year_on(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        f"extends: {ROOT / 'data' / 'scenarios' / 'buildout.yaml'}\n"
        "by_year:\n  2030:\n    constraints:\n      announced_chips: true\n"
    )
    with pytest.raises(ScenarioError, match=r"by_year\.2030: constraints\.announced_chips holds for the whole"):
        load_scenario(path)
