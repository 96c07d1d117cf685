"""The router's CPU per routed request with feedback on (the default), before and after its
decision handed out its reading of the prompt (``Decision.evidence``).

Before: the gateway decided, then read the prompt once more with the router's base artifact and
drew the record noise (its sensitivity reads every word again), all before the backend was asked.
Now: the decision hands out its reading (``keep_evidence``), and the noise is drawn when an
answered request is accounted (``pending.Held.kept``), after the answer. Both are timed here side
by side, in alternating rounds, on the open9 test prompts grouped by length, at the default
``router.record_noise`` 0.5:

    PYTHONPATH=src python -m benchmarks.evidence_path [--rounds 5] [--prompts 150]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from benchmarks.routing import prompts
from stellwerk.routing.base import Candidate, RouteRequest
from stellwerk.routing.graded_record import Evidence
from stellwerk.routing.learned import LearnedRouter
from stellwerk.routing.loader import load_learned

NOISE = 0.5
BUCKETS = ((0, 500), (500, 2000), (2000, 10**9))


def _request(router: LearnedRouter, text: str, keep: bool) -> RouteRequest:
    cands = tuple(
        Candidate(m, 8.0, "medium", 0.1 * (i + 1), 0.2 * (i + 1), 32768)
        for i, m in enumerate(router.model.models)
    )
    return RouteRequest(text, len(text) // 4, cands, 0.5, keep_evidence=keep)


def _before(router: LearnedRouter, text: str) -> Callable[[], object]:
    request = _request(router, text, keep=False)

    def run() -> object:
        router.decide(request)
        found = Evidence.read(router.model, text, base_version=router.version)
        return found.noised(router.model, text, NOISE)

    return run


def _now(router: LearnedRouter, text: str) -> tuple[Callable[[], object], Callable[[], object]]:
    request = _request(router, text, keep=True)
    found = router.decide(request).evidence
    assert found is not None

    def before_answer() -> object:
        return router.decide(request).evidence

    def after_answer() -> object:
        return found.noised(router.model, text, NOISE)

    return before_answer, after_answer


def _cpu_ms(run: Callable[[], object], times: int = 5) -> float:
    start = time.process_time()
    for _ in range(times):
        run()
    return (time.process_time() - start) / times * 1e3


def main(rounds: int, count: int) -> None:
    router = load_learned()
    texts = prompts(count * 4)
    texts.sort(key=len)
    for low, high in BUCKETS:
        chosen = [t for t in texts if low <= len(t) < high][:count]
        if not chosen:
            continue
        old: list[float] = []
        new: list[float] = []
        later: list[float] = []
        for _ in range(rounds):
            for text in chosen:
                before_answer, after_answer = _now(router, text)
                old.append(_cpu_ms(_before(router, text)))
                new.append(_cpu_ms(before_answer))
                later.append(_cpu_ms(after_answer))
        mean_len = statistics.mean(len(t) for t in chosen)
        o, n, a = statistics.median(old), statistics.median(new), statistics.median(later)
        print(
            f"prompts {low}-{high} chars ({len(chosen)}, mean {mean_len:.0f}): before the answer"
            f" {o:.3f} -> {n:.3f} ms ({n / o:.2f}); after the answer (answered) {a:.3f} ms;"
            f" in all {(n + a) / o:.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--prompts", type=int, default=150)
    args = parser.parse_args()
    main(args.rounds, args.prompts)
