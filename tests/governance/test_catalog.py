from __future__ import annotations

import threading

import pytest
from tests.governance.factories import config, model

from stellwerk.errors import Conflict, InvalidRequest, NotFound
from stellwerk.governance.catalog import Catalog
from stellwerk.governance.use_cases import UseCases
from stellwerk.ledger.ledger import Ledger


def catalog(ledger: Ledger) -> Catalog:
    cfg = config(
        models=[
            model("mistral-8b"),
            model("fresh", lifecycle="proposed"),
            model("expert", data_owner="legal"),
        ]
    )
    cat = Catalog(ledger, cfg, config_hash="abc123")
    cat.seed()
    return cat


def test_seed_takes_the_config_state_once(ledger: Ledger) -> None:
    cat = catalog(ledger)
    assert [(s.id, s.lifecycle, s.version) for s in cat.states()] == [
        ("mistral-8b", "approved", 1),
        ("fresh", "proposed", 1),
        ("expert", "approved", 1),
    ]
    assert cat.seed() == []  # already seeded: the database wins from now on
    seeded = ledger.list_audit(action="model.seed")
    assert {e.target for e in seeded} == {"mistral-8b", "fresh", "expert"}
    # the consent seeded as the admin API shows it: null without a data owner
    assert {e.target: e.details["consent"] for e in seeded} == {
        "mistral-8b": None,
        "fresh": None,
        "expert": True,
    }
    assert all(e.actor == "config" and e.config_hash == "abc123" for e in seeded)


def test_lifecycle_path_is_recorded_in_history_and_audit(ledger: Ledger) -> None:
    cat = catalog(ledger)
    cat.transition("fresh", "in_review", actor="cli:anna", reason="eval done")
    state = cat.transition("fresh", "approved", actor="key-admin", reason="board decision 12")
    assert (state.lifecycle, state.version) == ("approved", 3)
    assert cat.state("fresh").lifecycle == "approved"
    history = cat.history("fresh")
    assert [(h.old_value, h.new_value, h.actor, h.reason) for h in history] == [
        ("proposed", "in_review", "cli:anna", "eval done"),
        ("in_review", "approved", "key-admin", "board decision 12"),
    ]
    entries = ledger.list_audit(target_kind="model", target="fresh", action="model.lifecycle")
    assert [e.details["to"] for e in entries] == ["approved", "in_review"]  # newest first
    assert entries[0].details["reason"] == "board decision 12"


def test_illegal_transition_changes_nothing(ledger: Ledger) -> None:
    cat = catalog(ledger)
    before = len(ledger.list_audit())
    with pytest.raises(Conflict, match="illegal lifecycle transition proposed -> approved"):
        cat.transition("fresh", "approved", actor="cli:anna", reason="skip review")
    assert cat.state("fresh").lifecycle == "proposed"
    assert cat.state("fresh").version == 1
    assert len(ledger.list_audit()) == before
    assert cat.history("fresh") == []


@pytest.mark.parametrize(
    ("model_id", "target", "reason", "error", "message"),
    [
        ("ghost", "approved", "x", NotFound, "unknown model 'ghost'"),
        ("fresh", "live", "x", InvalidRequest, "unknown lifecycle state 'live'"),
        ("fresh", "in_review", "  ", InvalidRequest, "give a reason"),
    ],
)
def test_bad_input_is_refused(
    ledger: Ledger,
    model_id: str,
    target: str,
    reason: str,
    error: type[Exception],
    message: str,
) -> None:
    cat = catalog(ledger)
    with pytest.raises(error, match=message):
        cat.transition(model_id, target, actor="cli:anna", reason=reason)
    assert cat.state("fresh").version == 1


def test_a_stale_version_is_a_conflict(ledger: Ledger) -> None:
    cat = catalog(ledger)
    seen = cat.state("mistral-8b").version
    cat.transition(
        "mistral-8b", "deprecated", actor="alice", reason="newer model", expected_version=seen
    )
    with pytest.raises(Conflict, match="changed concurrently: version 1 is no longer current"):
        cat.transition("mistral-8b", "retired", actor="bob", reason="eol", expected_version=seen)
    assert cat.state("mistral-8b").lifecycle == "deprecated"
    actors = [e.actor for e in ledger.list_audit(action="model.lifecycle")]
    assert actors == ["alice"]


def test_concurrent_changes_one_wins_the_other_conflicts(ledger: Ledger) -> None:
    """Two admins act on the same model at once (threads, real database): exactly one change is
    stored, the other gets a Conflict, and the audit log shows only the winner."""
    cat = catalog(ledger)
    version = cat.state("mistral-8b").version
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def act(actor: str, target: str) -> None:
        barrier.wait()
        try:
            cat.transition(
                "mistral-8b", target, actor=actor, reason="race", expected_version=version
            )
            outcomes[actor] = "won"
        except Conflict:
            outcomes[actor] = "conflict"

    threads = [
        threading.Thread(target=act, args=("alice", "deprecated")),
        threading.Thread(target=act, args=("bob", "retired")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()) == ["conflict", "won"]
    winner = next(a for a, o in outcomes.items() if o == "won")
    state = cat.state("mistral-8b")
    assert state.lifecycle == {"alice": "deprecated", "bob": "retired"}[winner]
    assert state.version == version + 1
    audit = ledger.list_audit(action="model.lifecycle")
    assert [e.actor for e in audit] == [winner]


def test_consent_withdrawn_and_regranted(ledger: Ledger) -> None:
    cat = catalog(ledger)
    state = cat.set_consent("expert", False, actor="key-owner", reason="data contract ended")
    assert state.consent is False
    assert cat.state("expert").consent is False
    with pytest.raises(Conflict, match="already withdrawn"):
        cat.set_consent("expert", False, actor="key-owner", reason="again")
    cat.set_consent("expert", True, actor="key-owner", reason="renewed")
    assert cat.state("expert").consent is True
    actions = [
        (e.details["from"], e.details["to"]) for e in ledger.list_audit(action="model.consent")
    ]
    assert actions == [("withdrawn", "granted"), ("granted", "withdrawn")]


def test_consent_needs_a_data_owner(ledger: Ledger) -> None:
    cat = catalog(ledger)
    with pytest.raises(InvalidRequest, match="has no data owner"):
        cat.set_consent("mistral-8b", False, actor="x", reason="y")
    with pytest.raises(InvalidRequest, match="has no data owner"):
        cat.set_consent("mistral-8b", True, actor="x", reason="y")


def test_a_withdrawal_the_config_left_without_owner_is_lifted_by_granting(ledger: Ledger) -> None:
    """The config dropped the data owner after a withdrawal: the withdrawal stays (no edit of
    the config lifts it), granting lifts it and is audited; withdrawing stays refused."""
    catalog(ledger).set_consent("expert", False, actor="key-owner", reason="licence")
    cat = Catalog(ledger, config(models=[model("mistral-8b"), model("expert")]))
    assert cat.seed() == []
    assert (cat.state("expert").owner_consent, cat.state("expert").withdrawal_left) == (False, True)
    with pytest.raises(InvalidRequest, match="'expert' has no data owner"):
        cat.set_consent("expert", False, actor="key-admin", reason="again")
    state = cat.set_consent("expert", True, actor="key-admin", reason="owner gone")
    assert (state.owner_consent, state.withdrawal_left) == (None, False)
    assert cat.state("expert").owner_consent is None
    lifted = ledger.list_audit(action="model.consent")[0]
    assert (lifted.actor, lifted.details["to"], lifted.details["reason"]) == (
        "key-admin",
        "lifted",  # consent no longer applies: not "granted"
        "owner gone",
    )
    with pytest.raises(InvalidRequest, match="has no data owner"):
        cat.set_consent("expert", True, actor="key-admin", reason="twice")


def test_replicas_seeding_at_once_seed_each_model_once(ledger: Ledger) -> None:
    """Several gateways start together on a fresh database: none fails, each model and use case
    is seeded (and audited) exactly once."""
    cfg = config(
        models=[model(f"m-{i}") for i in range(5)],
        use_cases=[{"name": "helpdesk", "department": "it"}],
    )
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            Catalog(ledger, cfg).seed()
            UseCases(ledger, cfg).seed()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seeded = ledger.list_audit(action="model.seed")
    assert sorted(e.target for e in seeded) == [f"m-{i}" for i in range(5)]
    assert [e.target for e in ledger.list_audit(action="use_case.create")] == ["helpdesk"]
