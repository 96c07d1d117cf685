"""The rule of imports between Stellwerk's packages, as docs/architecture.md states it, holds for
every import in ``src/stellwerk`` (lazy imports inside functions included)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "stellwerk"
SHARED = {"errors", "money"}
"""Top-level modules any package may import (the doc says so above its table)."""
PENDING: set[tuple[str, str]] = set()
"""Imports against the rule that a change in progress removes; delete an entry once its import
is gone."""


@dataclass(frozen=True, slots=True)
class Rule:
    anywhere: frozenset[str]
    only_in: dict[str, frozenset[str]]
    """Packages a package may import from one of its modules only: module path -> packages."""
    any_package: bool = False


def _names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def read_rules() -> dict[str, Rule]:
    """The table under "The rule of imports" in docs/architecture.md."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## The rule of imports", 1)[1].split("\n## ", 1)[0]
    rules: dict[str, Rule] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[0].startswith("`"):
            continue
        (package,) = _names(cells[0])
        anywhere: set[str] = set()
        only_in: dict[str, frozenset[str]] = {}
        for part in cells[1].split(";"):
            if part.strip().startswith("only in"):
                module, *allowed = _names(part)
                only_in[module] = frozenset(allowed)
            else:
                anywhere.update(_names(part))
        rules[package] = Rule(frozenset(anywhere), only_in, cells[1] == "every package")
    return rules


def _package(path: Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def imports() -> Iterator[tuple[Path, str, int]]:
    """(file, imported Stellwerk package or top-level module, line) for every import."""
    for path in sorted(SRC.rglob("*.py")):
        inside = path.relative_to(SRC).parts
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level:
                up = len(inside) - node.level
                base = ["stellwerk", *inside[:up]] + ([node.module] if node.module else [])
                targets = [".".join(base)]
            elif isinstance(node, ast.ImportFrom):
                targets = [node.module or ""]
            else:
                continue
            for target in targets:
                parts = target.split(".")
                if parts[0] == "stellwerk" and len(parts) > 1:
                    yield path, parts[1], node.lineno


def test_every_package_has_a_rule() -> None:
    rules = read_rules()
    packages = {_package(p) for p in SRC.iterdir() if p.name not in {"__init__.py", "__main__.py"}}
    packages -= SHARED | {"py.typed", "__pycache__"}
    assert packages - set(rules) == set(), "packages missing from docs/architecture.md's rule"
    assert set(rules) - packages == set(), "the rule names packages that do not exist"


def test_the_rule_has_no_cycle() -> None:
    rules = read_rules()
    graph = {
        name: rule.anywhere.union(*rule.only_in.values())
        for name, rule in rules.items()
        if not rule.any_package
    }
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise AssertionError(f"the rule of imports has a cycle: {exc.args[1]}") from exc


def test_every_import_between_packages_follows_the_rule() -> None:
    rules = read_rules()
    broken = []
    for path, target, line in imports():
        source = _package(path)
        if source in {"__main__", "__init__"} or target == source or target in SHARED:
            continue
        rule = rules[source]
        module = path.relative_to(SRC).as_posix()
        allowed = rule.anywhere | rule.only_in.get(module, frozenset())
        if rule.any_package or target in allowed or (source, target) in PENDING:
            continue
        broken.append(f"{module}:{line} imports {target}")
    assert broken == [], "imports against docs/architecture.md's rule of imports"
