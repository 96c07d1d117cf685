"""Compliance: which governance facts a model or a use case must carry for its risk tier.

A model or use case that lacks a required fact is non-compliant. ``governance.compliance_mode``
decides what follows: ``block`` keeps non-compliant models out of routing, ``flag`` only reports
them (admin API, dashboard). The facts required per tier come from ``governance.required_*_facts``.
"""

from __future__ import annotations

from dataclasses import dataclass

from stellwerk.config.schema import GovernanceConfig, ModelConfig, RiskTier, UseCaseConfig


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    """The outcome of a check: ``missing`` lists the required facts without a value."""

    kind: str
    name: str
    risk_tier: RiskTier
    missing: tuple[str, ...]

    @property
    def compliant(self) -> bool:
        return not self.missing

    def describe(self) -> str:
        if self.compliant:
            return f"{self.kind} {self.name!r} ({self.risk_tier} risk) is compliant"
        return f"{self.kind} {self.name!r} ({self.risk_tier} risk) is missing " + ", ".join(
            self.missing
        )


def _present(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, tuple):
        return bool(value)
    return True


def check_model(
    model: ModelConfig, rules: GovernanceConfig, *, evaluated: bool = False
) -> ComplianceReport:
    """Check one model's facts against the facts its risk tier requires. ``evaluated``: the
    ledger holds a calibration record of the model, which is its evaluation record (the fact
    ``evaluation_url`` is then satisfied without a URL)."""
    required = rules.required_model_facts.get(model.risk_tier, ())
    missing = tuple(
        fact
        for fact in required
        if not _present(getattr(model, fact)) and not (fact == "evaluation_url" and evaluated)
    )
    return ComplianceReport("model", model.id, model.risk_tier, missing)


def check_use_case(case: UseCaseConfig, rules: GovernanceConfig) -> ComplianceReport:
    """Check one use case's facts against the facts its risk tier requires."""
    required = rules.required_use_case_facts.get(case.risk_tier, ())
    missing = tuple(fact for fact in required if not _present(getattr(case, fact)))
    return ComplianceReport("use case", case.name, case.risk_tier, missing)


def non_compliant(
    models: tuple[ModelConfig, ...],
    use_cases: tuple[UseCaseConfig, ...],
    rules: GovernanceConfig,
    evaluated: frozenset[str] = frozenset(),
) -> list[ComplianceReport]:
    """Every model and use case that lacks a required fact, models first, in config order."""
    reports = [check_model(m, rules, evaluated=m.id in evaluated) for m in models]
    reports += [check_use_case(u, rules) for u in use_cases]
    return [r for r in reports if not r.compliant]
