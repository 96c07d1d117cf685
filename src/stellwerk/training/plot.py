"""The cost-quality plot of an evaluation (matplotlib, imported only here)."""

from __future__ import annotations

from pathlib import Path

from stellwerk.training.evaluate import Evaluation
from stellwerk.training.metrics import upper_hull


def plot_curves(evaluation: Evaluation, out: str | Path, *, title: str = "") -> None:
    """Draw every router's hull, the single models and the oracle into a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=120)
    try:
        for name, style in (
            ("stellwerk", "-"),
            ("stellwerk:no-memory", "-."),
            ("knn", "--"),
            ("mixture", ":"),
        ):
            if name not in evaluation.curves:
                continue
            hull = upper_hull(evaluation.curves[name])
            aiq = evaluation.routers[name]["aiq"]
            label = {
                "mixture": "random mixture of two (single-model hull)",
                "stellwerk:no-memory": "stellwerk without outcome memory",
            }.get(name, name)
            ax.plot(
                hull[:, 0] * 1e6, hull[:, 1], style, marker=".", label=f"{label}: AIQ {aiq:.3f}"
            )
        oracle = evaluation.curves["oracle"][-1]
        ax.scatter(
            [oracle[0] * 1e6],
            [oracle[1]],
            marker="*",
            s=160,
            color="black",
            label=f"oracle: AIQ {evaluation.routers['oracle']['aiq']:.3f}",
        )
        for name, points in evaluation.curves.items():
            if name.startswith("single:"):
                ax.scatter(points[:, 0] * 1e6, points[:, 1], s=18, color="grey")
                ax.annotate(
                    name.removeprefix("single:"),
                    (points[0, 0] * 1e6, points[0, 1]),
                    fontsize=7,
                    xytext=(3, 3),
                    textcoords="offset points",
                )
        ax.set_xlabel("average cost per prompt (millionths of the cost unit)")
        ax.set_ylabel("average quality")
        ax.set_title(title or "cost-quality curves on the test split")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out)
    finally:
        plt.close(fig)
