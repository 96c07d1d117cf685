"""What the gateway keeps for feedback: bounded in time and size, only for the key that asked."""

from __future__ import annotations

from stellwerk.gateway.pending import Evidence, PendingGrades

EVIDENCE = Evidence("v1", (1.0, 0.0), {"m": 0.5}, (3.0,))


def _put(pending: PendingGrades, request_id: str, key_id: str = "k1") -> None:
    pending.put(
        request_id, key_id=key_id, department="d", route="auto", model="m", evidence=EVIDENCE
    )


def test_an_entry_is_given_only_to_its_key_and_only_within_the_window() -> None:
    now = [0.0]
    pending = PendingGrades(window_s=60, max_entries=10, clock=lambda: now[0])
    _put(pending, "r1")
    assert pending.get("r1", "k2") is None
    entry = pending.get("r1", "k1")
    assert entry is not None and entry.model == "m" and entry.evidence == EVIDENCE
    now[0] = 61.0
    assert pending.get("r1", "k1") is None
    assert len(pending) == 0


def test_the_oldest_entries_go_first_past_the_bound() -> None:
    pending = PendingGrades(window_s=60, max_entries=3)
    for i in range(5):
        _put(pending, f"r{i}")
    assert len(pending) == 3
    assert pending.get("r1", "k1") is None and pending.get("r4", "k1") is not None


def test_a_window_of_zero_keeps_nothing() -> None:
    pending = PendingGrades(window_s=0, max_entries=10)
    _put(pending, "r1")
    assert len(pending) == 0
