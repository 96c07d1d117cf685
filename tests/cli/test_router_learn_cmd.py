"""``stellwerk router adapt | rollback`` run like a user would, on a SQLite ledger holding graded
requests of the shipped router's artifact."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.learning.online import use_current
from stellwerk.ledger.graded import Graded, GradedStore, RouterVersion
from stellwerk.ledger.ledger import open_ledger
from stellwerk.routing.graded_record import GradedRecord
from stellwerk.routing.learned import LearnedRouter
from stellwerk.routing.loader import load_learned
from tests.fixtures.gateway import raw_config

# a kind of prompt open9 does not have: unit conversions in one template
NEW_KIND = [
    f"Convert {n} furlongs per fortnight into millimetres per hour, rounding to {n % 4} decimals."
    for n in range(3, 133)
]


@pytest.fixture(scope="module")
def shipped() -> LearnedRouter:
    return load_learned()


def _config(tmp_path: Path, *, trained: str | None = None, **router: Any) -> Path:
    """The test config with the learned router (``router``: settings of its own); ``trained``:
    also a model of that name, one the router was trained on (its quality is the router's own
    prediction, corrected by an adaptation)."""
    raw = raw_config("http://127.0.0.1:9/v1", f"sqlite:///{tmp_path / 'ledger.db'}")
    raw.pop("router")
    if trained is not None:
        raw["models"].append({**raw["models"][1], "id": trained})
    if router:
        raw["router"] = router
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _worst(router: LearnedRouter, prompt: str) -> str:
    quality = router.model.predict(prompt)[0]
    return router.model.models[int(np.argmin(quality))]


def store_graded(
    tmp_path: Path, router: LearnedRouter, prompts: list[str], *, untrained: str | None = None
) -> str:
    """Graded requests in which the model the router likes least always succeeds; returns it.
    ``untrained``: grade only that model instead (one the router was not trained on)."""
    best = _worst(router, prompts[0])
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    store = GradedStore(ledger)
    start = store.newest_id(router.version)
    for i, prompt in enumerate(prompts, start=start):
        grades = {m: 1.0 if m == best else 0.0 for m in router.model.models}
        if untrained is not None:
            grades = {untrained: 1.0}
        store.add(
            Graded(
                request_id=f"r{i}",
                source="shadow",
                time=datetime.now(UTC),
                department="research",
                key_id="research-1",
                route="auto",
                base_version=router.version,
                model=best,
                record=GradedRecord.of(router.model, prompt, grades),
            )
        )
    ledger.close()
    return best


def run(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    result = CliRunner().invoke(build_app(), list(args))
    payload = json.loads(result.stdout) if result.exit_code == 0 else None
    return result.exit_code, payload, result.stderr


def _audit(tmp_path: Path, action: str) -> list[Any]:
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        return ledger.list_audit(action=action)
    finally:
        ledger.close()


def _versions(tmp_path: Path, artifact: str) -> list[RouterVersion]:
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        return GradedStore(ledger).versions(artifact)
    finally:
        ledger.close()


def _in_use(tmp_path: Path) -> LearnedRouter:
    """A fresh router with the newest stored version on it, as the gateway loads it."""
    router = load_learned()
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        use_current(router, GradedStore(ledger))
    finally:
        ledger.close()
    return router


def test_adapt_promotes_a_better_router_audited_and_rollback_restores_the_base(
    tmp_path: Path, shipped: LearnedRouter
) -> None:
    config = str(_config(tmp_path))
    best = store_graded(tmp_path, shipped, NEW_KIND[:120])
    unseen = NEW_KIND[125]
    j = shipped.model.models.index(best)
    before = shipped.model.predict(unseen)[0][j]

    code, dry, err = run("router", "adapt", "-c", config, "--dry-run")
    assert code == 0, err
    # a dry run says what it would do, and that it did not: nothing was stored
    assert dry is not None and dry["would_promote"] and dry["new_version"] is None
    assert dry["promoted"] is False and dry["dry_run"] is True
    assert _audit(tmp_path, "router.adapt") == []
    assert _in_use(tmp_path).adapted == 0

    code, done, err = run("router", "adapt", "-c", config)
    assert code == 0, err
    assert done is not None and done["promoted"] and done["new_version"] == 1
    assert done["would_promote"] is True
    (entry,) = _audit(tmp_path, "router.adapt")
    figures = entry.details["comparison"]
    assert figures["candidate_error"] < figures["current_error"]
    # the gain per department: printed, audited and kept with the version (all research's here)
    research = done["comparison"]["departments"]["research"]
    assert research["records"] == 120
    assert research["gain"] == pytest.approx(figures["gain"], abs=1e-6)
    assert figures["departments"] == {"research": research}
    assert dry["comparison"]["departments"] == {"research": research}
    (version,) = _versions(tmp_path, shipped.version)
    assert version.details["comparison"]["departments"] == {"research": research}
    assert entry.target == shipped.version and entry.details["version"] == 1
    adapted = _in_use(tmp_path)
    assert adapted.adapted == 1
    assert adapted.model.predict(unseen)[0][j] > before + 0.2

    code, back, err = run("router", "rollback", "-c", config, "--reason", "test")
    assert code == 0, err
    assert back == {
        "artifact": shipped.version,
        "new_version": 2,
        "correction": False,
        "rollback_to": 0,
        "rolled_back": 1,
        "correction_of": 0,
        "previous": 1,
        "newest_record": 120,
        "reason": "test",
        "schedule_waits_for": None,  # no schedule in this config
    }
    assert [e.details["version"] for e in _audit(tmp_path, "router.rollback")] == [2]
    restored = _in_use(tmp_path)
    assert restored.adapted == 0 and restored.model.correction is None
    assert restored.model.predict(unseen)[0][j] == pytest.approx(before)

    code, again, err = run("router", "rollback", "-c", config, "--reason", "test", "--to", "1")
    assert code == 0, err
    assert again is not None and again["correction"] is True
    assert again["new_version"] == 3 and again["correction_of"] == 1
    # the router names the promotion whose correction it carries, not the rollback's row
    assert _in_use(tmp_path).adapted == 1


@pytest.mark.parametrize(
    ("before", "to", "message"),
    [
        ((), "1", "rollback to version 1: version 1's correction is in use already"),
        (("--to", "0"), "0", "rollback to version 0: the base router alone is in use already"),
        (("--to", "0"), "2", "rollback to version 2: the base router alone is in use already"),
        (("--to", "0", "--to", "1"), "3", "version 1's correction is in use already"),
        (("--to", "0", "--to", "1"), "1", "(current version 3); nothing to roll back"),
    ],
)
def test_a_rollback_to_the_version_in_use_is_refused_and_nothing_audited(
    tmp_path: Path, shipped: LearnedRouter, before: tuple[str, ...], to: str, message: str
) -> None:
    config = str(_config(tmp_path))
    store_graded(tmp_path, shipped, NEW_KIND[:120])
    assert run("router", "adapt", "-c", config)[0] == 0
    for i in range(0, len(before), 2):
        assert (
            run("router", "rollback", "-c", config, "--reason", "test", *before[i : i + 2])[0] == 0
        )
    versions = _versions(tmp_path, shipped.version)
    rollbacks = _audit(tmp_path, "router.rollback")
    code, _, err = run("router", "rollback", "-c", config, "--reason", "test", "--to", to)
    assert code == 2 and message in err, err
    assert _versions(tmp_path, shipped.version) == versions
    assert _audit(tmp_path, "router.rollback") == rollbacks


def route(config: str, prompt: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        build_app(), ["route", prompt, "-c", config, "--department", "research", "--json"]
    )
    assert result.exit_code == 0, result.output
    return cast(dict[str, Any], json.loads(result.stdout))


def test_route_decides_with_the_version_in_use_and_names_it(
    tmp_path: Path, shipped: LearnedRouter
) -> None:
    """``stellwerk route`` loads the version in use as the gateway does: after a promotion the
    corrected qualities, named ``+1``; after a rollback to the base, the base's, unnamed; after a
    rollback to version 1's correction, ``+1`` again."""
    best = store_graded(tmp_path, shipped, NEW_KIND[:120])
    config = str(_config(tmp_path, trained=best))
    unseen = NEW_KIND[125]

    def quality() -> tuple[str, float]:
        decision = route(config, unseen)
        (score,) = [s["quality"] for s in decision["scores"] if s["model"] == best]
        return decision["router"], score

    base_router, base_quality = quality()
    assert base_router == f"learned:{shipped.version}"
    assert run("router", "adapt", "-c", config)[0] == 0
    adapted_router, adapted_quality = quality()
    assert adapted_router == f"learned:{shipped.version}+1"
    assert adapted_quality > base_quality + 0.2
    assert run("router", "rollback", "-c", config, "--reason", "test")[0] == 0
    assert quality() == (base_router, base_quality)
    assert run("router", "rollback", "-c", config, "--reason", "test", "--to", "1")[0] == 0
    assert quality() == (adapted_router, adapted_quality)


def test_too_few_graded_requests_promote_nothing_and_say_so(
    tmp_path: Path, shipped: LearnedRouter
) -> None:
    config = str(_config(tmp_path))
    store_graded(tmp_path, shipped, NEW_KIND[:3])
    code, out, err = run("router", "adapt", "-c", config)
    assert code == 0, err
    assert out is not None and not out["promoted"] and out["records"] == 3
    assert out["new_version"] is None and out["comparison"] is None
    (entry,) = _audit(tmp_path, "router.adapt")
    assert entry.details["promoted"] is False and entry.details["version"] is None


def test_a_run_counts_the_records_it_read_beside_those_it_could_use(
    tmp_path: Path, shipped: LearnedRouter
) -> None:
    """A record graded only for a model the router was not trained on is read but cannot be
    learned from: the output and the audit entry give both counts."""
    config = str(_config(tmp_path))
    store_graded(tmp_path, shipped, NEW_KIND[:3])
    store_graded(tmp_path, shipped, NEW_KIND[3:7], untrained="tiny-small")
    code, out, err = run("router", "adapt", "-c", config)
    assert code == 0, err
    assert out is not None and out["read"] == 7 and out["records"] == 3
    (entry,) = _audit(tmp_path, "router.adapt")
    assert entry.details["read"] == 7 and entry.details["records"] == 3


@pytest.mark.parametrize(
    ("args", "router", "message"),
    [
        (("adapt",), {"kind": "first"}, "does not learn"),
        (("rollback",), {}, "no version to roll back"),
        (("rollback", "--to", "7"), {}, "no version to roll back"),
    ],
)
def test_refusals_name_the_problem(
    tmp_path: Path, args: tuple[str, ...], router: dict[str, Any], message: str
) -> None:
    config = str(_config(tmp_path, **router))
    code, _, err = run(
        "router", *args, "-c", config, *(["--reason", "test"] if args[0] == "rollback" else [])
    )
    assert code == 2
    assert message in err


def test_rollback_to_a_version_that_does_not_exist_is_refused(
    tmp_path: Path, shipped: LearnedRouter
) -> None:
    config = str(_config(tmp_path))
    store_graded(tmp_path, shipped, NEW_KIND[:120])
    assert run("router", "adapt", "-c", config)[0] == 0
    code, _, err = run("router", "rollback", "-c", config, "--reason", "test", "--to", "9")
    assert code == 2 and "router version 9" in err


def test_adapt_says_in_plain_words_why_records_teach_nothing(
    tmp_path: Path, shipped: LearnedRouter
) -> None:
    """Records graded only for a model the router does not know, or with one grade only (as
    feedback gives), never count: the output says so with the counts, not just "too few"."""
    config = str(_config(tmp_path))
    store_graded(tmp_path, shipped, NEW_KIND[:7], untrained="tiny-small")
    code, out, err = run("router", "adapt", "-c", config)
    assert code == 0, err
    assert out is not None and out["reasons"] == ["too_few_records"]
    assert out["usable"] == {
        "read": 7,
        "usable": 0,
        "unread": 0,
        "untrained": 7,
        "one_grade": 0,
        "judged": 0,
        "graded_unknown": ["tiny-small"],
    }
    why = out["why"]
    assert why.startswith("7 graded records, of which 0 are usable; 7 have no grade of a model")
    assert "they grade tiny-small; it knows " + shipped.model.models[0] in why
    assert "at least 8 usable records and 20 with two grades or more" in why
    assert why in err  # said on stderr too, beside the JSON on stdout

    known = shipped.model.models[0]
    store_graded(tmp_path, shipped, NEW_KIND[7:37], untrained=known)  # one grade each
    code, out, err = run("router", "adapt", "-c", config, "--dry-run")
    assert code == 0, err
    assert out is not None and out["reasons"] == ["too_few_judged"]
    assert out["usable"]["usable"] == 30 and out["usable"]["one_grade"] == 30
    assert "37 graded records, of which 30 are usable" in out["why"]
    assert "30 have one grade only, which teaches no routing" in out["why"]
    assert "shadow grading" in out["why"]


def test_versions_lists_the_numbers_rollback_takes_and_the_one_in_use(
    tmp_path: Path, shipped: LearnedRouter
) -> None:
    config = str(_config(tmp_path))
    code, out, err = run("router", "versions", "-c", config, "--json")
    assert code == 0, err
    assert out == {"artifact": shipped.version, "current_version": 0, "in_use": 0, "versions": []}
    result = CliRunner().invoke(build_app(), ["router", "versions", "-c", config])
    assert result.exit_code == 0 and "the base router alone is in use" in result.stdout

    store_graded(tmp_path, shipped, NEW_KIND[:120])
    code, done, err = run("router", "adapt", "-c", config)
    assert code == 0 and done is not None and done["promoted"], err
    assert run("router", "rollback", "-c", config, "--reason", "test")[0] == 0
    assert run("router", "rollback", "-c", config, "--reason", "test", "--to", "1")[0] == 0

    code, out, err = run("router", "versions", "-c", config, "--json")
    assert code == 0, err
    assert out is not None and out["current_version"] == 3 and out["in_use"] == 1
    rows = out["versions"]
    assert [r["version"] for r in rows] == [3, 2, 1]
    assert [r["in_use"] for r in rows] == [False, False, True]
    assert [r["action"] for r in rows] == ["rollback", "rollback", "adapt"]
    assert [r["rollback_to"] for r in rows[:2]] == [1, 0]
    figures = done["comparison"]
    assert rows[2]["form"] == done["form"] and rows[2]["gain"] == figures["gain"]
    assert rows[2]["judged"] == figures["records"] == 120

    result = CliRunner().invoke(build_app(), ["router", "versions", "-c", config])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    head = f"artifact {shipped.version}: current version 3; correction in use: version 1"
    assert lines[0] == head
    assert "rollback to version 1" in lines[1] and "rollback to the base router" in lines[2]
    assert f"adapt (form {done['form']}, gain {figures['gain']:+.4f}" in lines[3]
    assert lines[3].endswith("[in use]")


def test_after_a_rollback_adapt_learns_only_from_the_records_that_came_after_it(
    tmp_path: Path, shipped: LearnedRouter
) -> None:
    """An admin who rolls back says that what was learned from those records was bad here:
    ``router adapt`` does not fit them again (and promote the same correction), it says from
    which record on it learned and how many came since; ``--all-records`` includes them."""
    config = str(_config(tmp_path))
    store_graded(tmp_path, shipped, NEW_KIND[:120])
    assert run("router", "adapt", "-c", config)[0] == 0
    code, back, err = run("router", "rollback", "-c", config, "--reason", "test", "--to", "0")
    assert code == 0 and back is not None and back["newest_record"] == 120, err
    assert "learns only from the graded requests that come after this rollback" in err

    code, out, err = run("router", "adapt", "-c", config)
    assert code == 0, err
    assert out is not None and not out["promoted"] and out["new_version"] is None
    assert out["read"] == 0 and out["reasons"] == ["too_few_records"]
    since = out["records_since"]
    assert since["rollback"] == 2 and since["after_record"] == 120 and since["left_out"] == 120
    assert out["all_records"] is False
    assert out["why"].startswith("0 graded records since the rollback of ")
    assert "(version 2), of which 0 are usable" in out["why"]
    assert "An adaptation needs at least 8 usable records and 20 with two grades" in out["why"]
    assert "The 120 graded records before the rollback are left out" in out["why"]
    assert "--all-records includes them" in out["why"] and out["why"] in err
    (entry, _) = _audit(tmp_path, "router.adapt")
    assert entry.details["records_since"] == since and entry.details["read"] == 0
    assert [v.id for v in _versions(tmp_path, shipped.version)] == [2, 1]

    store_graded(tmp_path, shipped, NEW_KIND[:30])  # 30 new ones after the rollback
    code, out, err = run("router", "adapt", "-c", config, "--dry-run")
    assert code == 0 and out is not None, err
    assert out["read"] == 30 and out["records_since"]["left_out"] == 120
    assert "Learned from the 30 graded records since the rollback of " in err

    code, out, err = run("router", "adapt", "-c", config, "--all-records", "--dry-run")
    assert code == 0 and out is not None, err
    assert out["read"] == 150 and out["records_since"] is None and out["all_records"] is True
    assert out["would_promote"] is True and "since the rollback" not in err
