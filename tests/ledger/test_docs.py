"""docs/ledger.md documents every public method of the ledger and its writer, every module of
the package, and the revision a new migration follows."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from stellwerk.ledger import migrate
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.writer import LedgerWriter

DOC = Path(__file__).resolve().parents[2] / "docs" / "ledger.md"
PUBLIC = sorted(
    {
        name
        for cls in (Ledger, LedgerWriter)
        for name, _ in inspect.getmembers(cls)
        if not name.startswith("_") and name not in {"engine", "connect", "start"}
    }
)


@pytest.mark.parametrize("name", PUBLIC)
def test_public_method_is_documented(name: str) -> None:
    # Named as code: `name`, `name(...)` or .name
    mention = re.compile(rf"(`|\.){re.escape(name)}\b")
    assert mention.search(DOC.read_text(encoding="utf-8")), f"docs/ledger.md never names {name}"


def test_the_current_head_is_named() -> None:
    """It told a new migration's author to follow ``0002_audit_log`` long after eight more."""
    assert f"(`{migrate.head_revision()}` today;" in DOC.read_text(encoding="utf-8")


MODULES = sorted(
    p.stem for p in (DOC.parents[1] / "src/stellwerk/ledger").glob("*.py") if p.stem != "__init__"
)


@pytest.mark.parametrize("module", MODULES)
def test_every_module_is_in_the_table(module: str) -> None:
    assert re.search(rf"`{module}\.py`", DOC.read_text(encoding="utf-8")), module
