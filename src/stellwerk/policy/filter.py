"""The policy filter: of all models, the ones that may serve this request, or a 403 saying why.

It runs before the router, so a router never sees a model the request may not use. A model may
serve a request when all of these hold (checked in this order; the first that fails is the reason):

1. lifecycle: approved, or in review and the department is a pilot;
2. consent: its data owner has not withdrawn consent, nor has the data owner of another model
   serving the same weights (``stellwerk.policy.weights``);
3. compliance: it has every fact its risk tier requires (only when ``compliance_mode: block``);
4. hosting: its hosting location is allowed for the request's data classification (a location
   the config does not state counts as the least trusted: ``classification.may_go``);
5. department: it is on the department's ``allowed_models`` (when that list is set);
6. use case: it is on the key's use case's ``allowed_models`` (when the key is bound to one).

Rules 5 and 6, the key's allow-lists, live in ``stellwerk.policy.allow_lists``: the 403 reads them
there too.

When none may, the 403 names only the models the caller may see, and a model it named but may
not see is a 404 as an unknown one is (``stellwerk.policy.denial``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from stellwerk.config.base import READERS
from stellwerk.config.schema import (
    Classification,
    DepartmentConfig,
    GovernanceConfig,
    StellwerkConfig,
    UseCaseConfig,
)
from stellwerk.errors import PermissionDenied
from stellwerk.policy.allow_lists import off_lists
from stellwerk.policy.classification import may_go
from stellwerk.policy.compliance import check_model, check_use_case
from stellwerk.policy.denial import Denial, Refused, unseen
from stellwerk.policy.lifecycle import is_routable, why_not_routable
from stellwerk.policy.state import ModelState
from stellwerk.policy.weights import why_withdrawn

Rule = Literal["lifecycle", "consent", "compliance", "hosting", "department", "use_case"]
"""The rules of the module docstring, by name."""


class PrincipalLike(Protocol):
    """What the filter needs to know about the caller (the gateway's principal has it)."""

    @property
    def department(self) -> str: ...
    @property
    def key_id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def use_case(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class PolicyFilter:
    rules: GovernanceConfig
    departments: Mapping[str, DepartmentConfig]
    use_cases: Mapping[str, UseCaseConfig]
    evaluated: frozenset[str] = frozenset()  # models with an evaluation record in the ledger
    #: the models refused for consent, by id, each with the model whose consent was withdrawn
    #: (``policy.weights.withdrawals``, made with the snapshot)
    withdrawn: Mapping[str, ModelState] = field(default_factory=dict)

    @classmethod
    def from_config(
        cls,
        config: StellwerkConfig,
        use_cases: Sequence[UseCaseConfig] | None = None,
        evaluated: frozenset[str] = frozenset(),
        withdrawn: Mapping[str, ModelState] | None = None,
    ) -> PolicyFilter:
        """``use_cases`` overrides the config's (the catalog keeps them in the database)."""
        cases = config.use_cases if use_cases is None else use_cases
        return cls(
            rules=config.governance,
            departments={d.name: d for d in config.departments},
            use_cases={u.name: u for u in cases},
            evaluated=evaluated,
            withdrawn={} if withdrawn is None else withdrawn,
        )

    def allowed(
        self,
        principal: PrincipalLike,
        classification: Classification,
        models: Sequence[ModelState],
        requested: str | None = None,
        kind: str | None = None,
    ) -> tuple[ModelState, ...]:
        """The models that may serve the request, in the given order; never empty.

        ``requested`` names one model (the client asked for it by id); ``None`` means any
        (``auto``), for a request of ``kind`` (the capability it needs: ``chat`` ...) when
        given. Raises ``NotFound`` for an unknown requested model, or one the caller may not
        see, and ``PermissionDenied`` naming the reason when no model may serve the request: the
        models the caller may see and why, the others summed up, every model's reason as its
        ``detail`` (``policy.denial``).
        """
        department = self.departments.get(principal.department)
        if department is None:
            raise PermissionDenied(
                f"department {principal.department!r} of key {principal.key_id!r} is not configured"
            )
        use_case = self.use_case_of(principal)
        if requested is not None:
            chosen = [m for m in models if m.id == requested]
            if not chosen:
                raise unseen(requested)
            models = chosen
        allowed: list[ModelState] = []
        refused: list[Refused] = []
        for model in models:
            found = self._refusal(model, department, use_case, classification)
            if found is None:
                allowed.append(model)
            else:
                refused.append(Refused(model, found[0], found[1]))
        if allowed:
            return tuple(allowed)
        denial = Denial(department, use_case, classification, self.rules, requested, kind)
        # a key that reads the whole catalog (GET /admin/models) is told every model's reason
        raise denial.error(refused, admin=principal.role in READERS)

    def refusal(
        self,
        model: ModelState,
        department: DepartmentConfig,
        use_case: UseCaseConfig | None,
        classification: Classification,
    ) -> str | None:
        """Why ``model`` may not serve this request, or ``None`` when it may."""
        found = self._refusal(model, department, use_case, classification)
        return None if found is None else found[1]

    def _refusal(
        self,
        model: ModelState,
        department: DepartmentConfig,
        use_case: UseCaseConfig | None,
        classification: Classification,
    ) -> tuple[Rule, str] | None:
        """The first rule that refuses ``model`` and why, or ``None`` when it may serve."""
        if not is_routable(model.lifecycle, pilot=department.pilot):
            return "lifecycle", why_not_routable(model.lifecycle, department=department.name)
        # the map is empty unless some consent is withdrawn: then one lookup
        if not model.consent or (self.withdrawn and model.id in self.withdrawn):
            return "consent", why_withdrawn(model.id, self.withdrawn.get(model.id, model))
        if self.rules.compliance_mode == "block":
            report = check_model(model.config, self.rules, evaluated=model.id in self.evaluated)
            if not report.compliant:
                return "compliance", "non-compliant, missing " + ", ".join(report.missing)
        hosting = model.config.hosting
        if not may_go(classification, hosting, self.rules):
            if hosting is None:
                return "hosting", (
                    "its hosting is not stated in the config, so it counts as the least trusted"
                    f" location, where {classification} data may not go"
                )
            return "hosting", f"hosted {hosting}, where {classification} data may not go"
        return off_lists(model.id, department, use_case)

    def use_case_of(self, principal: PrincipalLike) -> UseCaseConfig | None:
        """The use case the principal's key is bound to (``PermissionDenied`` when it no longer
        exists, or is non-compliant under ``compliance_mode: block``)."""
        if principal.use_case is None:
            return None
        case = self.use_cases.get(principal.use_case)
        if case is None:
            raise PermissionDenied(
                f"key {principal.key_id!r} is bound to use case {principal.use_case!r},"
                " which does not exist (any more)"
            )
        if self.rules.compliance_mode == "block":
            report = check_use_case(case, self.rules)
            if not report.compliant:
                raise PermissionDenied(
                    f"use case {case.name!r} is non-compliant and compliance_mode is block:"
                    " missing " + ", ".join(report.missing),
                    code="policy_denied",
                )
        return case
