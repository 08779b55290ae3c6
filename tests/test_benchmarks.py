"""The benchmark scripts' own inputs load: the reduced representative-day scenario and generated long lists."""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from optimizer.inputs.geo import sites_outside_their_state

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import generate  # noqa: E402  (benchmarks/ is a folder of scripts, not a package)
import representative_days  # noqa: E402


def test_the_representative_day_benchmark_scenario_loads_at_any_number_of_days():
    """It extends the default scenario two folders up, which the loader follows only as an absolute path."""
    scenario = representative_days._with_days(BENCHMARKS / "scenarios" / "reduced_2_sites.yaml", 4)
    assert list(scenario.tables["sites"].index) == ["stargate_abilene", "crusoe_cheyenne"]
    assert scenario.time.representative_days == 4


def test_generated_parcels_name_the_state_they_lie_in():
    """Parcels 20-150 km from a default site often cross a state border; each names the state it is in."""
    default_sites = gpd.read_file(generate.DATA / "sites.geojson")
    rng = np.random.default_rng(2026)
    parents = generate._parents(default_sites, 400, rng)
    sites = generate._parcels(default_sites, parents, rng)
    frame = pd.DataFrame(
        {"state": sites["state"].to_numpy(), "lat": sites.geometry.y.to_numpy(), "lon": sites.geometry.x.to_numpy()},
        index=sites["site_id"],
    )
    assert sites_outside_their_state(frame) == []
    parent_states = default_sites["state"].to_numpy()[parents]
    assert (sites["state"].to_numpy() != parent_states).any(), "no parcel crossed a border: the case is not tested"


def test_a_generated_case_goes_stale_when_the_default_data_changes(tmp_path, monkeypatch):
    """The scale benchmark reuses a generated case only while the default data it came from is unchanged."""
    folder = tmp_path / "case"
    folder.mkdir()
    (folder / generate.FINGERPRINT_FILE).write_text(f"2026 {generate.data_fingerprint()}\n")
    assert generate.is_current(folder)
    assert not generate.is_current(folder, seed=7)
    monkeypatch.setattr(generate, "data_fingerprint", lambda: "0" * 64)
    assert not generate.is_current(folder)
    assert not generate.is_current(tmp_path / "never_generated")


def test_a_short_list_still_reaches_every_demand_region():
    """10 of the default sites: those chosen first reach every region within the tightest latency budget."""
    from optimizer.inputs.geo import distance_km, round_trip_latency_ms

    default_sites = gpd.read_file(generate.DATA / "sites.geojson")
    rows = generate._parents(default_sites, 10, np.random.default_rng([2026, 10]))
    assert len(set(rows)) == 10
    chosen = default_sites.iloc[rows]
    facility = pd.read_csv(generate.DATA / "facility.csv").set_index("parameter")["value"]
    latency = round_trip_latency_ms(
        distance_km(
            pd.DataFrame({"lat": chosen.geometry.y, "lon": chosen.geometry.x}),
            pd.read_csv(generate.DATA / "regions.csv"),
        ),
        facility["fibre_km_per_ms"],
        facility["route_factor"],
        facility["latency_overhead_ms"],
    )
    budget_ms = pd.read_csv(generate.DATA / "workloads.csv")["latency_budget_ms"].min()
    assert (latency.min(axis=0) <= budget_ms).all()
