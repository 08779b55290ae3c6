"""The notebooks run top to bottom on a fresh install (executed with nbclient, as a user would)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
from nbclient import NotebookClient

from optimizer.verify import verify_plan

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _run(name: str, plans: Path, monkeypatch) -> list[dict]:
    """Execute a notebook in a fresh kernel, its plans written under ``plans``; its outputs."""
    monkeypatch.setenv("AIFACTORY_PLANS", str(plans))  # the kernel inherits it: no earlier plan is reused
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    return outputs


def _images(outputs: list[dict]) -> int:
    return sum("image/png" in o.get("data", {}) for o in outputs)


def test_quickstart_runs_top_to_bottom(tmp_path, monkeypatch):
    outputs = _run("quickstart.ipynb", tmp_path, monkeypatch)
    assert _images(outputs) == 3, "the map, the cost split and the dispatch chart"
    assert verify_plan(tmp_path / "quickstart").ok


def test_what_if_answers_every_question_with_charts(tmp_path, monkeypatch):
    outputs = _run("what_if.ipynb", tmp_path, monkeypatch)
    assert _images(outputs) == 2, "the side-by-side cost and carbon chart, and the two maps"
    sweep = pd.read_csv(tmp_path / "what_if" / "sweep.csv").set_index("variant")
    assert list(sweep.index) == ["today", "power +30 %", "chips +20 %", "GB300 supply 180k", "online by 2027", "carbon $100/t"]
    assert (sweep["status"] == "optimal").all()
    cost = sweep["usd_per_mtok"]
    # the answers point the way a planner expects, each by more than the MIP gap where it is large
    assert cost["chips +20 %"] > cost["today"] * 1.10  # chips are ~80 % of the cost per token
    assert cost["carbon $100/t"] > cost["today"]
    assert sweep.loc["carbon $100/t", "emissions_kg_per_mtok"] <= sweep.loc["today", "emissions_kg_per_mtok"] + 1e-9
    assert cost["online by 2027"] >= cost["today"] * (1 - 0.01)
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    for question in list(sweep.index)[1:]:
        assert f"{question}: $/Mtok" in text, question
    for case in sweep["case_id"]:
        assert verify_plan(tmp_path / "what_if" / case / "plan").ok, case
