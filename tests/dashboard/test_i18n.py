"""Both languages label everything; numbers are written the way each language writes them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stellwerk.dashboard.i18n import LANGUAGES, Formatter, choose, label_keys, labels
from stellwerk.dashboard.knowledge import BASES


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_label_exists_in_every_language(language: str) -> None:
    table = labels(language)  # type: ignore[arg-type]
    assert set(table) == label_keys()
    assert all(text.strip() for text in table.values())


def test_every_way_the_router_knows_a_model_has_a_label() -> None:
    assert {f"knows_{basis}" for basis in BASES} <= label_keys()


def test_german_labels_are_german() -> None:
    en, de = labels("en"), labels("de")
    assert de["overview"] == "Übersicht" and en["overview"] == "Overview"
    translated = [k for k in label_keys() if en[k] != de[k]]
    assert len(translated) > 0.85 * len(label_keys())


@pytest.mark.parametrize(
    ("cookie", "accept", "expected"),
    [
        ("de", "en-US,en", "de"),
        (None, "de-DE,de;q=0.9,en;q=0.8", "de"),
        (None, "fr-FR,en;q=0.5", "en"),
        ("xx", None, "en"),
        (None, None, "en"),
    ],
)
def test_language_choice(cookie: str | None, accept: str | None, expected: str) -> None:
    assert choose(cookie, accept) == expected


def test_numbers_and_times_per_language() -> None:
    en, de = Formatter("en"), Formatter("de")
    assert en.number(1234567.891, 2) == "1,234,567.89"
    assert de.number(1234567.891, 2) == "1.234.567,89"
    assert de.compact(2_500_000) == "2,5 Mio."
    assert en.percent(0.256) == "26 %"
    assert de.energy(1500) == "1,50 kWh"
    assert en.ms(12_500) == "12.5 s"
    moment = datetime(2026, 11, 25, 9, 5, tzinfo=UTC)
    assert de.when(moment) == "25.11.2026 09:05 UTC"
    assert en.when(moment) == "2026-11-25 09:05 UTC"
