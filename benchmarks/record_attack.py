"""Can a stored graded record confirm a guess of its prompt? The attack, per noise scale.

    PYTHONPATH=src python benchmarks/record_attack.py [--prompts 60] [--draws 5] [--keyed]
        [--out FILE]

The attacker reads the graded records and knows a prompt's template up to one secret: open9 test
prompts cut to 600 characters, then ``Reference <secret> case 0.``. The candidates are
``ZEBRAQUOKKA7731`` (the true secret), 999 other ``ZEBRAQUOKKA`` and four digits, and 1,000 random
eight-letter words. For each candidate the attacker reads the prompt with the shipped router
(``GradedRecord.of`` without noise: exactly what the record would be without noise) and ranks the
candidates by how near that reading is to the stored record. Three statistics: the latent
vectors' distance, the base predictions' distance, and both weighed as the noise weighs them
(the Gaussian likelihood: the attacker knows the noise's scale). For each noise scale, every
prompt's record is drawn ``--draws`` times (fresh noise each); reported per statistic: the share
of records whose true secret is ranked first, in the top 1 %, and the median rank. Chance: first
1 / 2,000, top 1 % 1 %, median rank 1,000.

``--keyed``: the records are kept as a gateway keeps them with its record key
(``record_noise.Keyed``: half the noise's variance fixed per prompt by the key, a new key per
draw), and a fourth case: an attacker who holds the key as well (``key known``), who adds each
candidate's fixed half to its exact reading before comparing.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import string
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SCALES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
TRUE = 0


def candidates() -> list[str]:
    """The true secret first, then 999 other numbers and 1,000 random words."""
    draw = random.Random(1)
    numbers = draw.sample([n for n in range(10_000) if n != 7731], 999)
    letters = string.ascii_uppercase
    out = [f"ZEBRAQUOKKA{n:04d}" for n in [7731, *numbers]]
    return out + ["".join(draw.choice(letters) for _ in range(8)) for _ in range(1000)]


def _with_fixed_half(
    lat: np.ndarray,
    base: np.ndarray,
    texts: list[str],
    sens: list[float],
    scale: float,
    key: bytes | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's exact reading plus the fixed half of its noise under ``key`` (what an
    attacker holding the key computes), drawn in the order ``Evidence.noised`` draws it."""
    from stellwerk.routing import record_noise

    assert key is not None
    share = record_noise.KEYED_SHARE**0.5
    lat_c, base_c = lat.copy(), base.copy()
    for i, (text, s) in enumerate(zip(texts, sens, strict=True)):
        fixed = record_noise.keyed(key, text).fixed
        lat_c[i] += fixed.normal(0.0, scale * s * share, size=lat.shape[1])
        base_c[i] += fixed.normal(0.0, scale * s * record_noise.BASE_SHARE * share, base.shape[1])
    return lat_c, base_c


def main() -> None:
    from stellwerk.routing import record_noise
    from stellwerk.routing.graded_record import GradedRecord
    from stellwerk.routing.loader import load_learned

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=60)
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--scales", default=",".join(map(str, SCALES)))
    parser.add_argument("--keyed", action="store_true", help="records under a record key")
    parser.add_argument("--out", type=Path, help="the figures as JSON")
    args = parser.parse_args()
    model = load_learned().model
    with gzip.open(REPO / "data/routing/open9.jsonl.gz", "rt") as lines:
        rows = [json.loads(line) for line in lines]
    test = [r["prompt"][:600] for r in rows if r["split"] == "test"]
    prompts = random.Random(0).sample(test, args.prompts)
    names = candidates()
    scales = [float(s) for s in args.scales.split(",")]
    stats = ("latent", "base", "both")
    found: dict[tuple[float, str, str], list[float]] = {}
    shifts = []
    rng = np.random.default_rng(0)
    draw = random.Random(2)
    for p in prompts:
        texts = [f"{p}\nReference {name} case 0." for name in names]
        exact = [GradedRecord.of(model, t, {}) for t in texts]
        lat = np.array([r.latent or [0.0] * 64 for r in exact])
        base = np.array([list(r.base.values()) for r in exact])
        shifts.append(float(np.median(np.linalg.norm(lat[1:] - lat[TRUE], axis=1))))
        sens = record_noise.sensitivity(model, texts[TRUE])
        every = [record_noise.sensitivity(model, t) for t in texts] if args.keyed else []
        for scale in scales:
            for _ in range(args.draws):
                key = rng.bytes(32) if args.keyed else None
                # the record of the true prompt, and of the prompt with another secret (the
                # chance of the guess 7731 being ranked high when it is wrong)
                # and ten records of the true prompt, averaged (one prompt graded ten times);
                # keyed: the true prompt's record read by an attacker who holds the key too
                for case, text, times in (
                    ("true", texts[TRUE], 1),
                    ("wrong", draw.choice(texts[1:]), 1),
                    ("true x10", texts[TRUE], 10),
                    *((("key known", texts[TRUE], 1),) if key else ()),
                ):
                    recs = [
                        GradedRecord.of(model, text, {}, noise=scale, rng=rng, key=key)
                        for _ in range(times)
                    ]
                    seen = np.mean([r.latent or [0.0] * 64 for r in recs], axis=0)
                    seen_base = np.mean([list(r.base.values()) for r in recs], axis=0)
                    sigma = max(scale * sens, 1e-12)
                    if case == "key known":  # each candidate's fixed half, as the key gives it
                        lat_c, base_c = _with_fixed_half(lat, base, texts, every, scale, key)
                        sigma *= (1.0 - record_noise.KEYED_SHARE) ** 0.5
                    else:
                        seen = seen / max(np.linalg.norm(seen), 1e-12)
                        lat_c, base_c = lat, base
                    d_lat = ((lat_c - seen) ** 2).sum(axis=1)
                    d_base = ((base_c - seen_base) ** 2).sum(axis=1)
                    both = d_lat / sigma**2 + d_base / (sigma * record_noise.BASE_SHARE) ** 2
                    for k, d in zip(stats, (d_lat, d_base, both), strict=True):
                        # ties: the guess ranked in the middle of its equals (a fair pick)
                        ties = int((d == d[TRUE]).sum())
                        rank = float((d < d[TRUE]).sum() + (ties + 1) / 2)
                        found.setdefault((scale, k, case), []).append(rank)
    print(
        f"{len(prompts)} prompts x {args.draws} draws, {len(names)} candidates; a candidate's "
        f"latent distance from the true one (median per prompt): median {np.median(shifts):.3f}, "
        f"max {max(shifts):.3f}"
    )
    print("rank of the guess 7731 among the candidates, in the record of the true prompt / of the")
    print("prompt with another secret (what chance gives this guess) / in ten records of the true")
    print("prompt averaged; pairs: the share of the other candidates the true one is nearer than")
    print("(how often the attacker, choosing between the truth and one other guess, is right)")
    print("| noise | statistic | first | top 1 % | median rank | pairs |")
    print("|---|---|---|---|---|---|")
    out: dict[str, dict[str, dict[str, float]]] = {}
    cases = ("true", "wrong", "true x10", *(("key known",) if args.keyed else ()))
    for scale in scales:
        for k in stats:
            row = []
            for case in cases:
                ranks = np.array(found[scale, k, case])
                figures = {
                    "first": float((ranks <= 1).mean()),
                    "top1pct": float((ranks <= len(names) // 100).mean()),
                    "median_rank": float(np.median(ranks)),
                    "pairs": float(((len(names) - ranks) / (len(names) - 1)).mean()),
                }
                out.setdefault(str(scale), {})[f"{k}/{case}"] = figures
                row.append(figures)

            def cells(key: str, form: str, row: list[dict[str, float]] = row) -> str:
                return " / ".join(format(f[key], form) for f in row)

            print(
                f"| {scale} | {k} | {cells('first', '.1%')} | {cells('top1pct', '.1%')} | "
                f"{cells('median_rank', '.0f')} | {cells('pairs', '.0%')} |"
            )
    if args.out:
        args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
