"""Cost-quality metrics of routers (RouterBench's AIQ, RouteLLM's APGR and CPT).

A router traced over its cost weight gives points (average cost, average quality). Its curve is
the *non-decreasing upper convex hull* of those points: mixing two settings at random reaches any
point on the segment between them, and spending more never has to lower quality. AIQ is the area
under that curve between the cheapest and the most expensive single model, divided by that cost
range; below a curve's cheapest point the quality counts as zero (a router cannot be cheaper than
it is).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Points = npt.NDArray[np.float64]
"""Shape (n, 2): columns cost and quality."""


@dataclass(frozen=True, slots=True)
class CurveMetrics:
    aiq: float
    max_quality: float
    cost_to_match_best: float | None
    """Least cost on the curve that reaches the best single model's quality, as a share of that
    model's cost; None when the curve never reaches it."""


def upper_hull(points: Points) -> Points:
    """The non-decreasing upper convex hull, sorted by cost."""
    pts = np.asarray(points, dtype=np.float64)
    order = np.lexsort((-pts[:, 1], pts[:, 0]))
    hull: list[tuple[float, float]] = []
    best = -np.inf
    for c, q in pts[order]:
        if q <= best:
            continue  # dominated: not cheaper, not better
        best = q
        while len(hull) >= 2:
            (c1, q1), (c2, q2) = hull[-2], hull[-1]
            # drop the middle point when it lies on or under the chord
            if (q2 - q1) * (c - c1) <= (q - q1) * (c2 - c1):
                hull.pop()
            else:
                break
        hull.append((float(c), float(q)))
    return np.array(hull, dtype=np.float64)


def quality_at(hull: Points, cost: float) -> float:
    """Quality the curve reaches at ``cost``: 0 below its first point, flat after its last."""
    if cost < hull[0, 0]:
        return 0.0
    return float(np.interp(cost, hull[:, 0], hull[:, 1]))


def aiq(points: Points, c_min: float, c_max: float) -> float:
    """Average quality of the curve over [c_min, c_max]."""
    hull = upper_hull(points)
    xs = np.concatenate(([c_min], hull[:, 0], [c_max]))
    xs = np.unique(np.clip(xs, c_min, c_max))
    # a step at the hull's first point when it lies inside the range
    eps = 1e-12 * max(c_max - c_min, 1e-30)
    if c_min < hull[0, 0] <= c_max:
        xs = np.unique(np.concatenate((xs, [hull[0, 0] - eps])))
    ys = np.array([quality_at(hull, float(x)) for x in xs])
    return float(np.trapezoid(ys, xs) / (c_max - c_min))


def cost_to_reach(hull: Points, quality: float) -> float | None:
    """Least cost at which the curve reaches ``quality`` (interpolating along the hull)."""
    if hull[-1, 1] < quality - 1e-12:
        return None
    if hull[0, 1] >= quality:
        return float(hull[0, 0])
    i = min(int(np.searchsorted(hull[:, 1], quality)), len(hull) - 1)
    (c1, q1), (c2, q2) = hull[i - 1], hull[i]
    return float(c1 + (quality - q1) * (c2 - c1) / (q2 - q1))


def curve_metrics(points: Points, singles: Points) -> CurveMetrics:
    """AIQ, best quality and cost to match the best single model, against the single models."""
    c_min, c_max = float(singles[:, 0].min()), float(singles[:, 0].max())
    best = int(np.lexsort((singles[:, 0], -singles[:, 1]))[0])
    hull = upper_hull(points)
    reach = cost_to_reach(hull, float(singles[best, 1]))
    return CurveMetrics(
        aiq=aiq(points, c_min, c_max) if c_max > c_min else float(hull[-1, 1]),
        max_quality=float(hull[-1, 1]),
        cost_to_match_best=None if reach is None else reach / float(singles[best, 0]),
    )


def gap_closed(router_aiq: float, hull_aiq: float, oracle_aiq: float) -> float:
    """Share of the gap between the best-single hull and the oracle that a router closes."""
    if oracle_aiq <= hull_aiq:
        return 0.0
    return (router_aiq - hull_aiq) / (oracle_aiq - hull_aiq)


@dataclass(frozen=True, slots=True)
class TwoModelMetrics:
    apgr: float
    cpt50: float | None
    cpt80: float | None


def two_model_metrics(
    margin: npt.NDArray[np.float64],
    weak: npt.NDArray[np.float64],
    strong: npt.NDArray[np.float64],
) -> TwoModelMetrics:
    """RouteLLM's metrics. ``margin`` ranks prompts for the strong model (highest first).

    PGR(x) = (quality with a share x of calls to the strong model - weak) / (strong - weak);
    APGR averages PGR over x in [0, 1]; CPT(p) is the least share of strong calls reaching PGR p.
    """
    n = len(margin)
    order = np.argsort(-margin, kind="stable")
    gain = (strong - weak)[order]
    base, top = float(weak.mean()), float(strong.mean())
    quality = base + np.concatenate(([0.0], np.cumsum(gain))) / n  # k = 0..n strong calls
    span = top - base
    pgr = (quality - base) / span if span > 0 else np.zeros_like(quality)
    shares = np.arange(n + 1) / n
    return TwoModelMetrics(
        apgr=float(np.trapezoid(pgr, shares)),
        cpt50=_first_share(pgr, shares, 0.5),
        cpt80=_first_share(pgr, shares, 0.8),
    )


def _first_share(
    pgr: npt.NDArray[np.float64], shares: npt.NDArray[np.float64], target: float
) -> float | None:
    hits = np.flatnonzero(pgr >= target - 1e-12)
    return None if len(hits) == 0 else float(shares[hits[0]])
