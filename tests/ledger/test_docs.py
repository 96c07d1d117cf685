"""docs/ledger.md documents every public method of the ledger and its writer."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

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
