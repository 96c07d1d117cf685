"""The 403 of the policy filter when no model may serve a request: what the caller is told, and
what operators see.

A key is told only about the models it may see, those ``GET /v1/models`` lists for it (for data of
its own class): a model is one of them when its department's and its use case's
``allowed_models`` let it through (every model, where neither has a list) and the catalog offers
it (its lifecycle, consent and compliance let it serve). Of those, the key learns why each is out
of this request: its hosting, where the request's class may not go. Every other model is summed
up, unnamed: ``3 other models are not available to this key``. A model the caller named and may
not see is answered as an unknown one (``NotFound``, 404): a refusal naming it would tell the key
that it exists, which ``GET /v1/models/{model}`` and ``/api/show`` do not. For a routed request, a
model that cannot do the request's kind (an embedding model, for chat) is left out of the caller's
words entirely: it could not have served it anyway.

Every model with the first rule it failed (the message as it always was) is the refusal's
``detail``: the gateway writes it to its log for operators, and an admin or viewer key (which
reads the whole catalog, ``GET /admin/models``) is told it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stellwerk.config.schema import (
    Classification,
    DepartmentConfig,
    GovernanceConfig,
    UseCaseConfig,
)
from stellwerk.errors import NotFound, PermissionDenied, RequestError, shown
from stellwerk.policy.allow_lists import off_lists
from stellwerk.policy.classification import allowed_hosting
from stellwerk.policy.state import ModelState


@dataclass(frozen=True, slots=True)
class Refused:
    """One model the policy filter refused, the rule (``filter.Rule``) and why."""

    model: ModelState
    rule: str
    why: str


@dataclass(frozen=True, slots=True)
class Denial:
    """What a refusal needs to say: whose request, of which class, for which kind."""

    department: DepartmentConfig
    use_case: UseCaseConfig | None
    classification: Classification
    rules: GovernanceConfig
    requested: str | None = None
    kind: str | None = None  # the capability a routed request needs: chat, completion ...

    def error(self, refused: Sequence[Refused], *, admin: bool) -> RequestError:
        """The 403: the caller's words (every model's for an admin), the full list as detail;
        a model named in the request that the caller may not see is a 404 (``unseen``)."""
        detail = self._message(refused, others=0)
        if admin:
            return PermissionDenied(detail, code="policy_denied", detail=detail)
        wanted = [r for r in refused if self._may_do(r.model)]
        own = [r for r in wanted if self._own(r)]
        if self.requested is not None and not own:
            return unseen(self.requested, detail=detail)
        message = self._message(own, others=len(wanted) - len(own))
        return PermissionDenied(message, code="policy_denied", detail=detail)

    def _message(self, refused: Sequence[Refused], *, others: int) -> str:
        if self.requested is not None:
            head = f"model {shown(self.requested)} may not serve this request"
        else:
            head = "no model may serve this request"
        clause = ""
        if any(r.rule == "hosting" for r in refused):  # said only where it is a reason
            hosting = ", ".join(allowed_hosting(self.classification, self.rules)) or "nowhere"
            clause = f" (classification {self.classification} may go only to {hosting})"
        parts = [f"{r.model.id}: {r.why}" for r in refused]
        if others:
            parts.append(
                f"{others} other model{' is' if others == 1 else 's are'} not available to this key"
            )
        if not parts and self.kind is not None:
            parts.append(f"no {self.kind} model is available to this key")
        elif not parts:
            parts.append("no models are configured")
        return f"{head} of department {self.department.name!r}{clause}: " + "; ".join(parts)

    def _may_do(self, model: ModelState) -> bool:
        """The model can do the routed request's kind (a named model is always counted)."""
        if self.requested is not None or self.kind is None:
            return True
        return self.kind in model.config.capabilities

    def _own(self, refused: Refused) -> bool:
        """The model is one the key may see (the module docstring): its lists let it through,
        and only the request's class keeps it out (the rules before hosting passed it)."""
        if refused.rule != "hosting":
            return False
        return off_lists(refused.model.id, self.department, self.use_case) is None


def unseen(model_id: str, *, detail: str | None = None) -> NotFound:
    """The 404 of a model the caller may not see, in the words of one that does not exist (the
    gateway words it for its APIs: ``gateway.selection``); ``detail``, why, is for operators'
    log only: its usage record says what the client was told, ``model_not_found``."""
    return NotFound(
        f"unknown model {shown(model_id)}",
        param="model",
        code="model_not_found",
        detail=detail,
    )
