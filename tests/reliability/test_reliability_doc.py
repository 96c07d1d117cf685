"""docs/reliability.md is checked: every test it names exists, and every reliability test is
named there (a guarantee without its proof, or a proof nobody reads, fails the suite)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?(?:\[[^\]]*\])?`")
_BUILT_ELSEWHERE = ("by the lead", "by governance")


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def test_every_named_test_exists() -> None:
    lines = DOC.read_text(encoding="utf-8").splitlines()
    assert sum(len(_REFERENCE.findall(line)) for line in lines) > 15
    for line in lines:
        for path, name in _REFERENCE.findall(line):
            if not (ROOT / path).is_file():
                assert any(mark in line for mark in _BUILT_ELSEWHERE), f"{path} does not exist"
                continue
            assert not name or name in _test_names(ROOT / path), f"{path}::{name} does not exist"


def test_every_reliability_test_is_in_the_doc() -> None:
    text = DOC.read_text(encoding="utf-8")
    for path in sorted((ROOT / "tests" / "reliability").glob("test_*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if path.name == Path(__file__).name:
            continue
        assert f"`{relative}" in text, f"{relative} is not in docs/reliability.md"
