"""The run's checkpoint: an append-only JSON Lines file, one line per finished prompt/model pair,
each line flushed and fsync'd before the pair counts as done.

The first line is a header naming the bank (its SHA-256) and the settings that change answers
(``max_tokens``); a checkpoint of another bank or other settings is refused rather than mixed in.
A line cut short by a kill (the last one) is ignored: that pair is asked again. Pairs that ended
in an error are recorded too; the newest line of a pair wins. A pair is settled (not asked again)
when it was answered, or when the backend refused its prompt as over the model's context
(``DOES_NOT_FIT``), which recurs the same way on every run: final while the model's configured
``context_length`` is the one it was asked with. Every other error (unavailable, timeout, a
cut stream, a grader's failure) may pass, so that pair is asked again by the next run.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from stellwerk.errors import CalibrationError

FORMAT = "stellwerk-calibration-checkpoint/1"
Pair = tuple[str, str]
"""(bank item id, model id)"""
DOES_NOT_FIT = "context"
"""The error of a pair whose prompt the backend refused as over the model's context."""


class Checkpoint:
    def __init__(
        self, path: Path, handle: BinaryIO, run_id: str, entries: dict[Pair, dict[str, Any]]
    ) -> None:
        self.path = path
        self.run_id = run_id
        """Made when the checkpoint is created; the same for every resumption of the run."""
        self._handle = handle
        self._lock = threading.Lock()
        self.entries = entries
        """The newest entry of every pair recorded so far."""

    @classmethod
    def open(cls, path: Path, header: Mapping[str, Any]) -> Checkpoint:
        """Open (or create) the checkpoint at ``path`` for a run described by ``header``."""
        expected = {"kind": "header", "format": FORMAT, **header}
        entries: dict[Pair, dict[str, Any]] = {}
        run_id = uuid.uuid4().hex
        try:
            existing = path.read_bytes() if path.exists() else b""
            handle = path.open("ab", buffering=0)
        except OSError as exc:
            raise CalibrationError(
                f"{path}: cannot write the checkpoint ({exc.strerror}); choose another --out"
            ) from exc
        try:
            if existing.strip():
                run_id, entries = _read(path, existing, expected)
                if not existing.endswith(b"\n"):
                    handle.write(b"\n")  # end the line a kill cut short; it stays unparsed
            else:
                handle.write(_encode({**expected, "run_id": run_id}))
            handle.flush()
            os.fsync(handle.fileno())
        except BaseException:
            handle.close()
            raise
        return cls(path, handle, run_id, entries)

    def settled(self, pair: Pair, context_length: int) -> bool:
        """Whether the pair needs no asking again: it was answered, or its prompt does not fit
        the model's context (asked with the ``context_length`` the model still has)."""
        entry = self.entries.get(pair)
        if entry is None:
            return False
        error = entry.get("error")
        if error is None:
            return True
        return error == DOES_NOT_FIT and entry.get("context_length") == context_length

    def append(self, entry: Mapping[str, Any]) -> None:
        """Write one finished pair durably (flush + fsync) before returning."""
        line = _encode({"kind": "answer", **entry})
        with self._lock:
            try:
                self._handle.write(line)
                self._handle.flush()
                os.fsync(self._handle.fileno())
            except OSError as exc:
                raise CalibrationError(
                    f"{self.path}: cannot write the checkpoint ({exc.strerror}); the pairs"
                    " recorded so far are kept, run again to continue"
                ) from exc
            self.entries[(str(entry["id"]), str(entry["model"]))] = dict(entry)

    def close(self) -> None:
        self._handle.close()


def _encode(row: Mapping[str, Any]) -> bytes:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _read(
    path: Path, raw: bytes, expected: Mapping[str, Any]
) -> tuple[str, dict[Pair, dict[str, Any]]]:
    lines = raw.splitlines()
    try:
        header = json.loads(lines[0])
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{path}: not a calibration checkpoint (no header)") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CalibrationError(f"{path}: not a calibration checkpoint (unknown header)")
    for key, value in expected.items():
        if header.get(key) != value:
            raise CalibrationError(
                f"{path}: this checkpoint belongs to another run ({key} is {header.get(key)!r},"
                f" this run has {value!r}); choose another --out or move the checkpoint away"
            )
    entries: dict[Pair, dict[str, Any]] = {}
    for line in lines[1:]:
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue  # cut short by a kill: that pair is asked again
        if isinstance(row, dict) and row.get("kind") == "answer" and "id" in row and "model" in row:
            entries[(str(row["id"]), str(row["model"]))] = row
    return str(header.get("run_id") or uuid.uuid4().hex), entries
