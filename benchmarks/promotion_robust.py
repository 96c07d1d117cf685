"""Three more families of promotion rules for issue 18 (stop 32), judged beside the others by
``record_noise_learning.py rules`` on the noisy and the exact draws.

* *Trimmed*: the best form's gain recomputed without the share ``q`` of graded requests that
  gained most, promoted above ``m`` standard errors of the trimmed mean: a candidate that wins on
  a few lucky requests is not promoted.
* *Forms agree*: at least ``need`` of the three forms gain more than ``m`` standard errors; the
  best of them is promoted: a correction every reading of the neighbours supports.
* *Share of the headroom*: the shipped test at margin ``m``, and a gain of at least ``share`` of
  the rotation's headroom (``promotion_headroom.headroom``): a candidate that takes a small bite
  of a large room is not promoted.
"""

from __future__ import annotations

import numpy as np

from benchmarks.promotion_headroom import headroom
from benchmarks.promotion_rules import Rotation, Rule, _best, margin


def trimmed(m: float, q: float) -> Rule:
    def rule(rot: Rotation) -> str | None:
        form, e = _best(rot)
        gains = np.sort(np.asarray(e["per_record"], dtype=float))
        if not e["fitted"] or len(gains) < 20:
            return None
        kept = gains[: len(gains) - int(len(gains) * q)]
        se = kept.std(ddof=1) / np.sqrt(len(kept))
        return form if kept.mean() > m * se else None

    return rule


def forms_agree(m: float, need: int) -> Rule:
    def rule(rot: Rotation) -> str | None:
        passing = [
            (e["gain"], form)
            for form, e in rot["forms"].items()
            if e["fitted"] and e["records"] >= 20 and e["gain"] > m * e["se"]
        ]
        return max(passing)[1] if len(passing) >= need else None

    return rule


def headroom_share(m: float, share: float) -> Rule:
    def rule(rot: Rotation) -> str | None:
        form = margin(m)(rot)
        if form is None:
            return None
        return form if rot["forms"][form]["gain"] >= share * headroom(rot) else None

    return rule


def robust_rules() -> dict[str, Rule]:
    out: dict[str, Rule] = {}
    for m in (1.0, 1.5, 2.0, 2.5):
        for q in (0.02, 0.05, 0.1):
            out[f"trimmed of the top {q:.0%}, margin {m}"] = trimmed(m, q)
    for m in (0.5, 1.0, 1.5, 2.0):
        for need in (2, 3):
            out[f"{need} forms agree, margin {m}"] = forms_agree(m, need)
    for m in (1.0, 2.0):
        for share in (0.05, 0.1, 0.2):
            out[f"margin {m}, gain >= {share} x headroom"] = headroom_share(m, share)
    return out
