from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import MetaData, Table
from tests.governance.factories import config, model
from tests.ledger.factory import make_record, make_records

from stellwerk.config.schema import ModelConfig, Price
from stellwerk.errors import InvalidRequest
from stellwerk.governance.report import parse_by, render, usage_report
from stellwerk.ledger import migrate
from stellwerk.ledger.engine import build_engine
from stellwerk.ledger.ledger import Ledger, open_ledger
from stellwerk.ledger.partitions import ensure_partitions, month_of, with_next
from stellwerk.ledger.record import UsageRecord
from stellwerk.ledger.rows import record_to_row

CFG = config(
    models=[
        model("mistral-3b", params_b=3, price={"input_per_mtok": 0.1, "output_per_mtok": 0.3}),
        model("mistral-8b", params_b=8, price={"input_per_mtok": 0.4, "output_per_mtok": 1.2}),
        model("apertus-8b", params_b=8.5, price={"input_per_mtok": 0.5, "output_per_mtok": 1.5}),
        model("apertus-70b", params_b=70, lifecycle="in_review"),
    ]
)
MODELS = {m.id: m for m in CFG.models}
# key-1 may use apertus-8b at most, key-2 mistral-8b; the other keys are unknown (no reference)
REFERENCES = {"key-1": MODELS["apertus-8b"], "key-2": MODELS["mistral-8b"], "key-3": None}
KEY_USE_CASES = {"key-1": "contracts", "key-2": "contracts", "key-3": "helpdesk"}


@pytest.fixture
def filled(ledger: Ledger) -> Ledger:
    records = make_records(400)  # 2026-11-01 .. about 2026-11-11, four departments
    ledger.insert_usage(records)
    october = [
        replace(r, request_id="oct-" + r.request_id, time=r.time.replace(month=10))
        for r in records[:10]
    ]
    ledger.insert_usage(october)
    return ledger


@pytest.mark.parametrize("by", ["department", "model", "use-case"])
def test_totals_equal_the_sum_of_the_records(filled: Ledger, by: str) -> None:
    report = usage_report(
        filled, month="2026-11", by=parse_by(by), references=REFERENCES, key_use_cases=KEY_USE_CASES
    )
    records = filled.recent_usage(limit=10_000)
    november = [r for r in records if r.time.month == 11]
    assert report.total.requests == len(november) == 400
    assert report.total.prompt_tokens == sum(r.prompt_tokens for r in november)
    assert report.total.completion_tokens == sum(r.completion_tokens for r in november)
    assert report.total.cost == sum(r.cost for r in november)  # exact
    assert report.total.energy_wh == pytest.approx(sum(r.energy_wh for r in november))
    assert sum(r.requests for r in report.rows) == report.total.requests
    assert sum(r.cost for r in report.rows) == report.total.cost


def test_only_routed_requests_save_each_against_its_keys_reference(filled: Ledger) -> None:
    report = usage_report(
        filled, month="2026-11", by="model", references=REFERENCES, key_use_cases=KEY_USE_CASES
    )
    assert report.baseline_models == ("apertus-8b", "mistral-8b")
    november = [r for r in filled.recent_usage(limit=10_000) if r.time.month == 11]
    prices = {"key-1": (Decimal("0.5"), Decimal("1.5")), "key-2": (Decimal("0.4"), Decimal("1.2"))}
    compared = {
        key: [
            r
            for r in november
            if r.key_id == key and r.requested_model.startswith("auto") and r.model is not None
        ]
        for key in prices
    }
    assert all(compared.values())
    rest = sum(r.cost_micro for r in november if not any(r in c for c in compared.values()))
    routed = sum(  # micro-units, rounded up once per reference model
        math.ceil(sum(r.prompt_tokens * p + r.completion_tokens * c for r in compared[key]))
        for key, (p, c) in prices.items()
    )
    expected = Decimal(rest + routed) / 1_000_000
    assert report.total.baseline_cost == expected
    assert report.total.savings == expected - report.total.cost


def test_by_use_case_groups_keys_and_leaves_the_rest_unbound(filled: Ledger) -> None:
    report = usage_report(
        filled, month="2026-11", by="use-case", references=REFERENCES, key_use_cases=KEY_USE_CASES
    )
    november = [r for r in filled.recent_usage(limit=10_000) if r.time.month == 11]
    groups = {r.group: r.requests for r in report.rows}
    assert groups["contracts"] == sum(1 for r in november if r.key_id in ("key-1", "key-2"))
    assert groups["helpdesk"] == sum(1 for r in november if r.key_id == "key-3")
    assert groups["(none)"] == sum(1 for r in november if r.key_id not in KEY_USE_CASES)


def test_one_department_sees_only_itself(filled: Ledger) -> None:
    report = usage_report(
        filled,
        month="2026-11",
        by="department",
        references=REFERENCES,
        key_use_cases={},
        department="legal",
    )
    assert [r.group for r in report.rows] == ["legal"]


def test_formats(filled: Ledger) -> None:
    report = usage_report(
        filled, month="2026-11", by="department", references=REFERENCES, key_use_cases={}
    )
    table = render(report, "table")
    assert "on the largest model their key may use as of " in table
    assert "(today's references): apertus-8b, mistral-8b\n" in table
    assert table.splitlines()[-1].startswith("(total)")
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert rows[-1]["department"] == "(total)"
    assert int(rows[-1]["requests"]) == 400
    data = json.loads(render(report, "json"))
    assert data["total"]["requests"] == 400
    assert {r["group"] for r in data["rows"]} == {"finance", "legal", "research", "hr"}


def test_refused_and_failed_requests_are_counted_apart(ledger: Ledger) -> None:
    """A request refused for what it asked (a 4xx) is the client's side, a failed one (a 5xx) the
    backend's: every format of the report says how many of each, as the dashboard does, and the
    columns a report had keep their place (the new ones come last)."""
    statuses = {"legal": (200, 400, 403, 429, 502), "hr": (200, 200, 500, 504, 504)}
    ledger.insert_usage(
        [
            make_record(i, prefix=department, department=department, status=status)
            for department, codes in statuses.items()
            for i, status in enumerate(codes)
        ]
    )
    report = usage_report(
        ledger, month="2026-11", by="department", references=REFERENCES, key_use_cases={}
    )
    wanted = {"legal": (5, 3, 1), "hr": (5, 0, 3), "(total)": (10, 3, 4)}
    data = json.loads(render(report, "json"))
    got = {r["group"]: (r["requests"], r["refused"], r["failed"]) for r in data["rows"]}
    total = data["total"]
    assert {**got, "(total)": (total["requests"], total["refused"], total["failed"])} == wanted
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert list(rows[0])[-5:] == ["savings", "refused", "failed", "compared_today", "month"]
    counted = ("requests", "refused", "failed")
    assert {r["department"]: tuple(int(r[c]) for c in counted) for r in rows} == wanted
    table = render(report, "table").splitlines()
    assert table[1].split()[-3:] == ["refused", "failed", "compared_today"]
    assert table[-1].split()[0] == "(total)" and table[-1].split()[-3:-1] == ["3", "4"]


def test_a_use_case_allowed_one_model_saves_nothing_in_every_format(ledger: Ledger) -> None:
    """The ledger rounds each request's cost up to a micro-unit, the baseline is priced once per
    row: a key whose only model is its reference must read savings 0, not -0.000001 (as the
    dashboard counts it); a real loss beyond that rounding still reads as a loss."""
    # mistral-3b: 15 * 0.1 + 3 * 0.3 = 2.4 micro-units a request, charged 3
    legal = [  # key-1, on its reference, five routed requests: charged 15, priced 12
        make_record(i, prefix="legal", department="legal", key_id="key-1", model="mistral-3b",
                    requested_model="auto", status=200, prompt_tokens=15, completion_tokens=3,
                    cost_micro=3)
        for i in range(5)
    ]  # fmt: skip
    hr = [  # key-2 routed to a dearer model than its reference: a loss of 100 - 3 = 97
        make_record(9, prefix="hr", department="hr", key_id="key-2", model="mistral-8b",
                    requested_model="auto", status=200, prompt_tokens=15, completion_tokens=3,
                    cost_micro=100)
    ]  # fmt: skip
    ledger.insert_usage(legal + hr)
    references = {"key-1": MODELS["mistral-3b"], "key-2": MODELS["mistral-3b"]}
    report = usage_report(
        ledger, month="2026-11", by="department", references=references, key_use_cases={}
    )
    data = json.loads(render(report, "json"))
    rows = {r["group"]: r for r in data["rows"]}
    assert (rows["legal"]["cost"], rows["legal"]["baseline_cost"]) == ("0.000015", "0.000015")
    assert rows["legal"]["savings"] == "0.000000"
    assert rows["hr"]["savings"] == "-0.000097"  # not rounding: a loss, shown as one
    table = {line.split()[0]: line.split() for line in render(report, "table").splitlines()}
    assert table["legal"][7] == "0.000000" and table["hr"][7] == "-0.000097"
    csv_rows = {r["department"]: r for r in csv.DictReader(io.StringIO(render(report, "csv")))}
    assert csv_rows["legal"]["savings"] == "0.000000"
    assert not any(r["savings"] == "-0.000001" for r in csv_rows.values())


def test_the_report_says_its_references_are_todays(ledger: Ledger) -> None:
    """A key's reference is the model it may use when the report is made: a closed month
    reported again after a model was retired is priced against today's reference, and the
    report says which it used and when it took it."""
    ledger.insert_usage(
        [make_record(1, key_id="key-1", requested_model="auto", model="mistral-3b", status=200)]
    )
    before = datetime.now(UTC).replace(microsecond=0)
    report = usage_report(
        ledger, month="2026-11", by="model", references=REFERENCES, key_use_cases={}
    )
    data = json.loads(render(report, "json"))
    assert data["baseline_models"] == ["apertus-8b"]
    taken = datetime.strptime(data["baseline_models_as_of"], "%Y-%m-%dT%H:%M:%SZ")
    assert before <= taken.replace(tzinfo=UTC) <= datetime.now(UTC)
    assert data["total"]["compared_today"] == 1  # its record keeps no reference
    title = render(report, "table").splitlines()[0]
    assert f"may use as of {taken:%Y-%m-%d %H:%M} UTC (today's references" in title
    assert title.endswith(": apertus-8b")


def test_bad_report_parameters(ledger: Ledger) -> None:
    with pytest.raises(InvalidRequest, match="cannot report usage by 'colour'"):
        parse_by("colour")
    with pytest.raises(InvalidRequest, match="not a month of the form YYYY-MM"):
        usage_report(ledger, month="2026-13", by="model", references=REFERENCES, key_use_cases={})
    with pytest.raises(InvalidRequest, match="out of the supported range, 0001-01 to 9999-11"):
        usage_report(ledger, month="9999-12", by="model", references=REFERENCES, key_use_cases={})


def _routed_on(key: str, index: int, **overrides: object) -> UsageRecord:
    facts: dict[str, object] = {
        "key_id": key, "department": "legal", "requested_model": "auto", "model": "mistral-3b",
        "status": 200, "prompt_tokens": 1000, "completion_tokens": 200,
    }  # fmt: skip
    return make_record(index, prefix=key, **{**facts, **overrides})


def test_a_recorded_reference_outlives_a_change_of_the_catalog(ledger: Ledger) -> None:
    """Requests served while key-1's reference was apertus-8b keep it: after the catalog
    changed (apertus-8b dearer, or key-1 now limited to mistral-8b), the month reads the same
    in every format, and says no request of it was compared with today's reference."""
    served = MODELS["apertus-8b"]
    records = [
        _routed_on(
            "key-1", i, cost_micro=160, reference_model=served.id,
            reference_cost_micro=served.price.cost_micro(1000, 200),
        )
        for i in range(4)
    ]  # fmt: skip
    ledger.insert_usage(records)

    def rendered(references: dict[str, ModelConfig | None]) -> tuple[str, dict[str, object]]:
        report = usage_report(
            ledger, month="2026-11", by="department", references=references, key_use_cases={}
        )
        data = json.loads(render(report, "json"))
        del data["baseline_models_as_of"]
        return render(report, "csv"), data

    before = rendered(REFERENCES)
    dearer = served.model_copy(update={"price": Price(input_per_mtok=9, output_per_mtok=9)})
    for today in ({**REFERENCES, "key-1": dearer}, {**REFERENCES, "key-1": MODELS["mistral-8b"]}):
        assert rendered(today) == before
    data = before[1]
    total = data["total"]
    assert isinstance(total, dict)
    # apertus-8b: 1000 * 0.5 + 200 * 1.5 = 800 micro-units a request, as recorded
    assert (total["cost"], total["baseline_cost"], total["savings"]) == (
        "0.000640",
        "0.003200",
        "0.002560",
    )
    assert total["compared_today"] == 0
    assert data["baseline_models"] == ["apertus-8b"]


def test_records_without_a_reference_are_compared_with_todays_and_counted(
    ledger: Ledger,
) -> None:
    """Records written before the ledger kept a reference (null) are priced with their key's
    reference today, next to the recorded ones; each row says how many they are."""
    recorded = [
        _routed_on("key-1", i, cost_micro=160, reference_model="apertus-8b",
                   reference_cost_micro=800)
        for i in range(3)
    ]  # fmt: skip
    older = [_routed_on("key-2", 10 + i, cost_micro=160) for i in range(2)]
    named = [_routed_on("key-2", 20, cost_micro=160, requested_model="mistral-3b")]
    ledger.insert_usage(recorded + older + named)
    report = usage_report(
        ledger, month="2026-11", by="department", references=REFERENCES, key_use_cases={}
    )
    # key-2's reference today is mistral-8b: 1000 * 0.4 + 200 * 1.2 = 640 a request
    assert report.total.baseline_cost_micro == 3 * 800 + 2 * 640 + 160
    assert report.total.compared_today == 2  # the named request is not compared at all
    assert report.baseline_models == ("apertus-8b", "mistral-8b")
    assert report.today_models == ("mistral-8b",)
    assert report.recorded_models == ("apertus-8b",)
    assert json.loads(render(report, "json"))["baseline_models_today"] == ["mistral-8b"]
    title = render(report, "table").splitlines()[0]  # which are recorded, which today's
    assert "its key might use then): apertus-8b; compared_today:" in title
    assert title.endswith("(today's references): mistral-8b")
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert [(r["department"], r["compared_today"]) for r in rows] == [
        ("legal", "2"),
        ("(total)", "2"),
    ]


def test_records_of_a_ledger_from_before_references_are_reported_with_todays(
    any_db_url: str,
) -> None:
    """A ledger at 1000_usage_refused, upgraded: its routed records keep no reference (null)
    and are compared with today's, counted as such; one written after keeps its own."""
    engine = build_engine(any_db_url)
    migrate.upgrade(engine, "1000_usage_refused")
    old = [_routed_on("key-2", i, cost_micro=160) for i in range(3)]
    table = Table("usage", MetaData(), autoload_with=engine)
    assert "reference_model" not in table.c
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            ensure_partitions(connection, with_next(month_of(r.time) for r in old))
        connection.execute(
            table.insert(),
            [{k: v for k, v in record_to_row(r).items() if k in table.c} for r in old],
        )
    engine.dispose()
    ledger = open_ledger(any_db_url)
    try:
        new = _routed_on("key-2", 9, cost_micro=160, reference_model="apertus-8b",
                         reference_cost_micro=800)  # fmt: skip
        ledger.insert_usage([new])
        stored = {r.request_id: r.reference_model for r in ledger.recent_usage(limit=10)}
        assert stored == {**{r.request_id: None for r in old}, new.request_id: "apertus-8b"}
        report = usage_report(
            ledger, month="2026-11", by="model", references=REFERENCES, key_use_cases={}
        )
    finally:
        ledger.close()
    assert report.total.compared_today == 3
    assert report.total.baseline_cost_micro == 3 * 640 + 800  # mistral-8b today, as recorded
    assert report.baseline_models == ("apertus-8b", "mistral-8b")


def test_a_record_without_a_reference_of_a_key_that_has_none_today_is_not_compared(
    ledger: Ledger,
) -> None:
    """key-3 may use no model today: its routed record that keeps no reference is not compared
    with anything, and so not counted as compared with today's reference (the dashboard says the
    same of it); it was counted (walk15 LOW-2)."""
    ledger.insert_usage([_routed_on("key-3", 1, cost_micro=160)])
    report = usage_report(
        ledger, month="2026-11", by="department", references=REFERENCES, key_use_cases={}
    )
    assert report.total.compared_today == 0
    assert report.today_models == ()
    assert report.total.baseline_cost_micro == 160  # at its own cost: no saving


def test_a_reference_both_recorded_and_todays_is_named_in_both(ledger: Ledger) -> None:
    """key-2's reference today is mistral-8b, which its newer records keep too: the title named
    no recorded reference ("(none)") when the two were the same model."""
    ledger.insert_usage(
        [
            _routed_on("key-2", 1, cost_micro=160, reference_model="mistral-8b",
                       reference_cost_micro=640),
            _routed_on("key-2", 2, cost_micro=160),
        ]
    )  # fmt: skip
    report = usage_report(
        ledger, month="2026-11", by="department", references=REFERENCES, key_use_cases={}
    )
    title = render(report, "table").splitlines()[0]
    assert "its key might use then): mistral-8b; compared_today:" in title
    assert title.endswith("(today's references): mistral-8b")


def test_a_department_named_total_is_told_from_the_sum_in_every_format(ledger: Ledger) -> None:
    """walk27 F19: a department may be named ``total``; the sum's row must still be the one row
    a script or a spreadsheet can pick out (``(total)``, which no name can be)."""
    ledger.insert_usage(
        [
            make_record(i, prefix=d, department=d, status=200)
            for d in ("total", "hr")
            for i in range(3)
        ]
    )
    report = usage_report(
        ledger, month="2026-11", by="department", references=REFERENCES, key_use_cases={}
    )
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    named = {r["department"]: int(r["requests"]) for r in rows}
    assert len(rows) == len(named) == 3  # one row each: total (the department), hr, the sum
    assert named == {"total": 3, "hr": 3, "(total)": 6}
    assert rows[-1]["department"] == "(total)"
    table = render(report, "table").splitlines()
    assert [line.split()[0] for line in table[2:]] == [r["department"] for r in rows[:-1]] + [
        "-" * len("department"),
        "(total)",
    ]
    data = json.loads(render(report, "json"))
    assert data["total"]["group"] == "(total)" and data["total"]["requests"] == 6


def test_by_key_in_every_format_names_keys_by_id_and_the_csv_its_month(filled: Ledger) -> None:
    """walk27 F21: chargeback per key outside the dashboard; each CSV row names its month, so two
    months' exports put in one file are still told apart."""
    november = [r for r in filled.recent_usage(limit=10_000) if r.time.month == 11]
    exports = []
    for month in ("2026-10", "2026-11"):
        report = usage_report(
            filled, month=month, by=parse_by("key"), references=REFERENCES, key_use_cases={}
        )
        exports.append(render(report, "csv"))
        if month == "2026-11":
            data = json.loads(render(report, "json"))
            table = render(report, "table")
    keys = {r.key_id for r in november}
    got = {r["group"]: r["requests"] for r in data["rows"]}
    assert got == {k: sum(1 for r in november if r.key_id == k) for k in keys}
    assert data["by"] == "key" and data["total"]["requests"] == 400
    assert table.splitlines()[1].split()[0] == "key"
    together = exports[0] + "".join(exports[1].splitlines(keepends=True)[1:])
    rows = list(csv.DictReader(io.StringIO(together)))
    assert list(rows[0])[:1] + list(rows[0])[-1:] == ["key", "month"]
    sums = {(r["month"], r["key"]): int(r["requests"]) for r in rows}
    assert sums[("2026-10", "(total)")] == 10 and sums[("2026-11", "(total)")] == 400
    assert {m for m, k in sums if k in keys} == {"2026-10", "2026-11"}
    assert sum(n for (m, k), n in sums.items() if m == "2026-11" and k != "(total)") == 400
