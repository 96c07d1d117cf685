from __future__ import annotations

import itertools

import pytest

from stellwerk.config.schema import Lifecycle
from stellwerk.errors import Conflict, InvalidRequest
from stellwerk.policy.lifecycle import (
    STATES,
    TRANSITIONS,
    check_transition,
    is_routable,
    parse_state,
)

LEGAL = [(a, b) for a in STATES for b in STATES if b in TRANSITIONS[a]]
ILLEGAL = [(a, b) for a in STATES for b in STATES if b not in TRANSITIONS[a]]


def test_the_main_path_is_allowed_step_by_step() -> None:
    path: list[Lifecycle] = ["proposed", "in_review", "approved", "deprecated", "retired"]
    for current, target in itertools.pairwise(path):
        check_transition("m", current, target)


@pytest.mark.parametrize(("current", "target"), LEGAL)
def test_allowed_transitions_pass(current: Lifecycle, target: Lifecycle) -> None:
    check_transition("m", current, target)


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_illegal_transitions_are_conflicts_naming_both_states(
    current: Lifecycle, target: Lifecycle
) -> None:
    with pytest.raises(Conflict) as info:
        check_transition("mistral-8b", current, target)
    assert f"{current} -> {target}" in info.value.message
    assert "mistral-8b" in info.value.message
    assert info.value.status_code == 409


def test_skipping_review_is_illegal() -> None:
    with pytest.raises(Conflict, match=r"proposed -> approved"):
        check_transition("m", "proposed", "approved")


def test_retired_is_final() -> None:
    assert TRANSITIONS["retired"] == frozenset()
    with pytest.raises(Conflict, match=r"retired is final"):
        check_transition("m", "retired", "approved")


def test_unknown_state_names_the_known_ones() -> None:
    with pytest.raises(InvalidRequest, match=r"unknown lifecycle state 'live'.*approved"):
        parse_state("live")
    assert parse_state("in_review") == "in_review"


@pytest.mark.parametrize(
    ("state", "pilot", "routable"),
    [
        ("approved", False, True),
        ("approved", True, True),
        ("in_review", True, True),
        ("in_review", False, False),
        ("proposed", True, False),
        ("deprecated", False, False),
        ("retired", True, False),
    ],
)
def test_routability(state: Lifecycle, pilot: bool, routable: bool) -> None:
    assert is_routable(state, pilot=pilot) is routable
