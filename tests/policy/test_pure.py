"""Policy is pure rules: it imports no service (docs/architecture.md), only these parts."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

POLICY = Path(__file__).resolve().parents[2] / "src" / "stellwerk" / "policy"
ALLOWED = {"stellwerk.policy", "stellwerk.config", "stellwerk.errors", "stellwerk.money"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("stellwerk")}


@pytest.mark.parametrize("path", sorted(POLICY.glob("*.py")), ids=lambda p: p.name)
def test_policy_imports_no_service(path: Path) -> None:
    outside = {
        m for m in _imports(path) if not any(m == a or m.startswith(a + ".") for a in ALLOWED)
    }
    assert not outside, f"policy/{path.name} imports {sorted(outside)}"
