"""The shipped router on models it never saw: the decisions a user of ``auto`` would notice."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from stellwerk.config.schema import RouterConfig
from stellwerk.errors import ArtifactError, ConfigError
from stellwerk.routing.base import Candidate, Decision, FirstAllowedRouter, RouteRequest
from stellwerk.routing.graded_record import Evidence
from stellwerk.routing.knowledge import Knowledge, calibrated_models
from stellwerk.routing.learned import LearnedRouter
from stellwerk.routing.loader import load_router
from stellwerk.routing.placement import offset_from_benchmark

TINY = (
    Candidate("tiny-small", 1.0, "small", 0.1, 0.1, 8192),
    Candidate("tiny-medium", 8.0, "medium", 0.5, 0.5, 8192),
    Candidate("tiny-large", 70.0, "large", 3.0, 3.0, 8192),
)
TRIVIAL = "Say hello."
HARD = (
    "Let f(x) = x^3 - 6x^2 + 11x - 6. Prove that f has exactly three real roots, find them, and"
    " then compute the definite integral of |f(x)| from 0 to 4. Show every step of the derivation"
    " and justify each inequality you use."
)


@pytest.fixture(scope="module")
def shipped() -> LearnedRouter:
    router = load_router(RouterConfig())
    assert isinstance(router, LearnedRouter)
    return router


def _decide(
    router: LearnedRouter, prompt: str, weight: float, cands: tuple[Candidate, ...] = TINY
) -> str:
    request = RouteRequest(prompt, len(prompt) // 4 + 1, cands, weight)
    return router.decide(request).model_id


def test_larger_unseen_models_are_predicted_better(shipped: LearnedRouter) -> None:
    q = shipped.qualities(HARD, TINY)
    assert q[0] < q[1] < q[2]


def test_a_hard_prompt_is_predicted_harder_than_a_trivial_one(shipped: LearnedRouter) -> None:
    assert shipped.qualities(HARD, TINY)[2] < shipped.qualities(TRIVIAL, TINY)[2]


def test_the_cost_weight_moves_the_choice_from_large_to_small(shipped: LearnedRouter) -> None:
    assert _decide(shipped, HARD, 0.0) == "tiny-large"
    assert _decide(shipped, HARD, 100.0) == "tiny-small"


def test_prompts_and_cost_weights_do_not_always_pick_the_same_model(
    shipped: LearnedRouter,
) -> None:
    picks = {_decide(shipped, p, w) for p in (TRIVIAL, HARD) for w in (0.1, 0.5, 2.0)}
    assert len(picks) >= 2


def test_free_models_leave_only_quality(shipped: LearnedRouter) -> None:
    free = tuple(Candidate(c.model_id, c.params_b, c.size_class, 0.0, 0.0, 8192) for c in TINY)
    assert _decide(shipped, TRIVIAL, 2.0, free) == "tiny-large"


def test_a_benchmark_score_outweighs_size(shipped: LearnedRouter) -> None:
    strong_small = Candidate("new-small", 3.0, "small", 0.1, 0.1, 8192, benchmark_score=0.9)
    weak_large = Candidate("new-large", 70.0, "large", 0.1, 0.1, 8192, benchmark_score=0.2)
    q = shipped.qualities(HARD, (strong_small, weak_large))
    assert q[0] > q[1]


def test_the_decision_explains_itself_and_ranks_every_candidate(
    shipped: LearnedRouter,
) -> None:
    decision = shipped.decide(RouteRequest(HARD, 60, TINY, 0.5))
    assert sorted(decision.ranking) == sorted(c.model_id for c in TINY)
    assert decision.ranking[0] == decision.model_id
    assert decision.reason.startswith(decision.model_id)
    assert decision.router.startswith("learned:")
    utilities = [s.utility for s in decision.scores]
    assert utilities == sorted(utilities, reverse=True)


def test_a_model_the_router_was_trained_on_uses_its_own_prediction(
    shipped: LearnedRouter,
) -> None:
    known = shipped.model.models[0]
    cand = Candidate(known, 1.0, "small", 0.1, 0.1, 8192)
    direct, _ = shipped.model.predict(HARD)
    assert shipped.qualities(HARD, (cand,))[0] == pytest.approx(direct[0])


def test_load_router_kinds(tmp_path: Path) -> None:
    assert isinstance(load_router(RouterConfig(kind="first")), FirstAllowedRouter)
    assert isinstance(load_router(RouterConfig(kind="learned")), LearnedRouter)
    with pytest.raises(ConfigError, match=r"'magic' is not a router \(known: first, learned\)"):
        load_router(RouterConfig(kind="magic"))
    with pytest.raises(ConfigError, match=r"router\.artifact: the 'first' router takes no"):
        load_router(RouterConfig(kind="first", artifact=str(tmp_path)))
    with pytest.raises(ArtifactError, match="not a router artifact"):
        load_router(RouterConfig(kind="learned", artifact=str(tmp_path)))


def test_placement_from_a_benchmark_score_is_remembered_not_recomputed() -> None:
    router = load_router(RouterConfig())
    assert isinstance(router, LearnedRouter)
    strong = Candidate("unseen-strong", 30, "large", 1.0, 3.0, 8192, benchmark_score=0.8)
    weak = Candidate("unseen-weak", 30, "large", 1.0, 3.0, 8192, benchmark_score=0.3)
    first = router.qualities("Was ist die Hauptstadt der Schweiz?", (strong, weak))
    again = router.qualities("Was ist die Hauptstadt der Schweiz?", (strong, weak))
    assert list(first) == list(again)
    assert first[0] > first[1]  # the higher public score places the model higher
    cached = router._offsets[(0.8, 30, None)]
    assert list(cached) == [offset_from_benchmark(0.8, router.model.ease_quantiles)]


def test_a_small_max_tokens_makes_a_model_priced_by_its_output_worth_it(
    shipped: LearnedRouter,
) -> None:
    # the better model charges for its answers (cheap input, dear output); the weaker one charges
    # evenly: over a 128-token answer the better model costs 20 times more, over 2 tokens about
    # the same, so a route that would not pay for it at 128 tokens takes it at 2
    even = Candidate("even-small", 1.0, "small", 1.0, 1.0, 8192)
    by_output = Candidate("output-large", 70.0, "large", 0.1, 30.0, 8192)
    cands = (even, by_output)
    low, high = shipped.qualities(HARD, cands)
    assert high > low
    weight = (high - low) / 0.2  # the better model is worth 20% of the dearest cost

    def decide(cap: int | None) -> Decision:
        return shipped.decide(RouteRequest(HARD, 60, cands, weight, max_answer_tokens=cap))

    uncapped, capped = decide(None), decide(2)
    assert uncapped.model_id == "even-small"
    assert capped.model_id == "output-large"
    assert {s.answer_tokens for s in uncapped.scores} == {shipped.answer_tokens}
    assert {(s.answer_tokens, s.answer_source) for s in capped.scores} == {(2, "cap")}
    assert capped.reason.endswith("answer capped at 2 tokens by the request")
    assert "capped" not in uncapped.reason


@pytest.mark.parametrize(
    ("measured", "cap", "answer", "source"),
    [
        (None, None, 128, "default"),
        (None, 500, 128, "default"),
        (None, 40, 40, "cap"),
        (900, None, 900, "measured"),
        (900, 1000, 900, "measured"),
        (900, 300, 300, "cap"),
        (12, 300, 12, "measured"),
    ],
)
def test_the_expected_answer_is_the_measured_length_at_most_the_cap(
    shipped: LearnedRouter, measured: int | None, cap: int | None, answer: int, source: str
) -> None:
    cand = Candidate("m", 8.0, "medium", 0.5, 2.0, 8192, answer_tokens=measured)
    decision = shipped.decide(RouteRequest(HARD, 60, (cand,), 0.5, max_answer_tokens=cap))
    (score,) = decision.scores
    assert (score.answer_tokens, score.answer_source) == (answer, source)
    assert score.expected_cost == pytest.approx((60 * 0.5 + answer * 2.0) / 1e6)
    if source == "measured":
        assert decision.reason.endswith(f"its answers here average {answer} tokens")


def test_a_model_with_long_answers_loses_to_one_with_short_answers(
    shipped: LearnedRouter,
) -> None:
    # two unseen models alike in everything but how long their answers are here
    terse = Candidate("terse", 8.0, "medium", 0.5, 0.5, 8192, answer_tokens=50)
    verbose = Candidate("verbose", 8.0, "medium", 0.5, 0.5, 8192, answer_tokens=2000)
    decision = shipped.decide(RouteRequest(HARD, 60, (verbose, terse), 0.5))
    assert decision.model_id == "terse"


@pytest.mark.parametrize(
    ("cand", "calibrated", "expected"),
    [
        (
            Candidate("llama-3.1-8b-instruct", 8, "medium", 0.1, 0.1, 8192),
            {},
            Knowledge("trained"),
        ),
        (
            Candidate("llama-3.1-8b-instruct", 8, "medium", 0.1, 0.1, 8192),
            {"llama-3.1-8b-instruct": 40},
            Knowledge("calibrated", prompts=40),
        ),
        (
            Candidate("org-8b", 8, "medium", 0.1, 0.1, 8192, benchmark_score=0.6, family="qwen2.5"),
            {},
            Knowledge("benchmark"),
        ),
        (
            Candidate("org-32b", 32, "large", 0.1, 0.1, 8192, family="qwen2.5"),
            {},
            Knowledge("family", family="qwen2.5"),
        ),
        (
            Candidate("tiny-small", 1, "small", 0.1, 0.1, 8192, family="tiny-small"),
            {},
            Knowledge("size"),
        ),
        (Candidate("hosted", 0, "large", 0.1, 0.1, 8192), {}, Knowledge("average")),
    ],
)
def test_the_router_says_how_it_knows_each_model(
    shipped: LearnedRouter, cand: Candidate, calibrated: dict[str, int], expected: Knowledge
) -> None:
    """What the dashboard shows per model: measured (trained, calibrated) or placed, and by what."""
    router = LearnedRouter(shipped.model, version="test", calibrated=calibrated)
    knowledge = router.knowledge(cand)
    assert knowledge == expected
    assert knowledge.measured == (expected.basis in ("trained", "calibrated"))


def test_the_first_allowed_router_rates_no_model() -> None:
    assert FirstAllowedRouter().knowledge(TINY[0]) == Knowledge("unrated")


def test_calibrated_models_are_read_from_the_manifests_placed_section() -> None:
    info = {"placed": {"a": {"prompts": 225, "offset": 0.1}, "b": {"offset": 0.2}, "c": 3}}
    assert calibrated_models(info) == {"a": 225, "b": None, "c": None}
    assert calibrated_models({}) == {}
    assert calibrated_models({"placed": ["a"]}) == {}


def _remembered_prompt(router: LearnedRouter) -> str:
    """A training prompt the shipped router remembers the outcomes of (``memory``)."""
    path = Path(__file__).resolve().parents[2] / "data" / "routing" / "open9.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            prompt = json.loads(line).get("prompt")
            if isinstance(prompt, str) and router.model.remembered(prompt):
                return prompt
    raise AssertionError("no remembered prompt in open9")


def test_a_decision_hands_out_its_base_reading_only_when_asked(shipped: LearnedRouter) -> None:
    """What the gateway keeps for a later grade is the decision's own reading by the base
    artifact (the prompt is not read twice): the remembered outcomes that move this decision
    are not in it, and a request that does not ask gets none."""
    prompt = _remembered_prompt(shipped)
    cands = tuple(Candidate(m, 8.0, "medium", 0.1, 0.2, 8192) for m in shipped.model.models)
    asked = shipped.decide(RouteRequest(prompt, 50, cands, 0.5, keep_evidence=True))
    assert asked.evidence == Evidence.read(shipped.model, prompt, base_version=shipped.version)
    assert asked.evidence.readable and asked.evidence.base_version == shipped.version
    decided = {s.model_id: s.quality for s in asked.scores}
    moved = [m for m in shipped.model.models if abs(decided[m] - asked.evidence.base[m]) > 0.01]
    assert moved, "the memory moved no model's quality: the base reading would not show it"
    assert "measured outcome" in asked.reason
    plain = shipped.decide(RouteRequest(prompt, 50, cands, 0.5))
    assert plain.evidence is None and plain.ranking == asked.ranking
