"""The notebooks are what their generator writes, and they run top to bottom on a fresh install.

The default lane checks in a second that the committed notebooks are exactly what
``notebooks/build_notebooks.py`` writes (stable cell ids, no outputs) and that every name they import
from the package exists. Executing them (with nbclient, as a user would: the default scenario and a
six-case sweep) takes minutes, so it runs in the slow lane (``pytest -m slow``, or ``-m notebooks``).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from optimizer.verify import verify_plan
from optimizer.verify.buildout import verify_buildout

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
GENERATOR = NOTEBOOKS / "build_notebooks.py"


def _generator():
    spec = importlib.util.spec_from_file_location("build_notebooks", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_notebooks_are_what_the_generator_writes(tmp_path):
    generator = _generator()
    written = generator.write_notebooks(tmp_path)
    assert sorted(path.name for path in written) == sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))
    again = generator.write_notebooks(tmp_path / "again")
    for path, repeat in zip(written, again):
        # the same cells, ids included, every time it runs
        assert path.read_text() == repeat.read_text(), f"{path.name}: the generator is not deterministic"
        committed = json.loads((NOTEBOOKS / path.name).read_text())
        assert committed == json.loads(path.read_text()), (
            f"notebooks/{path.name} differs from what notebooks/build_notebooks.py writes: "
            "run `python notebooks/build_notebooks.py` (and edit the cells there, not in the notebook)"
        )
        ids = [cell["id"] for cell in committed["cells"]]
        assert ids == [f"{path.stem}-{i:02d}" for i in range(len(ids))]


@pytest.mark.parametrize("name", ["quickstart.ipynb", "what_if.ipynb"])
def test_notebook_imports_name_what_the_package_has(name):
    """Every ``from optimizer... import ...`` of a notebook resolves (checked without running it)."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    imported = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "optimizer":
                try:
                    module = importlib.import_module(node.module)
                except ImportError as error:
                    pytest.fail(f"{name}: {error}")
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{name}: {node.module} has no {alias.name}"
                    imported += 1
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "optimizer":
                        try:
                            importlib.import_module(alias.name)
                        except ImportError as error:
                            pytest.fail(f"{name}: {error}")
                        imported += 1
    assert imported > 0, f"{name} imports nothing from the package"


def _run(name: str, plans: Path, monkeypatch) -> list[dict]:
    """Execute a notebook in a fresh kernel, its plans written under ``plans``; its outputs."""
    monkeypatch.setenv("AIFACTORY_PLANS", str(plans))  # the kernel inherits it: no earlier plan is reused
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    return outputs


def _images(outputs: list[dict]) -> int:
    return sum("image/png" in o.get("data", {}) for o in outputs)


@pytest.mark.slow
@pytest.mark.notebooks
def test_quickstart_runs_top_to_bottom(tmp_path, monkeypatch):
    outputs = _run("quickstart.ipynb", tmp_path, monkeypatch)
    assert _images(outputs) == 6, "the map, the cost split, the dispatch chart and the build-out's three"
    assert verify_plan(tmp_path / "quickstart").ok
    buildout = tmp_path / "quickstart_buildout"
    assert verify_buildout(buildout).ok
    years = pd.read_csv(buildout / "years.csv")
    assert list(years["year"]) == [2028, 2030, 2032]
    assert (years["it_capacity_mw"].diff().dropna() > 0).all(), "demand grows: so does the IT standing"


@pytest.mark.slow
@pytest.mark.notebooks
def test_what_if_answers_every_question_with_charts(tmp_path, monkeypatch):
    outputs = _run("what_if.ipynb", tmp_path, monkeypatch)
    assert _images(outputs) == 3, "the side-by-side cost and carbon chart, the two maps, the build-outs by year"
    sweep = pd.read_csv(tmp_path / "what_if" / "sweep.csv").set_index("variant")
    assert list(sweep.index) == [
        "today",
        "power +30 %",
        "chips +20 %",
        "Vera Rubin supply 100k",
        "online by 2027",
        "carbon $100/t",
    ]
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
    # the build-out questions: each plan verified, Rubin's slip and slower growth each change the halls
    buildouts = tmp_path / "what_if" / "buildout"
    questions = ("today", "Rubin_ships_2031", "slower_growth_after_2030", "announced_racks_come")
    for question in questions:
        assert verify_buildout(buildouts / question).ok, question
    levelised = {
        question: pd.read_csv(buildouts / question / "summary.csv").iloc[0]["levelised_usd_per_mtok"]
        for question in questions
    }
    assert levelised["Rubin_ships_2031"] > levelised["today"]  # the best chip per token of 2028-30 is gone
    # Rubin Ultra costs less per token/s than Vera Rubin: the announced racks are bought, and they pay
    assert levelised["announced_racks_come"] < levelised["today"] * (1 - 0.02)
    assert "rubin_ultra_nvl576" in (buildouts / "announced_racks_come" / "schedule.csv").read_text()
    for question in ("Rubin ships 2031", "slower growth after 2030", "announced racks come"):
        assert f"{question}: halls standing that differ" in text, question
