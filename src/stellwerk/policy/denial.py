"""The 403 of the policy filter when no model may serve a request: what the caller is told, and
what operators see.

A key is told only about its own models, as ``GET /v1/models`` shows it only the models it may
use: a model is the key's own when its department's and its use case's ``allowed_models`` let
it through (every model, where neither has a list). Of those, the key learns why each is out
(lifecycle, consent, compliance, hosting for the request's class). Every other model is summed
up, unnamed: ``3 other models are not available to this key``; a model the caller named is told
only which of its lists leaves it out. For a routed request, a model that cannot do the
request's kind (an embedding model, for chat) is left out of the caller's words entirely: it
could not have served it anyway.

Every model with the first rule it failed (the message as it always was) is the refusal's
``detail``: the gateway writes it to its log for operators, and an admin key is told it.
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
from stellwerk.errors import PermissionDenied, shown
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

    def error(self, refused: Sequence[Refused], *, admin: bool) -> PermissionDenied:
        """The 403: the caller's words (every model's for an admin), the full list as detail."""
        detail = self._message(refused, others=0)
        if admin:
            return PermissionDenied(detail, code="policy_denied", detail=detail)
        wanted = [r for r in refused if self._may_do(r.model)]
        own = [r for r in wanted if self._own(r)]
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
        if others and self.requested is not None:  # the caller named it: its lists say why
            parts.append(f"{self.requested}: {self._off_list(self.requested)}")
        elif others:
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

    def _off_list(self, model_id: str) -> str:
        """Why the key's own lists leave ``model_id`` out (the filter's words)."""
        found = off_lists(model_id, self.department, self.use_case)
        assert found is not None  # only a model that is not the key's own is asked about
        return found[1]

    def _own(self, refused: Refused) -> bool:
        """The model is one the key may know of (the module docstring): its lists let it
        through."""
        return off_lists(refused.model.id, self.department, self.use_case) is None
