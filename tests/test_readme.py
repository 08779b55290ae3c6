"""The README's Python examples name what the package really exports (their imports run here)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_readme_has_python_examples() -> None:
    assert BLOCKS, "README.md lost its Python examples"


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_imports_resolve(block: str) -> None:
    """Every ``import``/``from ... import`` line of the example runs and names something callable."""
    imports = [node for node in ast.parse(block).body if isinstance(node, ast.Import | ast.ImportFrom)]
    assert imports, "an example without imports cannot be checked"
    namespace: dict[str, object] = {}
    exec(compile(ast.Module(body=imports, type_ignores=[]), "README.md", "exec"), namespace)
    for node in imports:
        for alias in node.names:
            value = namespace[alias.asname or alias.name]
            assert callable(value) or isinstance(value, type), f"README imports {alias.name}, which is {value!r}"
