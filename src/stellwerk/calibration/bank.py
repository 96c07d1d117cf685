"""The prompt bank: routing-outcome JSON Lines (plain or gzip, ``.gz``) with a ``ground_truth`` on
every usable line.

A line is ``{"id", "split", "task", "prompt", "ground_truth", "scores"?: {...}, ...}`` (the schema
of the routing-outcome data). A calibration asks new models, so ``scores`` is optional here. Bad
lines never stop a run: each is skipped and counted under a reason that says what was wrong.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from stellwerk.errors import TrainingDataError

SPLITS = ("train", "test")


@dataclass(frozen=True, slots=True)
class BankItem:
    id: str
    split: str
    task: str
    prompt: str
    ground_truth: str
    line: int


@dataclass(frozen=True)
class Bank:
    """The usable lines of a bank file, in file order, and what was skipped and why."""

    path: Path
    sha256: str
    items: tuple[BankItem, ...]
    skipped: Counter[str] = field(default_factory=Counter)
    first_skipped: dict[str, int] = field(default_factory=dict)
    """The first line number skipped for each reason, so the user can look at an example."""

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(item.task for item in self.items))


def read_bank(path: str | Path) -> Bank:
    """Read a bank; only an unreadable file (or one without a single usable line) is an error."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":  # the hash is that of the plain lines, as for outcome data
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise TrainingDataError(f"{path}: cannot read the bank ({reason})") from exc
    items: list[BankItem] = []
    skipped: Counter[str] = Counter()
    first: dict[str, int] = {}
    seen: set[str] = set()
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        item, reason = parse_line(line, lineno)
        if item is not None and item.id in seen:
            item, reason = None, "id appears twice"
        if item is None:
            skipped[reason] += 1
            first.setdefault(reason, lineno)
            continue
        seen.add(item.id)
        items.append(item)
    if not items:
        detail = ", ".join(f"{n} {reason}" for reason, n in skipped.most_common()) or "it is empty"
        raise TrainingDataError(f"{path}: no usable line in the bank ({detail})")
    return Bank(path, hashlib.sha256(raw).hexdigest(), tuple(items), skipped, first)


def parse_line(line: bytes, lineno: int) -> tuple[BankItem | None, str]:
    """One line -> (item, "") or (None, the reason it is skipped)."""
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, "not valid JSON"
    if not isinstance(row, dict):
        return None, "not a JSON object"
    for name in ("id", "task", "prompt"):
        value = row.get(name)
        if not isinstance(value, str) or not value.strip():
            return None, f"field {name!r} missing or not a non-empty string"
    truth = row.get("ground_truth")
    if truth is None:
        return None, "no ground_truth"
    if isinstance(truth, int | float) and not isinstance(truth, bool):
        truth = str(truth)
    if not isinstance(truth, str) or not truth.strip():
        return None, "ground_truth empty or not a string"
    split = row.get("split", "train")
    if split not in SPLITS:
        return None, "split is neither 'train' nor 'test'"
    return BankItem(row["id"], split, row["task"], row["prompt"], truth, lineno), ""
