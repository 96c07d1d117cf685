"""Scheduled adaptation: two gateway replicas on one ledger adapt the learned router on their
own, one at a time, audited like the command; nothing runs until enough new grades came."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.errors import Conflict
from stellwerk.ledger.graded import Graded, GradedStore
from stellwerk.ledger.ledger import Ledger, open_ledger
from stellwerk.routing.graded_record import GradedRecord
from stellwerk.routing.learned import LearnedRouter
from stellwerk.routing.loader import load_learned
from tests.cli.test_router_learn_cmd import NEW_KIND
from tests.fixtures.gateway import raw_config, running_gateway
from tests.fixtures.waiting import until


@pytest.fixture(scope="module")
def shipped() -> LearnedRouter:
    return load_learned()


def _store(
    ledger: Ledger, router: LearnedRouter, prompts: list[str], first: int, *, even: bool = False
) -> None:
    """Graded requests in which the model the router likes least for them always succeeds
    (``even``: every model does, so there is nothing to learn from them)."""
    quality = router.model.predict(prompts[0])[0]
    best = router.model.models[int(np.argmin(quality))]
    store = GradedStore(ledger)
    for i, prompt in enumerate(prompts, start=first):
        grades = {m: 1.0 if m == best or even else 0.0 for m in router.model.models}
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


def _wait_for(check: Callable[[], bool], seconds: float = 90.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return False


def _raw(database_url: str, **router: Any) -> dict[str, Any]:
    raw = raw_config("http://127.0.0.1:9/v1", database_url)  # no chat in this test
    raw["router"] = {"kind": "learned", **router}
    return raw


def test_two_replicas_adapt_on_schedule_once_per_batch_of_new_grades(
    any_db_url: str, shipped: LearnedRouter
) -> None:
    ledger = open_ledger(any_db_url)
    try:
        store = GradedStore(ledger)
        _store(ledger, shipped, NEW_KIND[:100], first=0)
        raw = _raw(any_db_url, adapt_every_s=1, adapt_min_new=50)

        def adaptations() -> list[Any]:
            return ledger.list_audit(action="router.adapt", target=shipped.version)

        with ExitStack() as replicas:
            for _ in range(2):
                replicas.enter_context(running_gateway(raw))
            assert _wait_for(lambda: store.current(shipped.version) is not None)
            time.sleep(3)  # several more checks of both replicas: nothing new to learn from
            first = adaptations()
            assert len(first) == 1
            entry = first[0]
            assert entry.actor.startswith("schedule:")
            assert entry.details["version"] == 1 and entry.details["promoted"]
            assert entry.details["newest_record"] == store.newest_id(shipped.version)
            assert entry.details["comparison"]["gain"] > 0  # the before and after figures

            _store(ledger, shipped, NEW_KIND[100:130], first=100)
            time.sleep(3)
            assert len(adaptations()) == 1  # 30 new grades: fewer than adapt_min_new
            _store(ledger, shipped, NEW_KIND[:25], first=130)  # 55 new grades in all
            assert _wait_for(lambda: len(adaptations()) == 2)
            time.sleep(2)
            second = adaptations()
            assert len(second) == 2 and second[0].actor.startswith("schedule:")
            assert second[0].details["compared_with"] == 1  # judged against the version in use
        assert len({e.actor for e in second}) <= 2
    finally:
        ledger.close()


def test_without_a_schedule_nothing_adapts(sqlite_url: str, shipped: LearnedRouter) -> None:
    ledger = open_ledger(sqlite_url)
    try:
        _store(ledger, shipped, NEW_KIND[:100], first=0)
        with running_gateway(_raw(sqlite_url)):
            time.sleep(3)
        assert ledger.list_audit(action="router.adapt") == []
        assert GradedStore(ledger).current(shipped.version) is None
    finally:
        ledger.close()


def test_a_rollback_holds_until_enough_new_grades_came_after_it(
    any_db_url: str, shipped: LearnedRouter, tmp_path: Path
) -> None:
    """An admin's rollback is not undone by the schedule re-fitting the same records: it adapts
    again only once ``adapt_min_new`` graded requests came after the rollback (walk24 1)."""
    ledger = open_ledger(any_db_url)
    try:
        store = GradedStore(ledger)
        _store(ledger, shipped, NEW_KIND[:100], first=0)
        raw = _raw(any_db_url, adapt_every_s=1, adapt_min_new=50)
        config = tmp_path / "stellwerk.yaml"
        config.write_text(yaml.safe_dump(raw), encoding="utf-8")

        def adaptations() -> list[Any]:
            return ledger.list_audit(action="router.adapt", target=shipped.version)

        with ExitStack() as replicas:
            for _ in range(2):
                replicas.enter_context(running_gateway(raw))
            assert _wait_for(lambda: store.current(shipped.version) is not None)
            _store(ledger, shipped, NEW_KIND[100:130], first=100)  # 30 new: not yet due
            result = CliRunner().invoke(
                build_app(),
                ["router", "rollback", "-c", str(config), "--to", "0", "--reason", "test"],
            )
            assert result.exit_code == 0, result.stderr
            back = json.loads(result.stdout)
            assert back["new_version"] == 2 and back["schedule_waits_for"] == 50
            assert back["newest_record"] == store.newest_id(shipped.version)
            assert "adapts again only once 50 graded requests came after" in result.stderr
            # 55 graded since the adaptation, 25 of them after the rollback: it holds
            _store(ledger, shipped, NEW_KIND[:25], first=130)
            time.sleep(4)  # several checks of both replicas
            current = store.current(shipped.version)
            assert current is not None and current.id == 2 and current.correction is None
            assert len(adaptations()) == 1

            _store(ledger, shipped, NEW_KIND[25:50], first=155)  # 50 after the rollback
            assert _wait_for(lambda: len(adaptations()) == 2)
            assert adaptations()[0].details["compared_with"] == 0  # judged against the base
    finally:
        ledger.close()


def test_after_a_rollback_the_schedule_learns_only_from_the_grades_that_came_after_it(
    any_db_url: str, shipped: LearnedRouter, tmp_path: Path
) -> None:
    """The records before a rollback are not fitted again: 50 new grades that teach nothing
    (every model succeeds) promote nothing, where those 50 with the 100 the rolled-back version
    came from would promote its correction again; the audit entry names the window."""
    ledger = open_ledger(any_db_url)
    try:
        store = GradedStore(ledger)
        _store(ledger, shipped, NEW_KIND[:100], first=0)
        raw = _raw(any_db_url, adapt_every_s=1, adapt_min_new=50)
        config = tmp_path / "stellwerk.yaml"
        config.write_text(yaml.safe_dump(raw), encoding="utf-8")

        def adaptations() -> list[Any]:
            return ledger.list_audit(action="router.adapt", target=shipped.version)

        with ExitStack() as replicas:
            for _ in range(2):
                replicas.enter_context(running_gateway(raw))
            until("the first promotion", lambda: store.current(shipped.version) is not None)
            result = CliRunner().invoke(
                build_app(),
                ["router", "rollback", "-c", str(config), "--to", "0", "--reason", "test"],
            )
            assert result.exit_code == 0, result.stderr
            assert "only from those after it" in result.stderr
            _store(ledger, shipped, NEW_KIND[:50], first=100, even=True)
            until("a second adaptation", lambda: len(adaptations()) == 2)
            entry = adaptations()[0]
            assert entry.actor.startswith("schedule:")
            assert entry.details["read"] == 50 and entry.details["all_records"] is False
            assert entry.details["records_since"]["rollback"] == 2
            assert entry.details["records_since"]["after_record"] == 100
            assert entry.details["records_since"]["left_out"] == 100
            assert entry.details["promoted"] is False and entry.details["version"] is None
            current = store.current(shipped.version)
            assert current is not None and current.id == 2 and current.correction is None
    finally:
        ledger.close()


def test_an_adaptation_is_not_promoted_over_a_rollback_made_while_it_ran(
    any_db_url: str, shipped: LearnedRouter
) -> None:
    ledger = open_ledger(any_db_url)
    try:
        store = GradedStore(ledger)
        first = store.promote(shipped.version, b"one", actor="cli:ops", details={}, over=0)
        store.roll_back(shipped.version, 0, actor="cli:admin", reason="test")
        with pytest.raises(Conflict, match="router version 2 was stored while adapting"):
            store.promote(shipped.version, b"two", actor="schedule:x", details={}, over=first.id)
        current = store.current(shipped.version)
        assert current is not None and current.id == 2 and current.correction is None
    finally:
        ledger.close()
