"""walk29: ``router rollback`` takes a reason, as every governance change does, and dry runs of
``router adapt`` show in the audit log (an admin trying seeds until one passes is visible)."""

from __future__ import annotations

from pathlib import Path

from stellwerk.routing.learned import LearnedRouter
from tests.cli.test_router_learn_cmd import NEW_KIND, _audit, _config, run, shipped, store_graded

__all__ = ["shipped"]  # the module's fixture, used here too


def test_rollback_requires_a_reason_and_audits_it(tmp_path: Path, shipped: LearnedRouter) -> None:
    config = str(_config(tmp_path))
    store_graded(tmp_path, shipped, NEW_KIND[:120])
    assert run("router", "adapt", "-c", config)[0] == 0

    code, _, err = run("router", "rollback", "-c", config)
    assert code == 2 and "Missing option '--reason'" in err
    code, _, err = run("router", "rollback", "-c", config, "--reason", "   ")
    assert code == 2 and "give a reason: it goes into the audit log" in err
    code, _, err = run("router", "rollback", "-c", config, "--reason", "x" * 1001)
    assert code == 2 and "the reason is longer than 1000 characters" in err
    assert _audit(tmp_path, "router.rollback") == []

    code, back, err = run("router", "rollback", "-c", config, "--reason", "  gain was noise  ")
    assert code == 0 and back is not None and back["reason"] == "gain was noise", err
    [entry] = _audit(tmp_path, "router.rollback")
    assert entry.details["reason"] == "gain was noise"


def test_dry_runs_are_audited_and_the_promotion_counts_them(
    tmp_path: Path, shipped: LearnedRouter
) -> None:
    config = str(_config(tmp_path))
    store_graded(tmp_path, shipped, NEW_KIND[:120])
    for seed in ("0", "1", "2"):
        code, dry, err = run("router", "adapt", "-c", config, "--dry-run", "--seed", seed)
        assert code == 0 and dry is not None and dry["dry_run"] is True, err
    tries = _audit(tmp_path, "router.adapt_dry_run")
    assert sorted(e.details["seed"] for e in tries) == [0, 1, 2]
    assert all(e.actor.startswith("cli:") and "version" not in e.details for e in tries)
    assert _audit(tmp_path, "router.adapt") == []  # not a run of the adaptation list

    code, done, err = run("router", "adapt", "-c", config, "--seed", "3")
    assert code == 0 and done is not None and done["promoted"], err
    [promotion] = _audit(tmp_path, "router.adapt")
    assert promotion.details["dry_runs_before"] == 3 and promotion.details["version"] == 1

    # counted from the newest version on: the next run names only the tries since it
    assert run("router", "adapt", "-c", config, "--dry-run", "--seed", "4")[0] == 0
    assert run("router", "adapt", "-c", config)[0] == 0
    newest = _audit(tmp_path, "router.adapt")[0]
    assert newest.details["dry_runs_before"] == 1
