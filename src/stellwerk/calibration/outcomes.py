"""What a run produced: outcome rows in the routing-outcome schema, and the per-model summary.

An outcome row is a bank line with ``scores`` for every calibrated model, plus what was measured
per model: ``prompt_tokens``, ``answer_tokens``, ``latency_ms``, ``ttft_ms``, ``cost`` (in the
catalog's internal price unit: measured tokens x the configured price) and, where a model failed,
``errors`` (its score is then 0). A row is written only when every model has answered or failed
on it, so the file always loads as outcome data; ``grader`` names how the scores were obtained.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from stellwerk.calibration.bank import BankItem
from stellwerk.calibration.checkpoint import DOES_NOT_FIT, Pair
from stellwerk.config.schema import ModelConfig
from stellwerk.routing.placement import family_key

Entries = Mapping[Pair, Mapping[str, Any]]


def outcome_rows(
    items: Sequence[tuple[BankItem, str]], models: Sequence[ModelConfig], entries: Entries
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for item, grader in items:
        found = [entries.get((item.id, m.id)) for m in models]
        if any(entry is None for entry in found):
            continue
        per_model = {m.id: e for m, e in zip(models, found, strict=True) if e is not None}
        row: dict[str, Any] = {
            "id": item.id,
            "split": item.split,
            "task": item.task,
            "prompt": item.prompt,
            "ground_truth": item.ground_truth,
            "grader": grader,
            "scores": {m: float(e["score"]) for m, e in per_model.items()},
            "prompt_tokens": {m: e["prompt_tokens"] for m, e in per_model.items()},
            "answer_tokens": {m: e["answer_tokens"] for m, e in per_model.items()},
            "latency_ms": {m: round(e["latency_ms"], 1) for m, e in per_model.items()},
            "ttft_ms": {m: _round(e["ttft_ms"]) for m, e in per_model.items()},
            "cost": {m.id: _cost(m, per_model[m.id]) for m in models},
        }
        errors = {m: e["error"] for m, e in per_model.items() if e.get("error")}
        if errors:
            row["errors"] = errors
        rows.append(row)
    return rows


def model_summary(model: ModelConfig, entries: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Quality per task and overall, errors by kind, speed (medians) of one model."""
    done = list(entries)
    answered = [e for e in done if not e.get("error")]
    tasks: dict[str, list[Mapping[str, Any]]] = {}
    for entry in done:
        tasks.setdefault(str(entry["task"]), []).append(entry)
    prefill = [
        e["prompt_tokens"] / (e["ttft_ms"] / 1000)
        for e in answered
        if e.get("ttft_ms") and e.get("prompt_tokens")
    ]
    return {
        "model": model.id,
        "pairs": len(done),
        "answered": len(answered),
        "errors": dict(Counter(str(e["error"]) for e in done if e.get("error"))),
        "does_not_fit": does_not_fit(model, done),
        "quality": _mean(e["score"] for e in done),
        "per_task": {
            task: {
                "grader": group[0]["grader"],
                "n": len(group),
                "quality": _mean(e["score"] for e in group),
            }
            for task, group in sorted(tasks.items())
        },
        "tokens_per_s": _median(e.get("decode_tokens_per_s") for e in answered),
        "throughput_tokens_per_s": throughput(answered),
        "busy_s": round(busy_seconds(answered), 3),
        "prefill_tokens_per_s": _median(prefill),
        "ttft_ms_p50": _median(e.get("ttft_ms") for e in answered),
        "latency_ms_p50": _median(e.get("latency_ms") for e in answered),
        "prompt_tokens": sum(int(e["prompt_tokens"]) for e in answered),
        "answer_tokens": sum(int(e["answer_tokens"]) for e in answered),
    }


def does_not_fit(model: ModelConfig, entries: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """The pairs whose prompt the backend refused as over the model's context (scored 0, not
    asked again), and that context: the one the backend named, else the configured one."""
    refused = [e for e in entries if e.get("error") == DOES_NOT_FIT]
    named = [int(e["context"]) for e in refused if e.get("context")]
    return {"pairs": len(refused), "context_length": max(named, default=model.context_length)}


def busy_seconds(entries: Sequence[Mapping[str, Any]]) -> float:
    """Wall-clock seconds in which the model had a request in flight (the union of intervals)."""
    spans = sorted((e["started"], e["started"] + e["latency_ms"] / 1000) for e in entries)
    busy = 0.0
    end = float("-inf")
    for start, stop in spans:
        if start > end:
            busy += stop - start
        elif stop > end:
            busy += stop - end
        end = max(end, stop)
    return busy


def throughput(entries: Sequence[Mapping[str, Any]]) -> float | None:
    """Answer tokens per busy second: what the model delivers at the run's concurrency."""
    busy = busy_seconds(entries)
    tokens = sum(int(e["answer_tokens"]) for e in entries)
    return round(tokens / busy, 2) if busy > 0 and tokens else None


def models_file(models: Sequence[ModelConfig]) -> dict[str, dict[str, Any]]:
    """The models' catalog facts in the shape of ``open9-models.json``, so that router training
    and evaluation find sizes and prices next to the outcomes. The prices are the catalog's
    (its own currency unit, under the keys that file format uses)."""
    return {
        m.id: {
            "params_b": m.params_b,
            "size_class": m.size_class,
            "input_usd_per_mtok": m.price.input_per_mtok,
            "output_usd_per_mtok": m.price.output_per_mtok,
            **({"benchmark_score": m.benchmark_score} if m.benchmark_score is not None else {}),
            "family": family_key(m.family, m.upstream),  # never empty
        }
        for m in models
    }


def models_path(out: Path) -> Path:
    """``x.jsonl`` -> ``x-models.json``, where the router's data reader looks for it."""
    return out.with_name(out.stem + "-models.json")


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Write atomically: a reader never sees half a file, a crash leaves the old one."""
    _atomic(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def write_json(path: Path, value: Mapping[str, Any]) -> None:
    _atomic(path, json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def _atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cost(model: ModelConfig, entry: Mapping[str, Any]) -> float:
    return model.price.cost(int(entry["prompt_tokens"]), int(entry["answer_tokens"]))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _mean(values: Iterable[float]) -> float | None:
    got = [float(v) for v in values]
    return round(statistics.fmean(got), 4) if got else None


def _median(values: Iterable[float | None]) -> float | None:
    got = [float(v) for v in values if v is not None]
    return round(statistics.median(got), 2) if got else None
