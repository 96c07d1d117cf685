"""Adaptation from graded traffic: what a router learns, when it is promoted, what is kept."""

from __future__ import annotations

import io
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest

from stellwerk.errors import TrainingDataError
from stellwerk.routing.adapt import (
    AdaptSettings,
    DepartmentGain,
    adapt,
    compare,
    predict_records,
)
from stellwerk.routing.artifact import Artifact
from stellwerk.routing.correction import FORMS
from stellwerk.routing.correction_blob import dump_correction, load_correction
from stellwerk.routing.graded_record import GradedRecord
from stellwerk.routing.model import QualityModel
from stellwerk.training.data import load_outcomes

# a kind of prompt the slice of open9 does not have: unit conversions in one template
NEW_KIND = [
    f"Convert {n} furlongs per fortnight into millimetres per hour, rounding to {n % 4} decimals."
    for n in range(3, 123)
]


def _graded(model: QualityModel, prompts: list[str], best: str) -> list[GradedRecord]:
    """Records in which ``best`` always succeeds and every other model fails."""
    return [
        GradedRecord.of(model, p, {m: 1.0 if m == best else 0.0 for m in model.models})
        for p in prompts
    ]


def _worst(model: QualityModel, prompt: str) -> str:
    quality = model.predict(prompt)[0]
    return model.models[int(np.argmin(quality))]


def test_the_router_learns_what_graded_traffic_says(trained: Artifact) -> None:
    model = trained.model
    best = _worst(model, NEW_KIND[0])  # the model the router likes least for this kind
    result = adapt(model, _graded(model, NEW_KIND[:100], best), seed=1)
    assert result.promoted
    assert result.comparison is not None
    assert result.comparison.candidate_error < result.comparison.current_error
    unseen = NEW_KIND[110]
    before, after = model.predict(unseen)[0], result.model.predict(unseen)[0]
    j = model.models.index(best)
    assert after[j] > before[j] + 0.2
    assert int(np.argmax(after)) == j


@pytest.mark.parametrize("form", FORMS)
def test_prompts_unlike_the_traffic_keep_their_prediction(
    trained: Artifact, open9_slice: Path, form: str
) -> None:
    model = trained.model
    settings = AdaptSettings(form_grid=(form,))
    result = adapt(
        model, _graded(model, NEW_KIND[:100], model.models[0]), seed=1, settings=settings
    )
    assert result.promoted and result.form == form
    data = load_outcomes(open9_slice)
    shifts = [
        np.abs(result.model.predict(p)[0] - model.predict(p)[0]).max()
        for p in data.test().prompts[:40]
    ]
    assert float(np.median(shifts)) < 0.02


def test_a_candidate_no_better_is_not_promoted(trained: Artifact) -> None:
    model = trained.model
    # grades equal to what the router already predicts: nothing to learn, nothing promoted
    records = [GradedRecord.of(model, p, {m: 0.0 for m in model.models}) for p in NEW_KIND[:40]]
    records = [replace(r, grades=dict(r.base)) for r in records]
    result = adapt(model, records, seed=0)
    assert not result.promoted
    assert result.model is model
    assert result.reasons == ("no_gain",)  # the audit entry says why, in the run's own words
    assert result.as_json()["reasons"] == ["no_gain"]
    assert result.best_form in FORMS and result.as_json()["best_form"] == result.best_form


def test_a_lower_error_that_routes_the_same_is_not_promoted(trained: Artifact) -> None:
    model = trained.model
    # every grade halfway between the prediction and 1: the router's order of the models is
    # already right, so a correction lowers the error but would pick the same models
    records = [GradedRecord.of(model, p, {m: 0.0 for m in model.models}) for p in NEW_KIND[:80]]
    records = [replace(r, grades={m: 0.5 + 0.5 * q for m, q in r.base.items()}) for r in records]
    result = adapt(model, records, seed=0)
    assert result.comparison is not None
    assert result.comparison.candidate_error < result.comparison.current_error
    assert result.comparison.gain < 0.001  # about the same picks: no better routing
    assert not result.promoted and result.model is model


def test_too_few_judged_records_promote_nothing(trained: Artifact) -> None:
    model = trained.model
    best = _worst(model, NEW_KIND[0])
    result = adapt(model, _graded(model, NEW_KIND[:15], best), seed=0)
    assert result.comparison is not None and result.comparison.records == 15
    assert result.comparison.min_records == 20  # 15 records are too few to promote anything
    assert not result.promoted
    assert result.reasons[0] == "too_few_judged"
    # one graded model per record cannot tell two routers apart: nothing is judged
    single = [replace(r, grades={best: 1.0}) for r in _graded(model, NEW_KIND[:40], best)]
    nothing = adapt(model, single, seed=0)
    judged = nothing.comparison
    assert judged is not None and judged.records == 0
    assert nothing.reasons == ("too_few_judged",)  # no gain to speak of, and no best form
    assert nothing.best_form is None
    assert adapt(model, single[:3], seed=0).reasons == ("too_few_records",)


def test_routing_is_judged_at_the_models_costs(trained: Artifact) -> None:
    model = trained.model
    cheap, dear = model.models[0], model.models[1]
    # both models always succeed: at any cost weight above 0 the cheaper one is the better pick
    records = [GradedRecord.of(model, p, {cheap: 1.0, dear: 1.0}) for p in NEW_KIND[80:120]]
    costs = {cheap: 1.0, dear: 10.0}
    same = compare(model, model, records, costs=costs)
    assert same.gain == 0.0 and same.records == len(records)
    # at cost weight 0 the pick is the model predicted best; above it the cost counts
    assert same.current_score <= 1.0
    free = compare(model, model, records)
    assert free.current_score == 1.0  # both succeed: whatever is picked scores 1


def test_compare_judges_on_held_out_grades(trained: Artifact) -> None:
    model = trained.model
    best = _worst(model, NEW_KIND[0])
    records = _graded(model, NEW_KIND, best)
    fitted = adapt(model, records[:80], seed=0).model
    held = records[80:]
    better = compare(model, fitted, held)
    assert better.better and better.records == len(held)
    # the other way round the adapted router is the current one, and the base is not better
    assert not compare(fitted, model, held).better


def test_adaptation_is_deterministic(trained: Artifact) -> None:
    model = trained.model
    records = _graded(model, NEW_KIND[:60], model.models[1])
    a, b = adapt(model, records, seed=3), adapt(model, records, seed=3)
    assert a.as_json() == b.as_json()
    assert np.array_equal(predict_records(a.model, records), predict_records(b.model, records))


def test_the_comparison_says_which_department_gained(trained: Artifact, open9_slice: Path) -> None:
    """Legal's graded requests are of a kind the router gets wrong; research's are benchmark
    prompts like its training data, with their real grades: the whole gains, and the breakdown
    shows that legal's requests carried the gain and research's did not."""
    model = trained.model
    best = _worst(model, NEW_KIND[0])
    legal = [replace(r, department="legal") for r in _graded(model, NEW_KIND[:60], best)]
    known = load_outcomes(open9_slice).test()
    research = [
        replace(
            GradedRecord.of(model, p, dict(zip(known.models, map(float, row), strict=True))),
            department="research",
        )
        for p, row in zip(known.prompts[:80], known.scores[:80], strict=True)
    ]
    unnamed = _graded(model, NEW_KIND[60:70], best)  # no department: counted in the whole only
    records = [r for pair in zip(legal, research, strict=False) for r in pair]
    records += research[len(legal) :] + unnamed
    result = adapt(model, records, seed=0)
    assert result.promoted and result.comparison is not None
    by = result.comparison.departments
    assert list(by) == ["legal", "research"]
    assert (by["legal"].records, by["research"].records) == (60, 80)
    assert result.comparison.records == 150
    legal_gain, research_gain = by["legal"], by["research"]
    assert legal_gain.standard_error is not None and research_gain.standard_error is not None
    assert legal_gain.gain > 0.5 and legal_gain.gain > 2 * legal_gain.standard_error
    assert abs(research_gain.gain) < 2 * research_gain.standard_error  # no gain to speak of
    # the audit entry and the version store keep it (``as_json``), rounded, in name order
    figures = result.as_json()["comparison"]["departments"]
    assert list(figures) == ["legal", "research"]
    assert figures["research"] == {
        "records": 80,
        "gain": round(research_gain.gain, 6),
        "standard_error": round(research_gain.standard_error, 6),
    }


def test_a_gain_paid_for_by_one_department_is_not_promoted(
    trained: Artifact, open9_slice: Path
) -> None:
    """Legal's requests are of a kind the router gets wrong; research's are graded exactly as
    the router predicts them, so no correction can help them and any can hurt. The correction
    legal's grades carry is better for the whole, and worse for research: not promoted. The same
    records without departments would promote it."""
    model = trained.model
    best = _worst(model, NEW_KIND[0])
    legal = [replace(r, department="legal") for r in _graded(model, NEW_KIND[:60], best)]
    known = load_outcomes(open9_slice).test()
    research = [
        GradedRecord.of(model, p, {m: 0.0 for m in model.models}) for p in known.prompts[:80]
    ]
    research = [replace(r, grades=dict(r.base), department="research") for r in research]
    records = [r for pair in zip(legal, research, strict=False) for r in pair]
    records += research[len(legal) :]
    result = adapt(model, records, seed=0)
    assert result.comparison is not None
    assert result.comparison.gain > 2 * result.comparison.standard_error  # better as a whole
    assert result.comparison.worse_for == ("research",)
    assert not result.promoted and result.model is model
    assert result.as_json()["comparison"]["worse_for"] == ["research"]
    anonymous = adapt(model, [replace(r, department=None) for r in records], seed=0)
    assert anonymous.promoted


def test_a_department_of_one_judged_record_has_no_standard_error(trained: Artifact) -> None:
    model = trained.model
    best = _worst(model, NEW_KIND[0])
    records = _graded(model, NEW_KIND[:30], best)
    records[0] = replace(records[0], department="ops")
    comparison = compare(model, model, records)
    assert comparison.departments == {"ops": DepartmentGain(1, 0.0, None)}
    assert comparison.as_json()["departments"] == {
        "ops": {"records": 1, "gain": 0.0, "standard_error": None}
    }


def test_a_record_keeps_no_text(trained: Artifact) -> None:
    secret = "The launch code of project Nightingale is 7-alpha-tango; say it back."
    record = GradedRecord.of(trained.model, secret, {trained.model.models[0]: 1.0}, task="ops")
    kept = {f.name for f in fields(GradedRecord)}
    assert kept == {"latent", "base", "grades", "stats", "task", "department"}
    text = repr(record)
    for word in ("launch", "Nightingale", "7-alpha", "tango"):
        assert word not in text
    assert all(isinstance(x, float) for x in record.latent + record.stats)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"latent": (0.5, 0.5)}, "latent"),
        ({"grades": {"x": 1.5}}, r"outside \[0, 1\]"),
        ({"base": {}}, "no prediction"),
    ],
)
def test_bad_records_are_refused_naming_the_field(
    trained: Artifact, change: dict[str, object], message: str
) -> None:
    record = GradedRecord.of(trained.model, NEW_KIND[0], {trained.model.models[0]: 1.0})
    with pytest.raises(TrainingDataError, match=message):
        adapt(trained.model, [replace(record, **change)] * 10)  # type: ignore[arg-type]


def test_a_correction_survives_dump_and_load(trained: Artifact) -> None:
    model = trained.model
    adapted = adapt(model, _graded(model, NEW_KIND[:100], model.models[2]), seed=0).model
    assert adapted.correction is not None
    again = load_correction(model, dump_correction(adapted.correction))
    assert again.correction is not None and again.correction.form == adapted.correction.form
    for prompt in NEW_KIND[100:105]:
        assert np.array_equal(again.predict(prompt)[0], adapted.predict(prompt)[0])
    with pytest.raises(TrainingDataError, match="plain arrays"):
        load_correction(model, b"not an npz")


def test_a_correction_kept_before_the_forms_loads_as_the_shared_form(trained: Artifact) -> None:
    model = trained.model
    settings = AdaptSettings(form_grid=("shared",))
    adapted = adapt(model, _graded(model, NEW_KIND[:100], model.models[2]), settings=settings)
    assert adapted.model.correction is not None
    with np.load(io.BytesIO(dump_correction(adapted.model.correction))) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays["settings"] = arrays["settings"][:2]  # k and tau only, as versions were kept before
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    again = load_correction(model, buf.getvalue())
    assert again.correction is not None and again.correction.form == "shared"
    assert np.array_equal(again.predict(NEW_KIND[110])[0], adapted.model.predict(NEW_KIND[110])[0])
