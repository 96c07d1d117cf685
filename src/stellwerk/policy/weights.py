"""Weights served under several catalog ids: consent holds for the weights; the rest is shown.

A data owner who withdraws consent for a model withdraws it for the weights trained on their
data: every catalog id that serves the same weights (``stellwerk.config.weights``) is refused
with it, and its running requests are cut (``stellwerk.gateway.cuts``). The map of who is
refused is made once per governance snapshot (``withdrawals``), so that a request reads it with
one lookup; the refusal names the model whose consent was withdrawn and its data owner.

A lifecycle state stays each id's own (an id may be retired when its weights are served on under
a new name); where ids of the same weights differ in it, or in their data owner, the compliance
view says so (``shared``: ``GET /admin/compliance``, the dashboard), as ``stellwerk config
check`` does for the config's facts. Their hosting is shown too, and cannot differ: a config
whose ids of the same weights state different hosting is refused at load
(``stellwerk.config.weights.hosting_errors``). Consent is shown but never among the differences:
one data owner's withdrawal holds for all the ids, so in effect it cannot differ (an id without a
data owner of its own has no consent of its own, which "data owner" says).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stellwerk.policy.state import ModelState

#: what is shown of each id of the same weights, as the catalog holds it now
FACTS: tuple[str, ...] = ("lifecycle", "consent", "data_owner", "hosting")
#: what they are compared in (``Shared.differs``): consent holds across them (module docstring)
COMPARED: tuple[str, ...] = tuple(f for f in FACTS if f != "consent")


@dataclass(frozen=True, slots=True)
class Shared:
    """Ids serving the same weights, in config order, and the facts (``COMPARED``) they differ
    in."""

    models: tuple[ModelState, ...]
    differs: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "models": [{"id": m.id, **{f: _fact(m, f) for f in FACTS}} for m in self.models],
            "differs": list(self.differs),
        }


def _fact(model: ModelState, fact: str) -> object:
    if fact == "lifecycle":
        return model.lifecycle
    if fact == "consent":  # as the admin API shows it: null without a data owner
        return model.owner_consent
    return getattr(model.config, fact)


def shared(models: Sequence[ModelState], same: Mapping[str, tuple[str, ...]]) -> list[Shared]:
    """Every group of ids serving the same weights (``same``: the other ids by id), in the
    order of their first id, with what they differ in."""
    by_id = {m.id: m for m in models}
    seen: set[str] = set()
    groups = []
    for model in models:
        if model.id in seen or model.id not in same:
            continue
        group = (model, *(by_id[i] for i in same[model.id] if i in by_id))
        seen.update(m.id for m in group)
        differs = tuple(f for f in COMPARED if len({repr(_fact(m, f)) for m in group}) > 1)
        groups.append(Shared(group, differs))
    return groups


def withdrawals(
    models: Sequence[ModelState], same: Mapping[str, tuple[str, ...]]
) -> dict[str, ModelState]:
    """Every model refused for consent, by id, with the model whose withdrawal refuses it: its
    own, or else the first (config order) of the ids serving the same weights (``same``: the
    other ids by id) whose consent is withdrawn."""
    withdrawn = {m.id: m for m in models if not m.consent}
    found: dict[str, ModelState] = {}
    for model in models:
        if model.id in withdrawn:
            found[model.id] = model
            continue
        for other in same.get(model.id, ()):
            if other in withdrawn:
                found[model.id] = withdrawn[other]
                break
    return found


def why_withdrawn(model_id: str, withdrawn: ModelState, done: str = "has withdrawn consent") -> str:
    """Why ``model_id`` is refused, ``withdrawn`` being the model whose consent was withdrawn
    (``done``: what its data owner did): ``its data owner 'legal' has withdrawn consent``, or
    for another id of the same weights ``it serves the same weights as model 'expert', whose
    data owner 'legal' has withdrawn consent``."""
    owner = withdrawn.config.data_owner
    who = "data owner" if owner is None else f"data owner {owner!r}"
    if withdrawn.id == model_id:
        return f"its {who} {done}"
    return f"it serves the same weights as model {withdrawn.id!r}, whose {who} {done}"
