"""``stellwerk router eval --holdout-task NAME [--adapt N]``: traffic the router never saw.

The rows of the held-out task (``NAME``, or every task of a family ``NAME_...`` of two or more:
``mmlu`` holds out all 57 MMLU subjects of routellm-mmlu-gsm8k; ``holdout_names``) are taken out
of training, whatever their split:

* **unadapted**: the router trained on the train rows of every other task;
* **graded traffic**: ``N`` of the held-out task's rows, drawn in a seeded order, become
  ``adapt.GradedRecord``s (what the gateway keeps: latent vector, base prediction, statistics,
  grades, task label; no text) and ``adapt.adapt`` (the gateway's code) adapts the unadapted
  router on them, in that order, judging routing at each model's mean cost over those rows;
* **judged rows**: the held-out task's other rows, less any whose prompt is also a training or a
  traffic prompt (so that no router is judged on a prompt it was shown);
* **in-distribution**: a router trained on the train rows of every task, the judged rows left
  out (so it has the traffic rows of the held-out task's train split), judged on the same rows.

**Rotations** (``rotation`` of ``rotations``): the seeded order is turned by ``rotation`` x
(rows / ``rotations``) before the ``N`` traffic rows are taken from its head, so that rotations
0 .. R-1 together judge every row of a small task once (250 rows, N = 200, R = 5: five disjoint
sets of 50) and take different traffic each time; one rotation (the default) is the plain
seeded draw. A benchmark reports the mean over the rotations: one draw of a small judged set is
mostly noise.

Every router is judged on the judged rows only, with the oracle and the single models of those
rows. **Other traffic** (``other_tasks``): an adaptation must not buy the held-out task's gain with
the rest of the traffic, so the adapted and the unadapted router are also judged on the other
tasks' test rows (at most ``OTHER_ROWS`` of them, seeded; none of them was traffic or judged), with
those rows' own oracle and single models; an adaptation that promoted nothing routes them as the
unadapted router. ``familiarity_auc`` is how well the unadapted router's familiarity separates the
judged prompts from the other tasks' test prompts (1: every other-task prompt is more familiar).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from stellwerk.errors import TrainingDataError
from stellwerk.routing.adapt import Adaptation, AdaptSettings, adapt
from stellwerk.routing.familiarity import DEFAULT_THRESHOLD, familiarity_auc
from stellwerk.routing.graded_record import GradedRecord
from stellwerk.routing.memory import prompt_digest
from stellwerk.routing.model import QualityModel
from stellwerk.training.data import ModelFacts, OutcomeData
from stellwerk.training.evaluate import Evaluation, evaluate
from stellwerk.training.train import Chosen, Progress, TrainSettings, quiet, train_quality_model

OTHER_ROWS = 1000
"""The other tasks' test rows judged at most (``other_tasks``)."""
MIN_JUDGED = 10
"""Fewer judged rows than this after ``--adapt N``: refused (nothing meaningful to judge)."""

F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class HoldoutOutcome:
    evaluation: Evaluation
    unadapted: QualityModel
    adaptation: Adaptation
    chosen: Chosen | None
    tasks: tuple[str, ...]
    """The tasks held out."""
    judged: int
    traffic: int
    familiarity_auc: float | None
    unfamiliar_share: dict[str, float]
    rotation: tuple[int, int] = (0, 1)
    """Which turn of the seeded order, of how many (module docstring)."""
    other_tasks: OtherTasks | None = None
    """Both routers on the other tasks' test rows (module docstring); None: there are none."""

    def as_json(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "tasks": len(self.tasks),
            "judged_rows": self.judged,
            "traffic_rows": self.traffic,
            "rotation": self.rotation[0],
            "rotations": self.rotation[1],
            "familiarity_auc": None
            if self.familiarity_auc is None
            else round(self.familiarity_auc, 6),
            "unfamiliar_share": {k: round(v, 4) for k, v in self.unfamiliar_share.items()},
            "adaptation": self.adaptation.as_json(),
            "other_tasks": None if self.other_tasks is None else self.other_tasks.as_json(),
        }


@dataclass(frozen=True)
class OtherTasks:
    """Gap closed by the unadapted and the adapted router on the other tasks' test rows."""

    rows: int
    unadapted: float
    adapted: float

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "unadapted_gap_closed": round(self.unadapted, 6),
            "adapted_gap_closed": round(self.adapted, 6),
        }


def holdout_names(tasks: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The names ``--holdout-task`` takes, each with the tasks it holds out: every task of the
    data, and every family of two or more tasks named ``FAMILY_...`` (``mmlu``: routellm's 57
    ``mmlu_...`` subjects; with a task named ``FAMILY`` itself, that one too). The start of one
    task's name (``arc`` of open9's ``arc_challenge``) is no name of its own."""
    known = sorted(set(tasks))
    names: dict[str, tuple[str, ...]] = {task: (task,) for task in known}
    families: dict[str, list[str]] = {}
    for task in known:
        head, underscore, _ = task.partition("_")
        if underscore:
            families.setdefault(head, []).append(task)
    for family, members in families.items():
        if len(members) >= 2:
            names[family] = (*names.get(family, ()), *members)
    return names


def _listed(names: Mapping[str, tuple[str, ...]]) -> str:
    """The names for a refusal: the tasks, and a family once, with its first and last task."""
    families = {name: held for name, held in names.items() if held != (name,)}
    inside = {task for held in families.values() for task in held}
    shown = []
    for name in sorted(names):
        held = names[name]
        if name in families:
            shown.append(
                f"{name} (its {len(held)} tasks {held[0]} ... {held[-1]}, each also on its own)"
            )
        elif name not in inside:
            shown.append(name)
    return ", ".join(shown)


def task_mask(data: OutcomeData, name: str) -> Mask:
    """The rows of task ``name``, or of the tasks of family ``name`` (``holdout_names``);
    refused, with the names there are, when ``name`` is neither."""
    names = holdout_names(data.tasks)
    if name not in names:
        raise TrainingDataError(
            f"--holdout-task {name!r} is not a task of the data (tasks: {_listed(names)})"
        )
    mask: Mask = np.isin(np.array(data.tasks), names[name])
    return mask


def holdout_evaluation(
    data: OutcomeData,
    facts: Mapping[str, ModelFacts],
    task: str,
    *,
    adapt_n: int = 0,
    seed: int = 0,
    rotation: int = 0,
    rotations: int = 1,
    settings: TrainSettings | None = None,
    adapt_settings: AdaptSettings | None = None,
    unadapted: QualityModel | None = None,
    in_distribution: bool = True,
    max_judged: int | None = None,
    progress: Progress = quiet,
    grading: str = "all",
    record_noise: float = 0.0,
) -> HoldoutOutcome:
    """Judge the unadapted, the adapted and the in-distribution router on the held-out task
    (module docstring). ``unadapted``: a router already trained without the task (to reuse);
    ``max_judged``: judge on at most this many rows, the first in the seeded order (to bound a
    benchmark's time); ``rotation`` of ``rotations``: which turn of the seeded order (module
    docstring); ``grading``: how the traffic is graded, ``record_noise``: how noisy its records
    are kept (``adapt_on_traffic``)."""
    from stellwerk.training.workflow import knn_baseline, predict_table

    settings = settings or TrainSettings()
    held = task_mask(data, task)
    base_train = ~held & ~data.is_test
    if not base_train.any():
        raise TrainingDataError(f"--holdout-task {task!r}: no train rows are left for training")
    if adapt_n < 0:
        raise TrainingDataError(f"--adapt must be 0 or more, not {adapt_n}")
    order = _order(data, task, seed, rotation, rotations)
    rows = np.sort(order)
    traffic = order[:adapt_n]
    shown = {prompt_digest(data.prompts[i]) for i in traffic}
    shown |= {prompt_digest(data.prompts[i]) for i in np.flatnonzero(base_train)}
    judged = np.zeros(len(data), dtype=np.bool_)
    new = [i for i in order[adapt_n:] if prompt_digest(data.prompts[i]) not in shown]
    judged[new[:max_judged]] = True
    if judged.sum() < MIN_JUDGED:
        raise TrainingDataError(
            f"--holdout-task {task!r} has {len(rows)} rows; --adapt {adapt_n} leaves"
            f" {int(judged.sum())} new prompts to judge (at least {MIN_JUDGED} are needed)"
        )
    test = data.subset(judged)
    costs = test.costs(facts)  # fail before training when there is no way to cost the data

    chosen = None
    if unadapted is None:
        unadapted, chosen = train_quality_model(
            as_split(data, base_train), facts, settings, progress
        )
    adaptation = adapt_on_traffic(
        data, facts, traffic, unadapted, seed, adapt_settings, grading, record_noise
    )
    predictions = {
        "stellwerk": predict_table(adaptation.model, test, facts, progress),
        "stellwerk:unadapted": predict_table(unadapted, test, facts, progress),
    }
    if in_distribution:
        in_train = ~data.is_test & ~judged
        if (in_train == base_train).all():
            in_model = unadapted  # the same rows: the same router
        else:
            in_model, _ = train_quality_model(as_split(data, in_train), facts, settings, progress)
        predictions["stellwerk:in-distribution"] = predict_table(in_model, test, facts, progress)
    predictions["knn"] = knn_baseline(as_split(data, base_train, judged), settings.bits)
    evaluation = evaluate(test.models, test.scores, costs, predictions)

    other_rows = ~held & data.is_test
    others = data.subset(other_rows).prompts
    other_tasks = _other_tasks(data, facts, other_rows, unadapted, adaptation, seed)
    judged_fam = _familiarities(unadapted, test.prompts)
    other_fam = _familiarities(unadapted, others)
    adapted_fam = _familiarities(adaptation.model, test.prompts)
    adapted_other = _familiarities(adaptation.model, others)
    auc = familiarity_auc(judged_fam, other_fam) if len(others) else None
    return HoldoutOutcome(
        evaluation=evaluation,
        unadapted=unadapted,
        adaptation=adaptation,
        chosen=chosen,
        tasks=tuple(sorted({data.tasks[i] for i in rows})),
        judged=int(judged.sum()),
        traffic=len(traffic),
        familiarity_auc=auc,
        unfamiliar_share={
            "held_out_unadapted": _share(judged_fam),
            "held_out_adapted": _share(adapted_fam),
            "other_tasks_unadapted": _share(other_fam),
            "other_tasks_adapted": _share(adapted_other),
        },
        rotation=(rotation, rotations),
        other_tasks=other_tasks,
    )


def traffic_rows(
    data: OutcomeData,
    task: str,
    adapt_n: int,
    seed: int = 0,
    rotation: int = 0,
    rotations: int = 1,
) -> npt.NDArray[np.int64]:
    """The rows of the held-out task taken as graded traffic by ``--adapt adapt_n``."""
    return _order(data, task, seed, rotation, rotations)[:adapt_n]


def _order(
    data: OutcomeData, task: str, seed: int, rotation: int, rotations: int
) -> npt.NDArray[np.int64]:
    """The held-out task's rows in the seeded order, turned to ``rotation`` of ``rotations``
    (module docstring): traffic is taken from the head, judged rows from the rest."""
    if rotations < 1 or not 0 <= rotation < rotations:
        raise TrainingDataError(
            f"rotation {rotation} of {rotations}: needs 1 or more rotations and 0 <= rotation <"
            " rotations"
        )
    rows = np.flatnonzero(task_mask(data, task))
    order: npt.NDArray[np.int64] = rows[np.random.default_rng(seed).permutation(len(rows))]
    return np.roll(order, -(rotation * len(rows) // rotations))


GRADINGS = ("all", "shadow", "shadow+1")
"""How the traffic rows are graded (``adapt_on_traffic``)."""
SHADOW_COST_WEIGHT = 0.5
"""The cost weight the simulated shadow grading picks the routed model at (``auto``'s)."""


def adapt_on_traffic(
    data: OutcomeData,
    facts: Mapping[str, ModelFacts],
    traffic: npt.NDArray[np.int64],
    unadapted: QualityModel,
    seed: int = 0,
    settings: AdaptSettings | None = None,
    grading: str = "all",
    record_noise: float = 0.0,
) -> Adaptation:
    """``adapt`` on the ``traffic`` rows as graded records, in order, judging routing at each
    model's mean cost over them. ``grading`` ``all``: every model's score is a grade (what the
    data knows); ``shadow``: what the gateway's shadow grading keeps, ``shadow+1`` one more model
    a request (``shadow_grades``). ``record_noise``: the records kept as the gateway keeps them
    with ``router.record_noise`` (0: exact readings), the noise drawn from a generator seeded
    with ``seed``, so a run is reproduced."""
    if grading not in GRADINGS:
        raise TrainingDataError(f"grading {grading!r}: one of {', '.join(GRADINGS)}")
    if grading == "all":
        grades = [dict(zip(data.models, data.scores[i].tolist(), strict=True)) for i in traffic]
    else:
        extra = grading == "shadow+1"
        grades = shadow_grades(data, facts, traffic, unadapted, extra=extra, seed=seed)
    rng = np.random.default_rng(seed + 13)
    records = [
        GradedRecord.of(
            unadapted, data.prompts[i], g, task=data.tasks[i], noise=record_noise, rng=rng
        )
        for i, g in zip(traffic, grades, strict=True)
    ]
    costs = _mean_costs(data, traffic, facts)
    return adapt(unadapted, records, seed=seed, settings=settings, costs=costs)


def shadow_grades(
    data: OutcomeData,
    facts: Mapping[str, ModelFacts],
    rows: npt.NDArray[np.int64],
    router: QualityModel,
    *,
    extra: bool = False,
    seed: int = 0,
) -> list[dict[str, float]]:
    """The grades the gateway's shadow grading would keep for ``rows``, with an ideal judge: the
    model ``router`` picks at the ``auto`` route's cost weight, graded relative to the reference
    (the model of the highest rating, ``LearnedRouter.rating``: the highest offset among trained
    ones) as the gateway grades it (1: as good as the reference; its score over the
    reference's otherwise), and the reference's own grade, 1; only the reference's 1 when the
    router picked it (docs/router.md, shadow grading). ``extra`` (``shadow+1``, not what the
    gateway does today): one more model per request, drawn (seeded) from the others, graded
    against the same reference: what a third answer per graded request would teach."""
    from stellwerk.routing.learned import choose

    columns = [data.models.index(m) for m in router.models]
    reference = int(np.argmax(router.offsets))
    mask = np.zeros(len(data), dtype=np.bool_)
    mask[rows] = True
    costs = data.subset(mask).costs(facts)[:, columns]
    order = np.argsort(np.argsort(rows))  # subset keeps data order; rows may be in any order
    quality = np.array([router.read(data.prompts[i]).quality for i in rows])
    picks = choose(quality, costs[order], SHADOW_COST_WEIGHT)
    draw = np.random.default_rng(seed + 7)
    out = []
    for i, pick in zip(rows, picks, strict=True):
        ref_score = float(data.scores[i, columns[reference]])
        graded = {int(pick)}
        if extra:
            others = [j for j in range(len(columns)) if j not in (reference, int(pick))]
            if others:  # two models only: there is no third one to grade
                graded.add(int(draw.choice(others)))
        grades = {router.models[reference]: 1.0}
        for j in sorted(graded - {reference}):
            own = float(data.scores[i, columns[j]])
            grades[router.models[j]] = 1.0 if own >= ref_score else own / ref_score
        out.append(grades)
    return out


def as_split(data: OutcomeData, train: Mask, test: Mask | None = None) -> OutcomeData:
    """The rows of ``train`` (as the train split) and of ``test`` (as the test split)."""
    keep = train if test is None else train | test
    sub = data.subset(keep)
    is_test = np.zeros(len(sub), dtype=np.bool_) if test is None else test[keep]
    return replace(sub, is_test=is_test)


def _mean_costs(
    data: OutcomeData, rows: npt.NDArray[np.int64], facts: Mapping[str, ModelFacts]
) -> dict[str, float] | None:
    """Each model's mean cost over the traffic ``rows`` (what adaptation judges routing at)."""
    if not len(rows):
        return None
    mask = np.zeros(len(data), dtype=np.bool_)
    mask[rows] = True
    costs = data.subset(mask).costs(facts).mean(axis=0)
    return {m: float(c) for m, c in zip(data.models, costs, strict=True)}


def _other_tasks(
    data: OutcomeData,
    facts: Mapping[str, ModelFacts],
    rows: Mask,
    unadapted: QualityModel,
    adaptation: Adaptation,
    seed: int,
) -> OtherTasks | None:
    """Both routers judged on at most ``OTHER_ROWS`` of ``rows`` (seeded; module docstring)."""
    from stellwerk.training.workflow import predict_table

    index = np.flatnonzero(rows)
    if len(index) < MIN_JUDGED:
        return None
    keep = np.zeros(len(data), dtype=np.bool_)
    keep[np.random.default_rng(seed).permutation(index)[:OTHER_ROWS]] = True
    other = data.subset(keep)
    before = predict_table(unadapted, other, facts, quiet)
    after = predict_table(adaptation.model, other, facts, quiet) if adaptation.promoted else before
    routers = evaluate(other.models, other.scores, other.costs(facts), {"u": before, "a": after})
    return OtherTasks(
        rows=len(other),
        unadapted=float(routers.routers["u"]["gap_closed"]),
        adapted=float(routers.routers["a"]["gap_closed"]),
    )


def _familiarities(model: QualityModel, prompts: tuple[str, ...]) -> F64:
    return np.array([model.read(p).familiarity or 0.0 for p in prompts])


def _share(familiarity: F64) -> float:
    return float((familiarity < DEFAULT_THRESHOLD).mean()) if len(familiarity) else 0.0
