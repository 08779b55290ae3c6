"""The house rules a newcomer relies on, checked on the source itself.

- Data flows one way (scenario → inputs → model → solver → verify → outputs → analysis → cli) and the
  verifier never loads the model: the import-linter contracts in pyproject.toml.
- No module imports another module's private (``_underscore``) names.
- Outside ``optimizer/model/``, product code (optimizer/, benchmarks/, notebooks/) reads no model family as
  a Pyomo attribute (``fm.model.build``): it uses the layer handles (``fm.infrastructure.build``), which
  mypy checks. Tests of the formulation itself may look inside the Pyomo model.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

from optimizer.model.families import FAMILIES

ROOT = Path(__file__).parents[1]
SOURCES = sorted(
    path
    for folder in ("optimizer", "benchmarks", "tests", "data/scripts", "notebooks")
    for path in (ROOT / folder).rglob("*.py")
)


def _trees() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"), str(path))) for path in SOURCES]


def test_imports_follow_the_layers() -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    result = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_no_module_imports_private_names_of_another() -> None:
    offences = []
    for path, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("optimizer", "tests"):
                offences += [
                    f"{path.relative_to(ROOT)}:{node.lineno} imports {alias.name} from {node.module}"
                    for alias in node.names
                    if alias.name.startswith("_")
                ]
    assert not offences, "\n".join(offences)


def test_model_families_are_read_through_handles_outside_the_model() -> None:
    """``<anything>.model.<family>`` outside optimizer/model/ is a read by attribute name."""
    families = {name.split(".")[-1] for name in FAMILIES} | {"S", "T", "G", "C", "K", "W", "L", "R"}
    offences = []
    for path, tree in _trees():
        if path.is_relative_to(ROOT / "optimizer" / "model") or path.is_relative_to(ROOT / "tests"):
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in families
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "model"
            ):
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno} reads .model.{node.attr}")
    assert not offences, "\n".join(offences)
