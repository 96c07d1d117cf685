"""Usage records to table rows and back, and the check a record passes before it is queued.

The check runs in :meth:`LedgerWriter.submit`, on the caller's side: a malformed record is refused
there with a message naming the field, instead of poisoning a batch in the writer later.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any

from stellwerk.errors import LedgerError
from stellwerk.ledger.record import UsageRecord

FIELD_NAMES: tuple[str, ...] = tuple(field.name for field in fields(UsageRecord))


def _text(value: object) -> bool:
    return isinstance(value, str)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _flag(value: object) -> bool:
    return isinstance(value, bool)


def _moment(value: object) -> bool:
    return isinstance(value, datetime) and value.utcoffset() is not None


_CHECKS: dict[str, tuple[Callable[[object], bool], str]] = {
    "str": (_text, "a string"),
    "int": (_count, "a non-negative integer"),
    "float": (_number, "a finite non-negative number"),
    "bool": (_flag, "a bool"),
    "datetime": (_moment, "a timezone-aware datetime"),
}


@dataclass(frozen=True, slots=True)
class _FieldCheck:
    name: str
    optional: bool
    check: Callable[[object], bool]
    wanted: str


@cache
def _field_checks() -> tuple[_FieldCheck, ...]:
    """What each field of ``UsageRecord`` must hold, read once from its annotations."""
    plan = []
    for field in fields(UsageRecord):
        annotation = str(field.type)
        base = annotation.removesuffix(" | None")
        if base not in _CHECKS:  # a new UsageRecord field needs a check here and a migration
            raise LedgerError(f"usage record field {field.name!r}: no check for type {base!r}")
        check, wanted = _CHECKS[base]
        plan.append(_FieldCheck(field.name, annotation != base, check, wanted))
    return tuple(plan)


def check_record(record: object) -> UsageRecord:
    """Return ``record`` if it can be stored; else raise :class:`LedgerError` naming the field."""
    if not isinstance(record, UsageRecord):
        raise LedgerError(f"expected a UsageRecord, got {type(record).__name__}")
    for field in _field_checks():
        value = getattr(record, field.name)
        if value is None and field.optional:
            continue
        if not field.check(value):
            raise LedgerError(
                f"usage record {record.request_id!r}: field {field.name!r} must be "
                f"{field.wanted}{' or None' if field.optional else ''}, got {value!r}"
            )
    if not record.request_id:
        raise LedgerError("usage record: field 'request_id' must not be empty")
    if (record.reference_model is None) != (record.reference_cost_micro is None):
        raise LedgerError(
            f"usage record {record.request_id!r}: fields 'reference_model' and "
            "'reference_cost_micro' must both be given or both be None"
        )
    if record.reference_energy_wh is not None and record.reference_model is None:
        raise LedgerError(
            f"usage record {record.request_id!r}: field 'reference_energy_wh' needs "
            "'reference_model'"
        )
    return record


def record_to_row(record: UsageRecord) -> dict[str, Any]:
    """The record as the ledger stores it (``stored``)."""
    row = {name: getattr(record, name) for name in FIELD_NAMES}
    for name in TEXT_FIELDS:
        value = row[name]
        if isinstance(value, str) and "\x00" in value:
            row[name] = value.replace("\x00", "\ufffd")
    for name in FLOAT_FIELDS:
        if isinstance(row[name], int):
            row[name] = float(row[name])
    return row


#: the record's fields of a float type: stored as floats (an int there is a float's value; a
#: PostgreSQL array of one column must not mix the two)
FLOAT_FIELDS = frozenset(f.name for f in fields(UsageRecord) if f.type in ("float", "float | None"))
#: the record's fields of a text type: where a NUL character can be
TEXT_FIELDS = frozenset(f.name for f in fields(UsageRecord) if f.type in ("str", "str | None"))


def stored(name: str, value: object) -> object:
    """A field's value as the ledger stores it: a NUL character in text (which PostgreSQL's
    text cannot hold: a client's request could name a model ``"x\u0000y"``, and the batch
    holding its record would fail again at every retry, the ledger writing nothing more) as
    U+FFFD, the replacement character; an int in a float field as a float."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    if name in FLOAT_FIELDS and isinstance(value, int):
        return float(value)
    return value


def stored_column(name: str, values: list[Any]) -> list[Any]:
    """One field's values as ``stored`` gives them, looked at only where the field's type can
    need it (a text or a float field): the write path calls this once per column of a batch,
    not once per field of every record."""
    if name in FLOAT_FIELDS:
        return [float(value) if isinstance(value, int) else value for value in values]
    if name in TEXT_FIELDS and "\x00" in "".join(v for v in values if isinstance(v, str)):
        return [stored(name, value) for value in values]
    return values


def row_to_record(row: Mapping[Any, Any]) -> UsageRecord:
    return UsageRecord(**{name: row[name] for name in FIELD_NAMES})
