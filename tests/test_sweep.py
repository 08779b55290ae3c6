"""``aifactory sweep``: cases expand as written, failures are recorded, sweeps resume, and a real
Dask cluster (scheduler and worker as separate processes on loopback) gives the same sweep.csv."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from optimizer.analysis.sweep import load_sweep, variant_cases
from optimizer.cli import app
from optimizer.inputs.scenario import ScenarioError
from optimizer.verify import verify_plan
from tests.tiny import write_tiny

BIN = Path(sys.executable).parent


def _sweep_file(folder: Path, parameters: dict, **extra) -> Path:
    base = write_tiny(folder / "base")
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump({"scenario": str(base.relative_to(folder)), "parameters": parameters, **extra}))
    return path


#: grid power at 1x and 2x its price, with a capital budget that is ample or impossible (1 USD)
PARAMETERS = {
    "power_price": {"set": "overrides.sites.*.grid_price_usd_per_mwh", "scale": [1.0, 2.0]},
    "budget": {"set": "constraints.capex_budget_usd", "values": [1.0e12, 1.0]},
}


def test_grid_zip_and_sample_expansion(tmp_path):
    cases = load_sweep(_sweep_file(tmp_path / "grid", PARAMETERS))
    assert len(cases) == 4
    first = cases[0].document
    assert first["overrides"]["sites"]["*"]["grid_price_usd_per_mwh"] == {"scale": 1.0}
    assert first["constraints"]["capex_budget_usd"] == 1.0e12
    assert len(load_sweep(_sweep_file(tmp_path / "zip", PARAMETERS, mode="zip"))) == 2
    sampled = {"carbon": {"set": "constraints.carbon_price_usd_per_t", "range": [0, 100]}}
    cases = load_sweep(_sweep_file(tmp_path / "sample", sampled, mode="sample", samples=5, seed=3))
    prices = [c.values["carbon"] for c in cases]
    assert len(prices) == 5 and all(0 <= p <= 100 for p in prices) and len(set(prices)) == 5


def test_one_at_a_time_moves_each_parameter_alone_from_the_base(tmp_path):
    cases = load_sweep(_sweep_file(tmp_path, PARAMETERS, mode="one_at_a_time"))
    # (the sweep file's keys come sorted from yaml.safe_dump)
    assert [c.case_id for c in cases] == [
        "000_base",
        "001_budget=1e+12",
        "002_budget=1",
        "003_power_price=1",
        "004_power_price=2",
    ]
    assert set(cases[0].document) == {"extends", "name"}  # the base scenario, unchanged
    assert cases[4].values == {"budget": None, "power_price": 2.0}
    assert "constraints" not in cases[4].document
    assert cases[2].document["constraints"] == {"capex_budget_usd": 1.0}


def test_variant_cases_lay_named_changes_over_the_base(tmp_path):
    base = write_tiny(tmp_path / "base")
    cases = variant_cases(base, {"today": {}, "carbon $100/t": {"constraints": {"carbon_price_usd_per_t": 100}}})
    assert [c.values for c in cases] == [{"variant": "today"}, {"variant": "carbon $100/t"}]
    assert cases[1].case_id == "001_variant=carbon-100-t"
    assert cases[1].document["constraints"] == {"carbon_price_usd_per_t": 100}
    with pytest.raises(ScenarioError, match="not found"):
        variant_cases(tmp_path / "missing.yaml", {"today": {}})


@pytest.mark.parametrize(
    "parameters, extra, message",
    [
        ({"p": {"set": "constraints.carbon_price_usd_per_t"}}, {}, "exactly one of values, scale, range"),
        (
            {"p": {"set": "overrides.sites.grid_price_usd_per_mwh", "scale": [1]}},
            {},
            "overrides.<table>.<row id>.<column>",
        ),
        ({"p": {"set": "constraints.carbon_price_usd_per_t", "range": [0, 1]}}, {}, "needs mode: sample"),
        ({"p": {"set": "constraints.carbon_price_usd_per_t", "values": [1]}}, {"mode": "every"}, "mode 'every'"),
        (
            {"chips": {"set": "overrides.chips.*.price_usd_per_chip", "scale": [1]}},
            {},
            "name 'chips' is a column of sweep.csv",
        ),
    ],
)
def test_bad_sweep_files_are_named(tmp_path, parameters, extra, message):
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        load_sweep(_sweep_file(tmp_path, parameters, **extra))


def test_local_sweep_records_failures_and_resumes(tmp_path):
    sweep = _sweep_file(tmp_path, PARAMETERS)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["sweep", str(sweep), "--out", str(out), "--workers", "2"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sweep.csv").set_index(["power_price", "budget"])
    assert len(table) == 4
    assert (table.xs(1.0, level="budget")["status"] == "no_plan").all()
    assert table.xs(1.0, level="budget")["reason"].str.contains("no feasible plan").all()
    solved = table.xs(1.0e12, level="budget")
    assert (solved["status"] == "optimal").all()
    # twice the grid price: energy per token costs more, chips do not
    assert solved.loc[2.0, "energy_usd_per_mtok"] > solved.loc[1.0, "energy_usd_per_mtok"]
    assert solved.loc[2.0, "chips_usd_per_mtok"] == pytest.approx(solved.loc[1.0, "chips_usd_per_mtok"])
    assert "2 of 4 cases solved" in result.output
    for case in pd.read_csv(out / "sweep.csv")["case_id"]:
        assert (out / case / "case.yaml").exists()
    # the workers' plans pass the independent verifier too
    for case in solved["case_id"]:
        verification = verify_plan(out / case / "plan")
        assert verification.ok, verification.messages

    # run again: the two solved cases are taken from their folders, not solved again
    result = CliRunner().invoke(app, ["sweep", str(sweep), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    again = pd.read_csv(out / "sweep.csv").set_index(["power_price", "budget"])
    assert (again.xs(1.0e12, level="budget")["wall_s"] == 0.0).all()
    pd.testing.assert_series_equal(again["usd_per_mtok"], table["usd_per_mtok"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# slow lane: ~25 s of separate scheduler and worker processes; the default lane runs the same sweep
# machinery on a local Dask cluster (test_local_sweep_records_failures_and_resumes)
@pytest.mark.slow
def test_sweep_on_a_dask_cluster_matches_the_local_run(tmp_path):
    sweep = _sweep_file(tmp_path, {"power_price": PARAMETERS["power_price"]})
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = subprocess.Popen(
        [str(BIN / "dask"), "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        from dask.distributed import Client

        deadline = time.time() + 60
        while True:
            try:
                with Client(address, timeout=5) as client:
                    client.wait_for_workers(2, timeout=30)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(1)
        result = CliRunner().invoke(app, ["sweep", str(sweep), "--out", str(tmp_path / "dask"), "--scheduler", address])
        assert result.exit_code == 0, result.output
    finally:
        worker.terminate()
        scheduler.terminate()
        worker.wait(timeout=30)
        scheduler.wait(timeout=30)
    result = CliRunner().invoke(app, ["sweep", str(sweep), "--out", str(tmp_path / "local"), "--workers", "2"])
    assert result.exit_code == 0, result.output
    on_cluster = pd.read_csv(tmp_path / "dask" / "sweep.csv")
    local = pd.read_csv(tmp_path / "local" / "sweep.csv")
    assert on_cluster["status"].tolist() == local["status"].tolist() == ["optimal", "optimal"]
    pd.testing.assert_series_equal(on_cluster["usd_per_mtok"], local["usd_per_mtok"], rtol=1e-9)
