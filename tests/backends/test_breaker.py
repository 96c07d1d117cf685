"""The circuit breaker's state machine, driven by a clock the test sets."""

from __future__ import annotations

from stellwerk.backends.breaker import CircuitBreaker, State


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def state(breaker: CircuitBreaker) -> State:
    """The breaker's state now (read through a call: mypy would keep an earlier assert's
    narrowing of ``breaker.state`` across the calls that change it)."""
    return breaker.state


def test_opens_after_threshold_and_recovers_through_one_trial() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, cooldown_s=10, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.failure()
    assert state(breaker) == "closed"
    breaker.failure()
    assert state(breaker) == "open" and not breaker.allow()
    clock.now += 10
    assert breaker.allow()  # the one trial
    assert state(breaker) == "half_open" and not breaker.allow()
    breaker.success()
    assert state(breaker) == "closed" and breaker.allow()


def test_failed_trial_opens_again_and_a_lost_trial_is_retried() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, cooldown_s=5, clock=clock)
    breaker.failure()
    clock.now += 5
    assert breaker.allow()
    breaker.failure()
    assert state(breaker) == "open" and not breaker.allow()
    clock.now += 5
    assert breaker.allow()  # a trial that never reports back (client hung up) ...
    clock.now += 5
    assert breaker.allow()  # ... does not block the backend forever


def test_success_resets_the_count() -> None:
    breaker = CircuitBreaker(failures=2, cooldown_s=1)
    breaker.failure()
    breaker.success()
    breaker.failure()
    assert state(breaker) == "closed"


def test_a_trial_that_was_not_sent_frees_the_slot_at_once() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, cooldown_s=5, clock=clock)
    breaker.failure()
    clock.now += 5
    assert breaker.allow()  # the trial, but the request could not be translated for it
    breaker.not_sent()
    assert state(breaker) == "half_open"
    assert breaker.allow()  # the next request is the trial, without another cooldown
    breaker.success()
    assert state(breaker) == "closed"
