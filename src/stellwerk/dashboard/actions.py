"""The dashboard's four actions, each confirmed before it runs and audited by the service it
calls (the same services as the admin API, and like it the dashboard reloads the gateway's
governance snapshot afterwards): move a model through its lifecycle, withdraw or re-grant a data
owner's consent (or, an admin, lift a withdrawal left from when the model had a data owner:
``ModelState.withdrawal_left``), set a department's monthly budget, revoke a key.

An action is posted twice: first without ``confirm`` (the page shows what will happen and asks),
then with ``confirm=yes`` (it happens). Both posts carry the session's CSRF token. Each action is
an :class:`Action` in :data:`ACTIONS`; the routes serve them all the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from stellwerk.dashboard.amounts import amount_input
from stellwerk.dashboard.budget_form import AMOUNT, UNLIMITED, form_budget
from stellwerk.dashboard.drilldowns import find_department
from stellwerk.dashboard.formats import Formatter, Language
from stellwerk.dashboard.i18n import Labels
from stellwerk.dashboard.reasons import form_reason
from stellwerk.errors import InvalidRequest
from stellwerk.governance.notice_acks import Announcement
from stellwerk.governance.service import Governance
from stellwerk.policy.lifecycle import parse_state


@dataclass(frozen=True, slots=True)
class Pending:
    """An action awaiting confirmation: where to post, what to say, which fields to repeat (its
    "Cancel" leads back to the page of the form, ``Action.form_page``)."""

    action: str
    question: str  # i18n label, formatted with ``params``
    params: dict[str, str]
    fields: dict[str, str]
    labelled: frozenset[str] = frozenset()
    """Names of ``params`` whose values are shown by their label (a lifecycle state)."""

    def text(self, t: Labels) -> str:
        """The question in the page's language."""
        values = {k: t(v) if k in self.labelled else v for k, v in self.params.items()}
        return t[self.question].format(**values)


def prepare_lifecycle(
    gov: Governance, model_id: str, form: Mapping[str, str], prefix: str, fmt: Formatter
) -> Pending:
    state = gov.admin.catalog.state(model_id)
    target = parse_state(form.get("state", ""))
    reason = form_reason(form)
    return Pending(
        action=f"{prefix}/models/{model_id}/lifecycle",
        question="confirm_lifecycle",
        params={"model": model_id, "old": state.lifecycle, "new": target},
        fields={"state": target, "reason": reason, "version": str(state.version)},
        labelled=frozenset({"old", "new"}),
    )


def _version(text: str) -> int | None:
    """The form's ``version`` (the model's state the page showed), ``None`` without a plain one:
    ASCII digits only (``str.isdigit`` takes "²" too, which ``int`` refuses)."""
    return int(text) if text.isascii() and text.isdigit() else None


def run_lifecycle(
    gov: Governance, model_id: str, form: Mapping[str, str], actor: str
) -> Announcement:
    version = form.get("version", "")
    gov.admin.catalog.transition(
        model_id,
        form.get("state", ""),
        actor=actor,
        reason=form_reason(form),
        expected_version=_version(version),
    )
    return gov.changed()


CONSENT_CHOICES = {"withdraw": False, "grant": True}


def _consent(form: Mapping[str, str]) -> bool:
    choice = form.get("consent", "")
    if choice not in CONSENT_CHOICES:
        raise InvalidRequest(
            f"consent {choice!r}: choose one of {', '.join(CONSENT_CHOICES)}", param="consent"
        )
    return CONSENT_CHOICES[choice]


def prepare_consent(
    gov: Governance, model_id: str, form: Mapping[str, str], prefix: str, fmt: Formatter
) -> Pending:
    state = gov.admin.catalog.state(model_id)
    consent = _consent(form)
    reason = form_reason(form)
    owner = state.config.data_owner
    lift = consent and state.withdrawal_left  # an admin's only (owner keys: ``owns_data_of``)
    if owner is None and not lift:
        gov.admin.catalog.refer_to_holder(model_id)  # another id of its weights holds consent
        raise InvalidRequest(
            f"model {model_id!r} has no data owner, so there is no consent to manage",
            param="consent",
        )
    if lift:
        question = "confirm_consent_lift"
    else:
        question = "confirm_consent_grant" if consent else "confirm_consent_withdraw"
    return Pending(
        action=f"{prefix}/models/{model_id}/consent",
        question=question,
        params={"model": model_id, "owner": owner or ""},
        fields={
            "consent": form.get("consent", ""),
            "reason": reason,
            "version": str(state.version),
        },
    )


def owns_data_of(gov: Governance, model_id: str, department: str) -> bool:
    """Whether ``department`` is the data owner of ``model_id`` (404 for an unknown model); for
    an id without a data owner that serves the weights of one of ``department``'s models, the
    400 naming that model, where its owner manages their consent (as the admin API says it)."""
    gov.admin.catalog.refer_to_holder(model_id, department)
    return gov.admin.catalog.model(model_id).data_owner == department


def run_consent(
    gov: Governance, model_id: str, form: Mapping[str, str], actor: str
) -> Announcement:
    version = form.get("version", "")
    gov.admin.catalog.set_consent(
        model_id,
        _consent(form),
        actor=actor,
        reason=form_reason(form),
        expected_version=_version(version),
    )
    return gov.changed()


def prepare_budget(
    gov: Governance, department: str, form: Mapping[str, str], prefix: str, fmt: Formatter
) -> Pending:
    find_department(gov, department)
    budget = form_budget(form, fmt.language)
    reason = form_reason(form)
    fields = {"reason": reason, "language": fmt.language}
    if budget is None:
        fields[UNLIMITED] = "yes"
    else:
        fields[AMOUNT] = amount_input(budget, fmt.language)
    return Pending(
        action=f"{prefix}/departments/{department}/budget",
        question="confirm_budget" if budget is not None else "confirm_budget_unlimited",
        params={
            "department": department,
            "budget": fmt.exact_money(budget) if budget is not None else "",
        },
        fields=fields,
    )


def run_budget(
    gov: Governance, department: str, form: Mapping[str, str], actor: str
) -> Announcement:
    current = gov.admin.budgets.department_limits(department)
    language: Language = "de" if form.get("language") == "de" else "en"
    limits = current.model_copy(update={"monthly_budget": form_budget(form, language)})
    gov.admin.budgets.set_limits(
        "department", department, limits, actor=actor, reason=form_reason(form)
    )
    return gov.changed()


def prepare_revoke(
    gov: Governance, key_id: str, form: Mapping[str, str], prefix: str, fmt: Formatter
) -> Pending:
    info = gov.admin.keys.get(key_id)
    reason = form_reason(form)
    return Pending(
        action=f"{prefix}/keys/{key_id}/revoke",
        question="confirm_revoke",
        params={"key": key_id, "department": info.department},
        fields={"reason": reason},
    )


def run_revoke(gov: Governance, key_id: str, form: Mapping[str, str], actor: str) -> Announcement:
    gov.admin.keys.revoke(key_id, actor=actor, reason=form_reason(form))
    return gov.changed()


@dataclass(frozen=True, slots=True)
class FormPage:
    """The page an action's form is on, where its error page leads back to."""

    path: str
    """Below the dashboard's prefix, built from the route's subject (never from the request's
    fields or headers)."""
    label: str
    """i18n label of the link back."""

    def url(self, prefix: str) -> str:
        """The page's address below ``prefix`` (the path quoted: a link never leaves it)."""
        return prefix + quote(self.path, safe="/")


def model_form_page(gov: Governance, model_id: str) -> FormPage:
    gov.admin.catalog.model(model_id)
    return FormPage(f"/models/{model_id}", "back_model")


def department_form_page(gov: Governance, department: str) -> FormPage:
    find_department(gov, department)
    return FormPage(f"/departments/{department}", "back_department")


def key_form_page(gov: Governance, key_id: str) -> FormPage:
    return department_form_page(gov, gov.admin.keys.get(key_id).department)


Prepare = Callable[[Governance, str, Mapping[str, str], str, Formatter], Pending]
"""``(gov, subject, form, prefix, fmt)``: check the form and say what will happen."""
Run = Callable[[Governance, str, Mapping[str, str], str], Announcement]
"""``(gov, subject, form, actor)``: do it (audited); the admin goes back to the page of the form
(``Action.form_page``), told there when a replica did not acknowledge the change in time."""


@dataclass(frozen=True, slots=True)
class Action:
    """One confirmed action, posted to ``path`` (below the prefix; ``{subject:path}`` is the model,
    department or key it acts on)."""

    name: str
    path: str
    prepare: Prepare
    run: Run
    form_page: Callable[[Governance, str], FormPage]
    """``(gov, subject)``: the page the action's form is on (``NotFound`` for an unknown
    subject)."""
    owner_may: Callable[[Governance, str, str], bool] | None = None
    """``(gov, subject, department)``: whether an owner key of ``department`` may do it too
    (``None``: admins only)."""


ACTIONS = (
    Action(
        "move_model",
        "/models/{subject:path}/lifecycle",
        prepare_lifecycle,
        run_lifecycle,
        model_form_page,
    ),
    Action(
        "set_consent",
        "/models/{subject:path}/consent",
        prepare_consent,
        run_consent,
        model_form_page,
        owner_may=owns_data_of,
    ),
    Action(
        "set_budget",
        "/departments/{subject:path}/budget",
        prepare_budget,
        run_budget,
        department_form_page,
    ),
    Action("revoke_key", "/keys/{subject:path}/revoke", prepare_revoke, run_revoke, key_form_page),
)
