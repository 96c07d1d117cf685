"""Routing-outcome data: the JSON Lines files a router learns from and is judged on.

One prompt per line: ``id``, ``split`` ("train" or "test"), ``task``, ``prompt``, ``scores``
({model: quality in [0, 1]}), optionally ``cost_usd`` ({model: cost}) and ``ground_truth``.
Every problem is a ``TrainingDataError`` naming the line and the field; nothing is half-read.

Model facts (params_b, prices) come from a JSON file shaped like ``open9-models.json``:
``{model: {"params_b": .., "input_usd_per_mtok": .., "output_usd_per_mtok": ..}}``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from stellwerk.errors import TrainingDataError
from stellwerk.routing.placement import family_key, family_of

SPLITS = ("train", "test")
ANSWER_TOKENS = 128
"""Output tokens assumed per answer when the data has no ``cost_usd`` (the issue's convention)."""


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """What a catalog knows about a model before anyone measured it."""

    params_b: float | None = None
    price_in_per_mtok: float | None = None
    price_out_per_mtok: float | None = None
    benchmark_score: float | None = None
    family: str | None = None
    """The model's family (``placement.family_of``); None: the family of its name."""


@dataclass(frozen=True)
class Embeddings:
    """One embedding per row of an ``OutcomeData``, and the model and API that made them."""

    model: str
    api: str
    vectors: npt.NDArray[np.float32]
    """Shape (rows, dimensions)."""


@dataclass(frozen=True)
class OutcomeData:
    """A validated outcome file held as arrays; row order is file order."""

    ids: tuple[str, ...]
    tasks: tuple[str, ...]
    prompts: tuple[str, ...]
    is_test: npt.NDArray[np.bool_]
    models: tuple[str, ...]
    scores: npt.NDArray[np.float64]
    """Quality per row and model, shape (rows, models)."""
    cost_usd: npt.NDArray[np.float64] | None
    """Cost per row and model when every row gives ``cost_usd``, else None."""
    sha256: str
    embeddings: Embeddings | None = None
    """Set by ``with_embeddings`` (``router train --embed-url``); None: text features only."""

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, mask: npt.NDArray[np.bool_]) -> OutcomeData:
        idx = np.flatnonzero(mask)
        return OutcomeData(
            ids=tuple(self.ids[i] for i in idx),
            tasks=tuple(self.tasks[i] for i in idx),
            prompts=tuple(self.prompts[i] for i in idx),
            is_test=self.is_test[idx],
            models=self.models,
            scores=self.scores[idx],
            cost_usd=None if self.cost_usd is None else self.cost_usd[idx],
            sha256=self.sha256,
            embeddings=None
            if self.embeddings is None
            else replace(self.embeddings, vectors=self.embeddings.vectors[idx]),
        )

    def train(self) -> OutcomeData:
        return self.subset(~self.is_test)

    def test(self) -> OutcomeData:
        return self.subset(self.is_test)

    def without_model(self, model: str) -> OutcomeData:
        keep = [i for i, m in enumerate(self.models) if m != model]
        return OutcomeData(
            ids=self.ids,
            tasks=self.tasks,
            prompts=self.prompts,
            is_test=self.is_test,
            models=tuple(self.models[i] for i in keep),
            scores=self.scores[:, keep],
            cost_usd=None if self.cost_usd is None else self.cost_usd[:, keep],
            sha256=self.sha256,
            embeddings=self.embeddings,
        )

    def with_embeddings(self, embeddings: Embeddings) -> OutcomeData:
        """The same data with one embedding per row."""
        if embeddings.vectors.ndim != 2 or len(embeddings.vectors) != len(self):
            raise TrainingDataError(
                f"{len(embeddings.vectors)} embeddings for {len(self)} rows of outcome data"
            )
        return replace(self, embeddings=embeddings)

    def costs(self, facts: Mapping[str, ModelFacts]) -> npt.NDArray[np.float64]:
        """Cost per row and model: ``cost_usd`` where the data has it, otherwise price x
        (ceil(len(prompt) / 4) input tokens + 128 output tokens)."""
        if self.cost_usd is not None:
            return self.cost_usd
        missing = [
            m
            for m in self.models
            if m not in facts
            or facts[m].price_in_per_mtok is None
            or facts[m].price_out_per_mtok is None
        ]
        if missing:
            raise TrainingDataError(
                "the data has no cost_usd and there is no price for "
                + ", ".join(missing)
                + ": give a models file (--models) with input_usd_per_mtok and"
                " output_usd_per_mtok for each model (the repository has one for"
                " data/routing/routellm-mmlu-gsm8k.jsonl.gz: benchmarks/routellm-models.json)"
            )
        tokens_in = np.array([math.ceil(len(p) / 4) for p in self.prompts], dtype=np.float64)
        p_in = np.array([facts[m].price_in_per_mtok or 0.0 for m in self.models])
        p_out = np.array([facts[m].price_out_per_mtok or 0.0 for m in self.models])
        out: npt.NDArray[np.float64] = (
            tokens_in[:, None] * p_in[None, :] + ANSWER_TOKENS * p_out[None, :]
        ) / 1e6
        return out


def load_outcomes(
    path: str | Path, *, resplit: float | None = None, require_splits: bool = True
) -> OutcomeData:
    """Read and validate an outcome file.

    ``resplit`` (a test fraction in (0, 1)) gives data without a train split a split of its own:
    a row goes to test when the SHA-256 of its id falls below that fraction. It is refused on
    files that have train rows, so that a source's test rows never end up in training.
    """
    path = Path(path)
    raw = _read(path)
    rows = list(_parse_lines(path, raw))
    if not rows:
        raise TrainingDataError(f"{path}: no rows")
    models: tuple[str, ...] = tuple(rows[0][1]["scores"])
    known = set(models)
    ids: list[str] = []
    tasks: list[str] = []
    prompts: list[str] = []
    splits: list[str] = []
    scores = np.empty((len(rows), len(models)), dtype=np.float64)
    has_cost = all("cost_usd" in row for _, row in rows)
    cost = np.empty_like(scores) if has_cost else None
    seen: set[str] = set()
    for r, (lineno, row) in enumerate(rows):
        where = f"{path}:{lineno}"
        if row["id"] in seen:
            raise TrainingDataError(f"{where}: field 'id': {row['id']!r} appears twice")
        seen.add(row["id"])
        ids.append(row["id"])
        tasks.append(row["task"])
        prompts.append(row["prompt"])
        splits.append(row["split"])
        scores[r] = _per_model(where, "scores", row["scores"], models, known, unit=True)
        if cost is not None:
            cost[r] = _per_model(where, "cost_usd", row["cost_usd"], models, known, unit=False)
    is_test = np.array([s == "test" for s in splits], dtype=np.bool_)
    if resplit is not None:
        is_test = _resplit(path, ids, is_test, resplit)
    if require_splits:
        if is_test.all():
            raise TrainingDataError(
                f"{path}: field 'split': no row has split 'train' (the train split is empty);"
                " for data that is all test, give a split of your own with --resplit"
            )
        if not is_test.any():
            raise TrainingDataError(f"{path}: field 'split': no row has split 'test'")
    return OutcomeData(
        ids=tuple(ids),
        tasks=tuple(tasks),
        prompts=tuple(prompts),
        is_test=is_test,
        models=models,
        scores=scores,
        cost_usd=cost,
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def load_model_facts(path: str | Path) -> dict[str, ModelFacts]:
    """Read a models file (``open9-models.json`` shape); unknown fields are ignored.

    A model's family is its ``family`` field, else the family of its ``hf_id``, else (left to
    the reader) the family of its name."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TrainingDataError(f"{path}: cannot read ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise TrainingDataError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise TrainingDataError(f"{path}: the top level must be an object of models")
    facts: dict[str, ModelFacts] = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict):
            raise TrainingDataError(f"{path}: model {name!r}: must be an object")
        values: dict[str, float | None] = {}
        for src, dst in (
            ("params_b", "params_b"),
            ("input_usd_per_mtok", "price_in_per_mtok"),
            ("output_usd_per_mtok", "price_out_per_mtok"),
            ("benchmark_score", "benchmark_score"),
        ):
            value = entry.get(src)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or value < 0
            ):
                raise TrainingDataError(
                    f"{path}: model {name!r}: field {src!r} must be a non-negative number"
                )
            values[dst] = None if value is None else float(value)
        facts[name] = ModelFacts(**values, family=_family(path, name, entry))
    return facts


def _family(path: Path, name: str, entry: dict[str, Any]) -> str | None:
    for key in ("family", "hf_id"):
        value = entry.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise TrainingDataError(
                f"{path}: model {name!r}: field {key!r} must be a non-empty string"
            )
        return family_key(value, "") if key == "family" else family_of(value)
    return None


def default_models_file(data_path: str | Path) -> Path | None:
    """``open9.jsonl`` (or ``open9.jsonl.gz``) -> ``open9-models.json`` next to it, when that
    file exists."""
    data_path = Path(data_path)
    name = data_path.name.removesuffix(".gz").removesuffix(".jsonl")
    candidate = data_path.with_name(name + "-models.json")
    return candidate if candidate.is_file() else None


def _read(path: Path) -> bytes:
    """The file's bytes; a ``.gz`` file decompressed (its hash is that of the plain lines, so
    an artifact trained on either names the same data)."""
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if path.suffix == ".gz" else raw
    except OSError as exc:
        raise TrainingDataError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def _parse_lines(path: Path, raw: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TrainingDataError(f"{where}: not valid JSON: {exc}") from exc
        if not isinstance(row, dict):
            raise TrainingDataError(f"{where}: a line must be a JSON object")
        for field in ("id", "split", "task", "prompt", "scores"):
            if field not in row:
                raise TrainingDataError(f"{where}: field {field!r} is missing")
        for field in ("id", "task", "prompt"):
            if not isinstance(row[field], str):
                raise TrainingDataError(f"{where}: field {field!r} must be a string")
        if row["split"] not in SPLITS:
            raise TrainingDataError(
                f"{where}: field 'split': {row['split']!r} is neither 'train' nor 'test'"
            )
        for field in ("scores", "cost_usd"):
            if field in row and (not isinstance(row[field], dict) or not row[field]):
                raise TrainingDataError(
                    f"{where}: field {field!r} must be a non-empty object of model: number"
                )
        yield lineno, row


def _per_model(
    where: str,
    field: str,
    values: object,
    models: tuple[str, ...],
    known: set[str],
    *,
    unit: bool,
) -> list[float]:
    assert isinstance(values, dict)
    for name in values:
        if name not in known:
            raise TrainingDataError(
                f"{where}: field {field!r}: unknown model {name!r}"
                f" (the first line names {', '.join(models)})"
            )
    out: list[float] = []
    for name in models:
        if name not in values:
            raise TrainingDataError(f"{where}: field {field!r}: model {name!r} is missing")
        value = values[name]
        if not _is_number(value):
            raise TrainingDataError(f"{where}: field {field!r}: {name!r} is not a number")
        if unit and not 0.0 <= value <= 1.0:
            raise TrainingDataError(
                f"{where}: field {field!r}: {name!r} is {value}, outside [0, 1]"
            )
        if not unit and value < 0:
            raise TrainingDataError(f"{where}: field {field!r}: {name!r} is negative ({value})")
        out.append(float(value))
    return out


def _resplit(
    path: Path, ids: list[str], is_test: npt.NDArray[np.bool_], fraction: float
) -> npt.NDArray[np.bool_]:
    if not 0.0 < fraction < 1.0:
        raise TrainingDataError(f"--resplit must be a fraction in (0, 1), not {fraction}")
    if not is_test.all():
        raise TrainingDataError(
            f"{path}: field 'split': the file has train rows; --resplit is only for data whose"
            " rows are all test (so that no source test row is ever trained on)"
        )
    cut = int(fraction * 2**32)
    return np.array(
        [int.from_bytes(hashlib.sha256(i.encode()).digest()[:4], "big") < cut for i in ids],
        dtype=np.bool_,
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
