"""Both languages label everything; numbers are written the way each language writes them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from string import Formatter as Formatter_
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest

from stellwerk.config import parse_config
from stellwerk.dashboard.audit_details import VALUE_LABELS, audit_details
from stellwerk.dashboard.formats import DASH, Formatter, Language
from stellwerk.dashboard.i18n import LANGUAGES, Labels, choose, counted, label_keys, labels
from stellwerk.dashboard.knowledge import BASES
from stellwerk.dashboard.months import OFFERED, offered
from stellwerk.errors import ConfigError
from stellwerk.ledger.audit import AuditEntry
from stellwerk.routing.adapt import NOT_PROMOTED, Adaptation, Comparison, DepartmentGain


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_label_exists_in_every_language(language: Language) -> None:
    table = labels(language)
    assert set(table) == label_keys()
    assert all(table[name].strip() for name in table)


def test_no_label_is_shadowed_by_an_attribute_of_the_labels() -> None:
    """A template reads ``t.keys``: on a dict that was its ``keys`` method, printed as
    ``<built-in method keys of dict object at 0x7f...>``."""
    public = {name for name in dir(Labels) if not name.startswith("__")}
    assert not public & label_keys()
    assert labels("de")["keys"] == "Schlüssel"


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
        ("en", "de", "en"),
        (None, "de-DE,de;q=0.9,en;q=0.8", "de"),
        (None, "fr-FR,en;q=0.5", "en"),
        ("xx", None, "en"),
        (None, None, "en"),
        # q=0: not acceptable, however early it comes
        (None, "de;q=0, en", "en"),
        (None, "de;q=0,en;q=0.1", "en"),
        (None, "en;q=0, de", "de"),
        (None, "en;q=0,de;q=0.1", "de"),
        (None, "de;q=0", "en"),  # nothing acceptable: English
        (None, "en;q=0, de;q=0", "en"),
        # the higher weight, wherever it stands
        (None, "en;q=0.5, de;q=0.9", "de"),
        (None, "de;q=0.5, en;q=0.9", "en"),
        (None, "fr, de;q=0.1", "de"),
        (None, "fr, en;q=0.1", "en"),
        (None, "fr, de;q=0.1, en;q=0.2", "en"),
        # equal weights: the one named first
        (None, "de, en", "de"),
        (None, "en, de", "en"),
        (None, "de;q=0.8, en;q=0.8", "de"),
        # the wildcard: any language not named
        (None, "*", "en"),
        (None, "en;q=0, *", "de"),
        (None, "de;q=0, *", "en"),
        (None, "*;q=0.5, de", "de"),
        (None, "*, en;q=0.1", "de"),
        # regional ranges count for their language; the language's own range decides first
        (None, "de-CH", "de"),
        (None, "de-AT;q=0.9, en-GB;q=0.95", "en"),
        (None, "de-DE, de;q=0", "en"),
        # case and spaces do not matter; a malformed weight drops its range
        (None, " DE ; Q=0.7 , En;q=0.3", "de"),
        (None, "de;q=2, en;q=0.1", "en"),
        (None, "de;q=x, en;q=0.1", "en"),
        (None, "de;q=0.1234, en;q=0.1", "en"),
        (None, "", "en"),
        (None, ",;q=1,", "en"),
    ],
)
def test_language_choice(cookie: str | None, accept: str | None, expected: str) -> None:
    assert choose(cookie, accept) == expected


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter_().parse(text) if name}


def test_every_count_has_a_form_for_one_with_the_same_figures() -> None:
    """A label with ``{n}`` is a count: ``counted`` reads ``<name>_one`` for 1, so every count
    has one (and every ``_one`` a count), in both languages, with the same placeholders."""
    keys = label_keys()
    counts = {k for k in keys if "{n}" in labels("en")[k] and not k.endswith("_one")}
    assert {"n_requests", "n_failed", "n_prompts", "savings_compared"} <= counts
    assert {k for k in keys if k.endswith("_one")} == {f"{k}_one" for k in counts}
    for language in LANGUAGES:
        table = labels(language)
        for name in counts:
            assert _placeholders(table[name]) == _placeholders(table[f"{name}_one"]), name
            assert "n" in _placeholders(table[name]), name


def test_the_templates_write_counts_only_through_the_one_helper() -> None:
    """A template formatting ``{n}`` itself would choose no form (``1 requests``)."""
    templates = Path(__file__).parents[2] / "src" / "stellwerk" / "dashboard" / "templates"
    for template in templates.glob("*.html"):
        assert "format(n=" not in template.read_text(encoding="utf-8"), template.name
        assert "_one" not in template.read_text(encoding="utf-8"), template.name


@pytest.mark.parametrize(
    ("language", "name", "n", "values", "expected"),
    [
        ("en", "n_requests", 0, {}, "0 requests"),
        ("en", "n_requests", 1, {}, "1 request"),
        ("en", "n_requests", 2, {}, "2 requests"),
        ("en", "n_requests", 1001, {}, "1,001 requests"),
        ("de", "n_requests", 0, {}, "0 Anfragen"),
        ("de", "n_requests", 1, {}, "1 Anfrage"),
        ("de", "n_requests", 1001, {}, "1.001 Anfragen"),
        ("en", "n_failed", 1, {}, "1 failed"),
        ("de", "n_failed", 1, {}, "1 fehlgeschlagen"),
        ("en", "n_prompts", 1, {}, "1 prompt"),
        ("de", "n_prompts", 1, {}, "1 Prompt"),
        ("en", "n_tokens_per_minute", 1, {}, "1 token per minute"),
        ("de", "n_tokens_per_minute", 1, {}, "1 Token pro Minute"),
        ("en", "n_requests_per_minute", 2, {}, "2 requests per minute"),
        ("de", "n_requests_per_minute", 1, {}, "1 Anfrage pro Minute"),
        # the form agrees with the total
        ("en", "savings_compared", 1, {"compared": "1"}, "1 of 1 routed request compared"),
        ("en", "savings_compared", 3, {"compared": "1"}, "1 of 3 routed requests compared"),
        ("de", "savings_compared", 1, {"compared": "0"}, "0 von 1 gerouteten Anfrage verglichen"),
    ],
)
def test_a_count_of_one_is_singular(
    language: Language, name: str, n: int, values: dict[str, str], expected: str
) -> None:
    assert counted(labels(language), Formatter(language), name, n, **values) == expected


def test_numbers_and_times_per_language() -> None:
    """A number and its unit are joined by a no-break space (U+00A0): a browser never puts the
    unit on a line of its own."""
    en, de = Formatter("en"), Formatter("de")
    assert en.number(1234567.891, 2) == "1,234,567.89"
    assert de.number(1234567.891, 2) == "1.234.567,89"
    assert de.compact(2_500_000) == "2,5\u00a0Mio."
    assert en.percent(0.256) == "26\u00a0%"
    assert de.energy(1500) == "1,50\u00a0kWh"
    assert en.ms(12_500) == "12.5\u00a0s"
    assert de.ms(12) == "12\u00a0ms"
    # a tiny model's requests use thousandths of a watt-hour: two significant digits, not 0.00
    assert en.energy(0.3) == "0.30\u00a0Wh"
    assert en.energy(0.0031) == "0.0031\u00a0Wh"
    assert de.energy(0.047) == "0,047\u00a0Wh"
    assert en.energy(0.0) == "0.00\u00a0Wh"
    assert en.energy(1e-9) == "0.000000\u00a0Wh"
    utc = ZoneInfo("UTC")
    moment = datetime(2026, 11, 25, 9, 5, tzinfo=UTC)
    assert Formatter("de", zone=utc).when(moment) == "25.11.2026 09:05 UTC"
    assert Formatter("en", zone=utc).when(moment) == "2026-11-25 09:05 UTC"


def test_the_month_picker_names_the_months_in_the_page_language() -> None:
    """The header's months are the server's text (a browser shows ``<input type="month">`` in its
    own locale): the current month and the ones before it, newest first."""
    assert Formatter("en").month("2026-03") == "March 2026"
    assert Formatter("de").month("2026-03") == "März 2026"
    assert Formatter("de").month("2026-12") == "Dezember 2026"
    months = offered("2026-12", today=date(2026, 12, 6))
    assert months[:3] == ["2026-12", "2026-11", "2026-10"] and len(months) == OFFERED
    assert months[-1] == "2024-01"
    # a month asked for by its URL, further back or ahead, is offered too, in its place
    assert offered("2019-05", today=date(2026, 12, 6))[-1] == "2019-05"
    assert offered("2027-02", today=date(2026, 12, 6))[:2] == ["2027-02", "2026-12"]


@pytest.mark.parametrize(
    ("value", "en", "de"),
    [
        (0.0005, "€0.0005", "0,0005\u00a0€"),
        (Decimal("0.0005"), "€0.0005", "0,0005\u00a0€"),
        (Decimal("0.000123"), "€0.00012", "0,00012\u00a0€"),
        (0.25, "€0.25", "0,25\u00a0€"),
        (0, "€0.00", "0,00\u00a0€"),
        (12.5, "€12.50", "12,50\u00a0€"),
        (Decimal("1234.5"), "€1,234.50", "1.234,50\u00a0€"),
        (3, "€3.00", "3,00\u00a0€"),
        (1e-9, "<\u00a0€0.000001", "<\u00a00,000001\u00a0€"),
        (None, DASH, DASH),
    ],
)
def test_money_shows_its_currency_and_small_amounts(
    value: float | Decimal | None, en: str, de: str
) -> None:
    """A budget of 0.0005 read "0.00"; floats and Decimals are written alike."""
    assert Formatter("en").money(value) == en
    assert Formatter("de").money(value) == de


def test_a_currency_without_a_symbol_is_written_as_its_code() -> None:
    assert Formatter("en", currency="CHF").money(2) == "CHF\u00a02.00"
    assert Formatter("de", currency="CHF").money(2) == "2,00\u00a0CHF"


def test_times_are_shown_in_the_configured_zone_with_its_abbreviation() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    winter = datetime(2026, 11, 25, 9, 5, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 9, 5, tzinfo=UTC)
    assert Formatter("de", zone=berlin).when(winter) == "25.11.2026 10:05 CET"
    assert Formatter("en", zone=berlin).when(summer) == "2026-07-01 11:05 CEST"
    assert Formatter("en", zone=berlin).zone_name() == "Europe/Berlin"


BASE = {
    "backends": [{"name": "b", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
    "models": [{"id": "m", "backend": "b", "upstream": "m", "params_b": 1, "size_class": "small"}],
}


def test_currency_and_time_zone_are_settings_checked_at_load() -> None:
    config = parse_config(
        {**BASE, "governance": {"currency": "CHF"}, "dashboard": {"timezone": "Europe/Zurich"}}
    )
    assert config.governance.currency == "CHF" and config.dashboard.timezone == "Europe/Zurich"
    assert parse_config(BASE).governance.currency == "EUR"
    assert parse_config(BASE).dashboard.timezone is None
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        parse_config({**BASE, "dashboard": {"timezone": "Mars/Olympus"}})
    with pytest.raises(ConfigError, match="currency"):
        parse_config({**BASE, "governance": {"currency": "euro"}})


def _entry(details: dict[str, Any], action: str = "model.lifecycle") -> AuditEntry:
    return AuditEntry(
        1, datetime(2026, 12, 6, tzinfo=UTC), "cli:test", action, "model", "m", details
    )


def test_audit_details_are_in_the_page_language() -> None:
    change = {"from": "approved", "to": "deprecated", "reason": "superseded", "version": 3}
    assert audit_details(_entry(change), labels("de"), Formatter("de")) == [
        "von freigegeben auf abgekündigt",
        "Begründung: superseded",
        "Version: 3",
    ]
    limits = {"from": {"monthly_budget": None}, "to": {"monthly_budget": 0.0005}, "reason": "x"}
    assert audit_details(_entry(limits), labels("de"), Formatter("de")) == [
        f"von {DASH} auf Monatsbudget=0,0005\u00a0€",
        "Begründung: x",
    ]
    cleared = {"from": {"requests_per_minute": 1}, "to": {"requests_per_minute": None}}
    unlimited_in: tuple[tuple[Language, str], ...] = (
        ("en", "to unlimited"),
        ("de", "auf unbegrenzt"),
    )
    for language, unlimited in unlimited_in:
        shown = audit_details(_entry(cleared, "limits.set"), labels(language), Formatter(language))
        assert shown[0].endswith(unlimited), shown  # a cleared limit is unlimited, not DASH


def test_a_move_reads_from_before_to_after_whatever_order_the_log_keeps() -> None:
    """PostgreSQL's jsonb keeps ``to`` before ``from``: the overview read "to: approved from:
    deprecated" (walk 15, LOW-12), the state after first."""
    moved = {"reason": "back", "to": "approved", "version": 4, "from": "deprecated"}
    said: dict[Language, list[str]] = {
        "en": ["reason: back", "from deprecated to approved", "version: 4"],
        "de": ["Begründung: back", "von abgekündigt auf freigegeben", "Version: 4"],
    }
    for language, lines in said.items():
        assert audit_details(_entry(moved), labels(language), Formatter(language)) == lines
    limits = {"to": {"requests_per_minute": 120}, "from": {"requests_per_minute": 5}}
    assert audit_details(_entry(limits, "limits.set"), labels("de"), Formatter("de")) == [
        "von Anfragen/Min.=5 auf Anfragen/Min.=120"
    ]
    key = {"department": "it", "role": "owner"}
    roles: tuple[tuple[Language, str], ...] = (
        ("en", "role: owner"),
        ("de", "Rolle: Verantwortliche"),
    )
    for language, role in roles:
        shown = audit_details(_entry(key, "key.create"), labels(language), Formatter(language))
        assert shown[1] == role  # as the keys table writes it, not as a column's title ("Owner")
    changes = {
        "changes": {
            "classification": {"from": "secret", "to": "public"},
            "allowed_models": {"from": None, "to": ["tiny-small", "tiny-medium"]},
        },
        "reason": "x",
    }
    said = {
        "en": ["classification: secret → public",
               "allowed models: any permitted model → tiny-small, tiny-medium", "reason: x"],
        "de": ["Schutzklasse: geheim → öffentlich",
               "zulässige Modelle: jedes zulässige Modell → tiny-small, tiny-medium",
               "Begründung: x"],
    }  # fmt: skip
    for language, lines in said.items():  # was "classification=from=secret, to=public"
        entry = _entry(changes, "use_case.update")
        assert audit_details(entry, labels(language), Formatter(language)) == lines
    seed = {"lifecycle": "in_review", "consent": True}
    assert audit_details(_entry(seed), labels("en"), Formatter("en")) == [
        "lifecycle: in review",
        "consent: yes",
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_word_an_audit_detail_translates_has_a_label(language: Language) -> None:
    t = labels(language)
    assert [label for label in VALUE_LABELS.values() if label not in t] == []


def test_every_detail_an_adaptation_run_writes_is_worded() -> None:
    """A ``router.adapt`` entry holds ``Adaptation.as_json`` (its comparison, the gain of each
    form and department) and the run's own figures (``learning.online.adapt_stored``): each name
    has a label, each reason a run can give is worded, in both languages."""
    comparison = Comparison(
        records=30,
        grades=70,
        current_score=0.5,
        candidate_score=0.52,
        standard_error=0.02,
        current_error=0.1,
        candidate_error=0.09,
        min_records=20,
        margin=2.0,
        departments={"legal": DepartmentGain(12, -0.05, 0.01)},
    )
    run = Adaptation(
        model=cast(Any, None),  # not part of what is audited
        promoted=False,
        comparison=comparison,
        records=40,
        k=8,
        tau=4.0,
        form="shared",
        gains={"shared": comparison},
        best_form="shared",
    )
    details = run.as_json() | {"compared_with": 0, "seed": 0, "newest_record": 99, "read": 44}
    details |= {"cost_weights": [0.1, 0.5, 2.0], "previous": 2, "version": 3}
    since = {"rollback": 2, "time": "2026-12-07T22:10:03+00:00", "after_record": 90}
    details |= {"records_since": since | {"left_out": 90}, "all_records": False}
    details |= {"dry_runs_before": 2}  # walk29: the dry runs since the version before
    keys = label_keys()
    scoped = [("router.adapt", n) for n in details]
    # a dry run (router adapt --dry-run) is audited with the same figures, without a version
    tried = {
        n: v for n, v in details.items() if n not in {"version", "previous", "dry_runs_before"}
    }
    scoped += [("router.adapt_dry_run", n) for n in tried]
    scoped += [("router.rollback", n) for n in ("reason", "rollback_to", "rolled_back")]
    assert {"action_router.adapt_dry_run", "action_router.rollback"} <= keys
    scoped += [("comparison", n) for n in details["comparison"]]
    scoped += [("records_since", n) for n in details["records_since"]]
    scoped += [("departments", n) for n in details["comparison"]["departments"]["legal"]]
    unlabelled = [n for s, n in scoped if not {f"detail_{s}.{n}", f"detail_{n}"} & keys]
    assert unlabelled == []
    shown = audit_details(_entry(details, "router.adapt"), labels("de"), Formatter("de"))
    assert "_" not in " ".join(shown), shown  # no key or code of the run shows
    assert details["comparison"]["worse_for"] == []
    dry = audit_details(_entry(tried, "router.adapt_dry_run"), labels("de"), Formatter("de"))
    assert "_" not in " ".join(dry), dry
    assert "würde übernommen: nein" in dry, dry  # a try, not a promotion
    assert "schlechter für=" not in " ".join(shown), shown  # an empty list is left out (walk 10)
    for reason in NOT_PROMOTED:
        each = _entry(details | {"reasons": [reason]}, "router.adapt")
        assert "_" not in " ".join(audit_details(each, labels("de"), Formatter("de")))
    # worded with the run's figures, as the router-learning page words them
    details["comparison"]["worse_for"] = ["legal"]
    worse = details | {"reasons": ["too_few_judged", "under_margin", "worse_for"]}
    german = audit_details(_entry(worse, "router.adapt"), labels("de"), Formatter("de"))
    assert german[1] == (
        "nicht übernommen, weil: zu wenige beurteilt (unter 20); Gewinn unter der Schwelle"
        " (nötig: über 0,040); routet schlechter für legal"
    )


def test_an_adaptation_after_a_rollback_says_when_it_was_in_the_pages_notation() -> None:
    """The window a run learned from names its rollback's moment as the page writes moments (not
    the log's ISO text), and the ``all_records`` switch only where a command asked for it (it was
    "every record ...: no" on every run)."""
    from datetime import UTC

    since = {"rollback": 2, "time": "2026-12-07T22:10:03+00:00", "after_record": 90}
    details = {"read": 44, "records_since": since | {"left_out": 90}, "all_records": False}
    german = " | ".join(
        audit_details(_entry(details, "router.adapt"), labels("de"), Formatter("de", zone=UTC))
    )
    assert "am=07.12.2026 22:10 UTC" in german, german
    assert "2026-12-07T" not in german and "alle Bewertungen" not in german, german
    every = {"read": 150, "records_since": None, "all_records": True}
    english = audit_details(_entry(every, "router.adapt"), labels("en"), Formatter("en", zone=UTC))
    assert "every record (the earlier ones included): yes" in english, english


def test_every_required_fact_and_openness_class_has_a_label() -> None:
    """The compliance widgets name missing facts, the model page its openness: in the page's
    language, never as the config's identifiers (``fehlt: licence``, ``open_weights``)."""
    from typing import get_args

    from stellwerk.config.base import ModelFact, Openness, UseCaseFact
    from stellwerk.dashboard.i18n import label_keys

    keys = label_keys()
    facts = {*get_args(ModelFact), *get_args(UseCaseFact)}
    assert {f"fact_{fact}" for fact in facts} <= keys
    assert set(get_args(Openness)) <= keys
    german = labels("de")
    assert german("fact_licence") == "Lizenz" and german("open_weights") == "offene Gewichte"


def test_no_refusal_label_stops_mid_sentence() -> None:
    """ "classification lowered below the key's" (walk 15, LOW-13) left out what it is below of;
    the German said it whole ("... unter die des Schlüssels gesenkt")."""
    for language in LANGUAGES:
        shown = labels(language)
        cut = [
            name
            for name in label_keys()
            if name.startswith("refusal_")
            and re.search(r"(?:'s|\b(?:the|a|of|des|der|die|den|zu))$", shown[name])
        ]
        assert cut == [], (language, cut)


def test_a_budget_changed_by_less_than_a_cent_reads_as_a_change_in_both_languages() -> None:
    """A budget holds six decimals: a change below a cent of a large one read "from X to X"
    with both rounded to cents (walk 20, F10)."""
    change = {
        "from": {"monthly_budget": "123456789012.345670"},
        "to": {"monthly_budget": "123456789012.345678"},
    }
    said: dict[Language, str] = {
        "en": "from monthly budget=€123,456,789,012.34567"
        " to monthly budget=€123,456,789,012.345678",
        "de": "von Monatsbudget=123.456.789.012,34567\u00a0€ auf"
        " Monatsbudget=123.456.789.012,345678\u00a0€",
    }
    for language, line in said.items():
        shown = audit_details(_entry(change, "limits.set"), labels(language), Formatter(language))
        assert shown[0] == line, shown


@pytest.mark.parametrize(
    ("language", "amount", "shown"),
    [
        ("en", Decimal("123456789012.345678"), "€123,456,789,012.345678"),
        ("de", Decimal("123456789012.345678"), "123.456.789.012,345678\u00a0€"),
        ("en", Decimal("300.000000"), "€300.00"),
        ("de", Decimal("12.5"), "12,50\u00a0€"),
        ("en", Decimal("0.000500"), "€0.0005"),
    ],
)
def test_an_amount_to_confirm_is_shown_to_the_micro_unit(
    language: Language, amount: Decimal, shown: str
) -> None:
    """What the budget confirmation asks ("Set the monthly budget of demo to ...?") is the
    amount typed, not one rounded to cents; whole amounts keep their two decimals."""
    assert Formatter(language).exact_money(amount) == shown
