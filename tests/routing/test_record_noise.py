"""A graded record kept with noise (``routing.record_noise``): it cannot confirm a guess of a
detail of its prompt, and it is still the prompt's reading, near where the router reads it."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from stellwerk.config.schema import RouterConfig
from stellwerk.routing.graded_record import GradedRecord
from stellwerk.routing.loader import load_learned
from stellwerk.routing.model import QualityModel
from stellwerk.routing.record_noise import sensitivity

DEFAULT = RouterConfig().record_noise
QUESTION = (
    "Which of the following best explains why the boiling point of water drops at high altitude?"
    " A) the air is colder B) the air pressure is lower C) the water holds less salt D) gravity is"
    " weaker."
)
TRUE = 7731


def _prompt(number: int) -> str:
    return f"{QUESTION}\nReference ZEBRAQUOKKA{number:04d} case 0."


@pytest.fixture(scope="module")
def shipped() -> QualityModel:
    return load_learned().model


def _vector(record: GradedRecord) -> np.ndarray:
    return np.array([*record.latent, *record.base.values()])


def _ranks(model: QualityModel, stored: list[GradedRecord], numbers: list[int]) -> list[int]:
    """The candidate each stored record lies nearest to, as an attacker who recomputes every
    candidate's record (latent vector and base prediction) finds it."""
    exact = np.array([_vector(GradedRecord.of(model, _prompt(n), {})) for n in numbers])
    return [numbers[int(np.argmin(((exact - _vector(r)) ** 2).sum(axis=1)))] for r in stored]


def test_a_record_does_not_single_out_the_true_secret(shipped: QualityModel) -> None:
    numbers = [TRUE, *range(200)]
    exact = GradedRecord.of(shipped, _prompt(TRUE), {})
    assert _ranks(shipped, [exact], numbers) == [TRUE]  # without noise: found at once
    rng = np.random.default_rng(7)
    noisy = [GradedRecord.of(shipped, _prompt(TRUE), {}, noise=DEFAULT, rng=rng) for _ in range(40)]
    nearest = Counter(_ranks(shipped, noisy, numbers))
    assert nearest[TRUE] <= 4  # of 40 records (1 in 201 candidates by chance)
    assert nearest.most_common(1)[0][0] != TRUE  # other candidates come first more often


def test_a_record_made_twice_differs_and_stays_a_reading(shipped: QualityModel) -> None:
    exact = GradedRecord.of(shipped, QUESTION, {})
    sigma = DEFAULT * sensitivity(shipped, QUESTION)  # the noise on the unit-length reading's line
    one, two = (GradedRecord.of(shipped, QUESTION, {}, noise=DEFAULT) for _ in range(2))
    assert one.latent != two.latent and one.base != two.base
    for record in (one, two):
        assert all(0.0 <= q <= 1.0 for q in record.base.values())
        # its product with the exact reading estimates their cosine, 1, within five standard
        # deviations of the noise (fresh noise: 1 run in a million is outside; 0.5 was 3.6 of
        # them, 1 run in 1,300)
        assert float(np.dot(record.latent, exact.latent)) == pytest.approx(1.0, abs=5 * sigma)
        assert record.stats == tuple(round(x, 1) for x in exact.stats)


def test_no_noise_is_the_exact_reading_and_a_seed_is_reproduced(shipped: QualityModel) -> None:
    reading = shipped.read(QUESTION)
    exact = GradedRecord.of(shipped, QUESTION, {}, noise=0.0)
    assert reading.latent is not None  # the question has words of the space
    assert exact.latent == tuple(float(x) for x in reading.latent)
    assert list(exact.base.values()) == [float(x) for x in reading.base]
    assert exact.stats == tuple(float(x) for x in reading.stats)
    seeded = [
        GradedRecord.of(shipped, QUESTION, {}, noise=DEFAULT, rng=np.random.default_rng(3))
        for _ in range(2)
    ]
    assert seeded[0] == seeded[1] != exact


def test_a_short_prompt_gets_more_noise_than_a_long_one(shipped: QualityModel) -> None:
    short = "Why does water boil sooner on a mountain?"
    long = " ".join([QUESTION] * 6)
    assert sensitivity(shipped, short) > 2 * sensitivity(shipped, long)

    def moved(text: str) -> float:
        exact = np.array(GradedRecord.of(shipped, text, {}).latent)
        rng = np.random.default_rng(0)
        draws = [GradedRecord.of(shipped, text, {}, noise=DEFAULT, rng=rng) for _ in range(20)]
        return float(np.mean([np.linalg.norm(np.array(r.latent) - exact) for r in draws]))

    assert moved(short) > moved(long)


def _mean_record(model: QualityModel, records: list[GradedRecord]) -> GradedRecord:
    latent = np.mean([r.latent for r in records], axis=0)
    base = np.mean([list(r.base.values()) for r in records], axis=0)
    return GradedRecord(
        latent=tuple(latent), base=dict(zip(records[0].base, base, strict=True)), grades={}
    )


def test_records_of_one_prompt_under_a_key_do_not_average_out(shipped: QualityModel) -> None:
    """One prompt graded again and again: averaged, fresh noise falls away and the records single
    out the secret; under a record key half of the noise is the same in every record, and the
    average still does not."""
    numbers = [TRUE, *range(200)]
    rng = np.random.default_rng(11)

    def averaged(key: bytes | None) -> GradedRecord:
        return _mean_record(
            shipped,
            [
                GradedRecord.of(shipped, _prompt(TRUE), {}, noise=DEFAULT, rng=rng, key=key)
                for _ in range(100)
            ],
        )

    fresh = Counter(_ranks(shipped, [averaged(None) for _ in range(20)], numbers))
    assert fresh[TRUE] >= 10  # of 20 averages: the repeated prompt gives its secret away
    # a key per attempt (as many keys as installations or processes), the same for its records
    keyed = Counter(_ranks(shipped, [averaged(bytes([n]) * 32) for n in range(20)], numbers))
    assert keyed[TRUE] <= 4  # 1 in 201 candidates by chance


def test_a_keyed_record_is_as_noisy_as_a_fresh_one_and_its_fixed_half_comes_again(
    shipped: QualityModel,
) -> None:
    exact = np.array(GradedRecord.of(shipped, QUESTION, {}).latent)
    sigma = DEFAULT * sensitivity(shipped, QUESTION)
    key = b"k" * 32
    records = [
        np.array(GradedRecord.of(shipped, QUESTION, {}, noise=DEFAULT, key=key).latent)
        for _ in range(200)
    ]
    assert records[0] != pytest.approx(records[1])  # half of it is fresh
    moved = np.array(records) - exact
    assert float(moved.std()) == pytest.approx(sigma, rel=0.1)  # one record: the whole noise
    # averaged, the fresh half falls away and the fixed half stays: sigma / sqrt(2) per number
    assert float(np.linalg.norm(moved.mean(axis=0))) == pytest.approx(
        sigma * np.sqrt(0.5 * len(exact)), rel=0.35
    )
    other = np.array(GradedRecord.of(shipped, QUESTION, {}, noise=DEFAULT, key=b"o" * 32).latent)
    assert float(np.linalg.norm(moved.mean(axis=0) - (other - exact))) > sigma  # another key
