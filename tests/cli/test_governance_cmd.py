"""The governance commands, run like a user would (Typer's runner) on a SQLite ledger."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict

import pytest
import yaml
from typer.testing import CliRunner

from stellwerk.calibration.records import CalibrationStore
from stellwerk.cli.main import build_app
from stellwerk.config import load_config
from stellwerk.config.loader import config_hash
from stellwerk.dashboard.overview import build_overview
from stellwerk.governance.service import Governance
from stellwerk.ledger.ledger import open_ledger
from stellwerk.ledger.window import Window
from stellwerk.routing.loader import load_router
from tests.governance.factories import model
from tests.ledger.factory import make_record, make_records
from tests.ledger.older import store_surrogate_entry


class Served(TypedDict):
    """The model that served a request, and its tokens."""

    model: str
    prompt_tokens: int
    completion_tokens: int


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    raw: dict[str, Any] = {
        "server": {"database_url": f"sqlite:///{tmp_path / 'ledger.db'}"},
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [model("mistral-3b"), model("mistral-8b", lifecycle="proposed", params_b=8)],
        "departments": [{"name": "legal"}, {"name": "finance"}],
        "use_cases": [{"name": "contracts", "department": "legal", "purpose": "review"}],
    }
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


def started(path: Path) -> None:
    """What a gateway's start on the config at ``path`` does to its ledger: seed the models and
    use cases it lacks, audit the config (the commands that only read write nothing)."""
    config = load_config(path)
    ledger = open_ledger(config.server.database_url)
    try:
        evaluated = CalibrationStore(ledger).evaluated
        Governance(ledger, config, evaluated=evaluated, config_hash=config_hash(config)).start()
    finally:
        ledger.close()


def test_keys_create_list_revoke_and_the_audit(config_path: Path) -> None:
    c = str(config_path)
    code, out, err = run(
        "keys", "create", "-c", c, "--department", "legal", "--use-case", "contracts"
    )
    assert code == 0, err
    key = out.strip()
    assert key.startswith("sk-stw-")
    assert "not shown again" in err
    key_id = err.split("key id ")[1].split()[0]
    code, out, _ = run("keys", "list", "-c", c)
    assert code == 0
    assert key_id in out and "contracts" in out and "active" in out
    assert key not in out
    assert run("keys", "revoke", "-c", c, key_id, "--reason", "leaver")[0] == 0
    assert "revoked" in run("keys", "list", "-c", c)[1]
    code, out, _ = run("audit", "-c", c)
    assert code == 0
    assert "key.revoke" in out and "key.create" in out
    # the config read, by its path (it was hard-coded "stellwerk.yaml")
    assert f"config.load       config:{config_path.resolve()}" in out
    # times say their zone: "2026-12-06 04:02:11 UTC  cli:..."
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC  ", x) for x in out.splitlines())
    assert key.removeprefix("sk-stw-") not in out


def test_keys_revoke_needs_a_reason_as_the_admin_api_does(config_path: Path) -> None:
    """Walk 15 (LOW-14): ``keys revoke`` without ``--reason`` revoked the key and audited "revoked
    with the CLI", where the admin API and the dashboard require a reason. Now it is a usage
    error naming the option, and the key stays active."""
    c = str(config_path)
    code, _, err = run("keys", "create", "-c", c, "--department", "legal")
    assert code == 0, err
    key_id = err.split("key id ")[1].split()[0]
    code, _, err = run("keys", "revoke", "-c", c, key_id)
    assert code == 2
    assert "Missing option '--reason'" in err
    listed = next(x for x in run("keys", "list", "-c", c)[1].splitlines() if key_id in x)
    assert "active" in listed
    assert "key.revoke" not in run("audit", "-c", c)[1]


def test_keys_list_shows_the_config_keys_beside_the_stored_ones(
    config_path: Path,
) -> None:
    """The dashboard lists the config's keys; ``keys list`` must too, marked by their source."""
    raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    raw["departments"][0]["keys"] = [
        {"id": "legal-app", "key_sha256": "a" * 64, "use_case": "contracts"},
        {"id": "legal-admin", "key_sha256": "b" * 64, "role": "admin"},
        {"id": "legal-metrics", "key_sha256": "d" * 64, "role": "metrics"},
    ]
    raw["departments"][1]["keys"] = [{"id": "finance-app", "key_sha256": "c" * 64}]
    config_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    c = str(config_path)
    code, _, err = run("keys", "create", "-c", c, "--department", "legal")
    assert code == 0, err
    key_id = err.split("key id ")[1].split()[0]
    code, out, err = run("keys", "list", "-c", c)
    assert code == 0, err
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["legal-app"] == [
        *("legal-app", "legal", "user", "contracts", "internal", "-", "config", "active")
    ]
    assert rows["legal-admin"][2] == "admin" and rows["legal-admin"][6:] == ["config", "active"]
    assert rows["finance-app"][6] == "config"
    assert rows[key_id][6:] == ["database", "active"]
    # every row's columns start under their titles, a metrics key's too (it was one to the right)
    header, *lines = out.splitlines()
    for title in ("use case", "class", "source"):
        at = header.index(title)
        assert {(line[at - 1], line[at] != " ") for line in lines} == {(" ", True)}, title
    assert rows["legal-metrics"][2:4] == ["metrics", "-"]
    code, out, _ = run("keys", "list", "-c", c, "--department", "finance")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["finance-app"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("keys", "create", "--department", "sales"), "unknown department 'sales'"),
        (("keys", "create", "--department", "legal", "--role", "root"), "unknown role 'root'"),
        (
            ("keys", "create", "--department", "finance", "--use-case", "contracts"),
            "belongs to department 'legal'",
        ),
        (("keys", "revoke", "key-nope", "--reason", "r"), "unknown key 'key-nope'"),
        (
            ("catalog", "set", "mistral-8b", "approved", "--reason", "r"),
            "illegal lifecycle transition proposed -> approved",
        ),
        (
            ("catalog", "set", "mistral-8b", "in_review", "--reason", " "),
            "give a reason: it goes into the audit log",
        ),
        (
            ("catalog", "set", "mistral-8b", "in_review", "--reason", "x" * 1001),
            "the reason is longer than 1000 characters",
        ),
        (
            ("keys", "list", "--department", "leg"),
            "unknown department 'leg'; known: finance, legal",
        ),
        (
            ("use-cases", "list", "--department", "nope"),
            "unknown department 'nope'; known: finance",
        ),
        (
            ("keys", "list", "--department", "Legal"),
            "unknown department 'Legal' (department names are case-sensitive: 'legal' is one);"
            " known: finance, legal",
        ),
        (("report", "usage", "--month", "2026-13"), "not a month"),
        # blanks and other scripts' digits were read as December (walk 19, B1)
        (("report", "usage", "--month", " 2026-12"), "month ' 2026-12' is not a month of"),
        (("report", "usage", "--month", "2026-12 "), "(the digits 0 to 9, no spaces)"),
        (("report", "usage", "--month", "\uff12\uff10\uff12\uff16-12"), "is not a month of"),
        (("report", "usage", "--month", "\u0662\u0660\u0662\u0666-\u0661\u0662"), "not a month"),
        (("report", "usage", "--month", "2026-11", "--by", "colour"), "cannot report usage by"),
        (("report", "usage", "--month", "2026-11", "--format", "xml"), "unknown format 'xml'"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(
    config_path: Path, args: tuple[str, ...], message: str
) -> None:
    code, out, err = run(*args[:2], "-c", str(config_path), *args[2:])
    assert (code, out) == (2, "")
    assert message in err


@pytest.mark.parametrize("since", [" 2026-12-01", "2026-12-01 "])
def test_a_time_with_blanks_around_it_is_refused(config_path: Path, since: str) -> None:
    """``--since``/``--until`` are read as strictly as a month (walk 19, B1): no blanks around."""
    code, out, err = run("audit", "-c", str(config_path), "--since", since)
    assert (code, out) == (2, "")
    assert f"since {since!r} is not an ISO 8601 date or time" in err


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (("report", "usage"), ("--month", "2026-11", "--format", "json")),
        (("report", "usage"), ("--month", "2026-11", "--format", "csv")),
        (("report", "usage"), ("--month", "2026-11")),
        (("audit",), ("--format", "json")),
        (("audit",), ("--format", "jsonl")),
        (("limits", "show"), ("--format", "json")),
    ],
)
def test_every_output_ends_with_a_newline(
    config_path: Path, command: tuple[str, ...], options: tuple[str, ...]
) -> None:
    """``report usage --format json`` ended at its ``}``: the next prompt was glued to it."""
    started(config_path)  # an audit log with entries
    code, out, err = run(*command, "-c", str(config_path), *options)
    assert code == 0, err
    assert out.endswith("\n") and not out.endswith("\n\n")


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("  ", "give a reason: it goes into the audit log"),
        ("x" * 1001, "longer than 1000"),
        # a byte that is not UTF-8 on the command line (kept as a lone surrogate)
        ("left \udcff", "the reason is not valid Unicode: a lone surrogate (\\udcff)"),
        ("left\u2028today", "the reason contains the separator U+2028 (LINE SEPARATOR)"),
        ("left\u00adtoday", "the reason contains the invisible character U+00AD (SOFT HYPHEN)"),
    ],
)
def test_a_key_is_revoked_only_with_a_reason(config_path: Path, reason: str, message: str) -> None:
    c = str(config_path)
    code, _, err = run("keys", "create", "-c", c, "--department", "legal")
    assert code == 0, err
    key_id = err.split("key id ")[1].split()[0]
    code, _, err = run("keys", "revoke", "-c", c, key_id, "--reason", reason)
    assert code == 2
    assert message in err
    line = next(x for x in run("keys", "list", "-c", c)[1].splitlines() if key_id in x)
    assert line.endswith("active")
    assert "key.revoke" not in run("audit", "-c", c)[1]


def test_audit_shows_an_older_entry_with_a_lone_surrogate_escaped(config_path: Path) -> None:
    """An entry an older version stored with a lone surrogate (SQLite took it) is listed with
    the character escaped, not a traceback."""
    c = str(config_path)
    assert run("audit", "-c", c)[0] == 0  # the ledger is made and migrated
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    store_surrogate_entry(config["server"]["database_url"])
    code, out, err = run("audit", "-c", c, "--action", "key.create")
    assert code == 0, err
    assert '"reason":"before \\\\ud800 after"' in out


def test_catalog_walk_through(config_path: Path) -> None:
    c = str(config_path)
    assert run("catalog", "set", "-c", c, "mistral-8b", "in_review", "--reason", "eval")[0] == 0
    code, out, _ = run("catalog", "set", "-c", c, "mistral-8b", "approved", "--reason", "ok")
    assert (code, out.strip()) == (0, "mistral-8b: approved (version 3)")
    code, out, _ = run("catalog", "list", "-c", c)
    line = next(x for x in out.splitlines() if x.startswith("mistral-8b"))
    assert "approved" in line


def test_catalog_list_shows_consent_only_for_a_model_with_a_data_owner(tmp_path: Path) -> None:
    """A model without a data owner has no consent to manage: "—", not "granted" (the admin
    API's ``null``); a consent withdrawn before the config dropped the data owner still refuses
    the model, and is shown so, until granting lifts it (the only consent change left)."""
    raw: dict[str, Any] = {
        "server": {"database_url": f"sqlite:///{tmp_path / 'ledger.db'}"},
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [model("owned-3b", data_owner="legal"), model("plain-3b")],
        "departments": [{"name": "legal"}],
    }
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")

    def consent() -> dict[str, str]:
        code, out, err = run("catalog", "list", "-c", str(path))
        assert code == 0, err
        return {x.split()[0]: x.split()[2] for x in out.splitlines()[1:]}

    assert consent() == {"owned-3b": "granted", "plain-3b": "\u2014"}
    code, _, err = run(
        "catalog", "consent", "-c", str(path), "owned-3b", "withdraw", "--reason", "r"
    )
    assert code == 0, err
    assert consent() == {"owned-3b": "withdrawn", "plain-3b": "\u2014"}
    # the config drops its data owner: the withdrawal still refuses it, and says so
    raw["models"][0].pop("data_owner")
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert consent() == {"owned-3b": "withdrawn", "plain-3b": "\u2014"}
    # withdrawing it needs a data owner; granting lifts the withdrawal left in force, audited
    code, _, err = run(
        "catalog", "consent", "-c", str(path), "owned-3b", "withdraw", "--reason", "again"
    )
    assert (code, "has no data owner" in err) == (2, True)
    code, out, err = run(
        "catalog", "consent", "-c", str(path), "owned-3b", "grant", "--reason", "owner left"
    )
    assert (code, out.strip()) == (0, "owned-3b: consent granted"), err
    assert consent() == {"owned-3b": "\u2014", "plain-3b": "\u2014"}
    code, out, _ = run("audit", "-c", str(path), "--action", "model.consent", "--format", "json")
    lifted = json.loads(out)[0]
    assert (lifted["target"], lifted["details"]["to"]) == ("owned-3b", "lifted")
    assert lifted["details"]["reason"] == "owner left"
    # from then on there is no consent to manage: granting again is refused as well
    code, _, err = run(
        "catalog", "consent", "-c", str(path), "owned-3b", "grant", "--reason", "twice"
    )
    assert (code, "has no data owner" in err) == (2, True)


def test_report_usage_json_totals(config_path: Path, tmp_path: Path) -> None:
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        records = make_records(100)
        ledger.insert_usage(records)
    finally:
        ledger.close()
    code, out, err = run(
        "report",
        "usage",
        "-c",
        str(config_path),
        "--month",
        "2026-11",
        "--by",
        "model",
        "--format",
        "json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["total"]["requests"] == 100
    assert Decimal(data["total"]["cost"]) == sum(r.cost for r in records)
    # refused (4xx, the client's side) and failed (5xx, a backend's) apart, as the dashboard
    refused = sum(1 for r in records if 400 <= r.status < 500)
    failed = sum(1 for r in records if r.status >= 500)
    assert refused and failed
    assert (data["total"]["refused"], data["total"]["failed"]) == (refused, failed)
    # the records' keys are none of this config's: nothing to compare with, nothing saved
    assert data["baseline_models"] == [] and Decimal(data["total"]["savings"]) == 0
    code, out, _ = run("report", "usage", "-c", str(config_path), "--month", "2026-11")
    assert code == 0 and out.splitlines()[-1].startswith("(total)")
    assert out.splitlines()[1].split()[-3:] == ["refused", "failed", "compared_today"]
    assert out.splitlines()[-1].split()[-3:-1] == [str(refused), str(failed)]
    # per key (walk27 F21), as the dashboard's department page: by key id, the month in the CSV
    month = ("--month", "2026-11")
    code, out, err = run(
        "report", "usage", "-c", str(config_path), *month, "--by", "key", "--format", "csv"
    )
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["key"]: int(r["requests"]) for r in rows} == {
        **{k: sum(1 for r in records if r.key_id == k) for k in {r.key_id for r in records}},
        "(total)": 100,
    }
    assert {r["month"] for r in rows} == {"2026-11"}


def test_a_relative_ledger_path_follows_the_config_file_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``keys create`` run in one folder and ``keys list`` in another, both with ``-c`` naming a
    config with the default ``sqlite:///stellwerk.db``: one ledger, beside the config."""
    etc = tmp_path / "etc"
    elsewhere, other = tmp_path / "home", tmp_path / "srv"
    for folder in (etc, elsewhere, other):
        folder.mkdir()
    raw: dict[str, Any] = {
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [model("mistral-3b")],
        "departments": [{"name": "legal"}],
    }
    config = etc / "stellwerk.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    code, _, err = run("keys", "create", "-c", str(config), "--department", "legal")
    assert code == 0, err
    key_id = err.split("key id ")[1].split()[0]
    monkeypatch.chdir(other)
    code, out, _ = run("keys", "list", "-c", "../etc/stellwerk.yaml")
    assert code == 0
    assert key_id in out
    assert list(elsewhere.iterdir()) == [] and list(other.iterdir()) == []
    assert sorted(p.name for p in etc.iterdir() if "-" not in p.name) == [
        "stellwerk.db",
        "stellwerk.yaml",
    ]


def test_report_savings_follow_the_dashboards_rule(tmp_path: Path) -> None:
    """Only routed requests save, each against the largest model its key may use: a use case
    restricted to mistral-3b saves nothing by being routed to it; a named model and an
    embedding save nothing either (the report counted all three against the largest model)."""
    cheap = {"input_per_mtok": 0.1, "output_per_mtok": 0.3}
    dear = {"input_per_mtok": 0.4, "output_per_mtok": 1.2}
    raw: dict[str, Any] = {
        "server": {"database_url": f"sqlite:///{tmp_path / 'ledger.db'}"},
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [
            model("mistral-3b", price=cheap),
            model("mistral-8b", params_b=8, price=dear),
            model("embed", params_b=0.3, capabilities=["embeddings"], price=dear),
        ],
        "departments": [
            {"name": "legal", "keys": [{"id": "legal-app", "key_sha256": "a" * 64}]},
            {"name": "finance", "keys": [{"id": "fin-app", "key_sha256": "b" * 64}]},
        ],
        "use_cases": [
            {
                "name": "contracts",
                "department": "legal",
                "purpose": "review",
                "allowed_models": ["mistral-3b"],
            }
        ],
    }
    raw["departments"][0]["keys"][0]["use_case"] = "contracts"
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    on_3b: Served = {"model": "mistral-3b", "prompt_tokens": 1000, "completion_tokens": 100}
    # (key, department, requested, served), each 1000 + 100 tokens
    requests: list[tuple[str, str, str, Served]] = [
        ("legal-app", "legal", "auto", on_3b),
        ("fin-app", "finance", "auto", on_3b),
        ("fin-app", "finance", "mistral-3b", on_3b),
        ("fin-app", "finance", "embed", {**on_3b, "model": "embed", "completion_tokens": 0}),
    ]
    records = [
        make_record(
            i,
            key_id=key,
            department=dept,
            requested_model=requested,
            status=200,
            cost_micro=(
                served["prompt_tokens"] // 10 + served["completion_tokens"] * 3 // 10
                if served["model"] == "mistral-3b"
                else served["prompt_tokens"] * 4 // 10
            ),
            **served,
        )
        for i, (key, dept, requested, served) in enumerate(requests)
    ]
    ledger = open_ledger(raw["server"]["database_url"])
    try:
        ledger.insert_usage(records)
    finally:
        ledger.close()
    month = f"{records[0].time:%Y-%m}"
    started(path)  # the use case's allowed models in the database
    code, out, err = run(
        "report", "usage", "-c", str(path), "--month", month, "--by", "use-case", "--format", "json"
    )
    assert code == 0, err
    data = json.loads(out)
    rows = {r["group"]: r for r in data["rows"]}
    # finance's routed request: on mistral-8b 1000 * 0.4 + 100 * 1.2 = 520 micro, served for 130
    assert Decimal(data["total"]["savings"]) == Decimal("0.000390")
    assert Decimal(rows["contracts"]["savings"]) == 0  # its only model is its baseline
    assert data["baseline_models"] == ["mistral-3b", "mistral-8b"]
    code, out, _ = run("report", "usage", "-c", str(path), "--month", month)
    assert code == 0
    assert "the largest model their key may use as of " in out.splitlines()[0]
    assert out.splitlines()[0].endswith("(today's references): mistral-3b, mistral-8b")
    # and the dashboard's overview says the same of the same ledger
    config = load_config(path)
    ledger = open_ledger(config.server.database_url)
    try:
        gov = Governance(ledger, config, evaluated=CalibrationStore(ledger).evaluated)
        gov.start()
        overview = build_overview(gov, Window.month(month), load_router(config.router))
    finally:
        ledger.close()
    assert overview.savings is not None
    assert overview.savings.requests == 2  # the routed ones
    assert overview.savings.cost.saved == pytest.approx(float(data["total"]["savings"]))


def test_a_use_case_allowed_one_model_shows_no_loss_in_the_report_or_the_dashboard(
    tmp_path: Path,
) -> None:
    """Legal may use mistral-3b only, its reference too: each request is charged rounded up
    (2.4 micro-units: 3), the baseline priced once (12 for five); the report read a loss of
    -0.000003 where the dashboard read none. Both read none now."""
    raw: dict[str, Any] = {
        "server": {"database_url": f"sqlite:///{tmp_path / 'ledger.db'}"},
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [
            model("mistral-3b", price={"input_per_mtok": 0.1, "output_per_mtok": 0.3}),
            model("mistral-8b", params_b=8),
        ],
        "departments": [
            {
                "name": "legal",
                "keys": [{"id": "legal-app", "key_sha256": "a" * 64, "use_case": "contracts"}],
            }
        ],
        "use_cases": [
            {
                "name": "contracts",
                "department": "legal",
                "purpose": "review",
                "allowed_models": ["mistral-3b"],
            }
        ],
    }
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    records = [
        make_record(i, key_id="legal-app", department="legal", requested_model="auto",
                    model="mistral-3b", status=200, prompt_tokens=15, completion_tokens=3,
                    cost_micro=3)
        for i in range(5)
    ]  # fmt: skip
    ledger = open_ledger(raw["server"]["database_url"])
    try:
        ledger.insert_usage(records)
    finally:
        ledger.close()
    month = f"{records[0].time:%Y-%m}"
    started(path)  # the use case's allowed models in the database
    code, out, err = run("report", "usage", "-c", str(path), "--month", month, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["baseline_models"] == ["mistral-3b"]
    assert [(r["group"], r["savings"]) for r in data["rows"]] == [("legal", "0.000000")]
    assert data["total"]["savings"] == "0.000000"
    code, out, _ = run("report", "usage", "-c", str(path), "--month", month)
    assert code == 0 and "-0.00000" not in out
    config = load_config(path)
    ledger = open_ledger(config.server.database_url)
    try:
        gov = Governance(ledger, config, evaluated=CalibrationStore(ledger).evaluated)
        gov.start()
        overview = build_overview(gov, Window.month(month), load_router(config.router))
    finally:
        ledger.close()
    assert overview.savings is not None and overview.savings.cost.saved == 0


def test_catalog_list_shows_a_model_without_hosting_as_missing_it(tmp_path: Path) -> None:
    """Walk 15 (MEDIUM-3): a model the config gives no hosting was listed ``on_prem`` and
    compliant; its location is not stated, and the compliance column says it is missing."""
    unplaced = model("unplaced-3b")
    del unplaced["hosting"]
    raw: dict[str, Any] = {
        "server": {"database_url": f"sqlite:///{tmp_path / 'ledger.db'}"},
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [model("placed-3b"), unplaced],
        "departments": [{"name": "legal"}],
    }
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    code, out, err = run("catalog", "list", "-c", str(path))
    assert code == 0, err
    rows = {x.split()[0]: x for x in out.splitlines()[1:]}
    assert rows["placed-3b"].split()[3:] == ["on_prem", "chat", "ok"]
    assert rows["unplaced-3b"].split()[3:] == ["not", "stated", "chat", "missing", "hosting"]


def test_catalog_list_shows_what_each_model_can_do(tmp_path: Path) -> None:
    """The capabilities of each model, as its config lists them, in a column of their own
    (before the compliance facts, whose length varies), as ``GET /admin/models`` lists them."""
    raw: dict[str, Any] = {
        "server": {"database_url": f"sqlite:///{tmp_path / 'ledger.db'}"},
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [
            model("thinker-8b", capabilities=["chat", "tools", "thinking"]),
            model("embed-1b", capabilities=["embeddings"]),
        ],
        "departments": [{"name": "legal"}],
    }
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    code, out, err = run("catalog", "list", "-c", str(path))
    assert code == 0, err
    head, *lines = out.splitlines()
    assert head.split() == [
        "model", "lifecycle", "consent", "hosting", "capabilities", "compliance"
    ]  # fmt: skip
    assert {x.split()[0]: x.split()[4] for x in lines} == {
        "thinker-8b": "chat,tools,thinking",
        "embed-1b": "embeddings",
    }
    column = head.index("capabilities")  # the column is aligned under its heading
    assert [x[column:].split()[0] for x in lines] == ["chat,tools,thinking", "embeddings"]
