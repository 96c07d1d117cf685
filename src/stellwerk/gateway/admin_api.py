"""The admin API under ``/admin``: catalog state, consent, compliance, use cases, keys, limits,
the audit log and the usage report. JSON in and out; every change is audited with the caller's
key id as actor.

Admin keys may do everything. Viewer keys read everything an admin key reads (every ``GET``) and
change nothing: every ``POST`` and ``PUT`` is a 403 naming the role. Head keys read their own
department's usage report, keys, limits and use cases, and nothing else. Owner keys may withdraw and
re-grant consent for the models whose ``data_owner`` is their department. Every key may read its
own department's usage report; no key but an admin or viewer key sees another department's usage
(who may call what: ``admin_access``). Handlers are plain functions: FastAPI runs them in its
thread pool, so their database work never blocks the event loop.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel

from stellwerk.config.base import HEAD
from stellwerk.config.schema import UseCaseConfig
from stellwerk.errors import InvalidRequest, NotFound, PermissionDenied, shown
from stellwerk.gateway import admin_usage, openapi
from stellwerk.gateway.admin_access import (
    AdminDep,
    CallerDep,
    ChangerDep,
    DepartmentReaderDep,
    ReaderDep,
    narrowed,
)
from stellwerk.gateway.admin_keys import config_keys_json, key_json
from stellwerk.gateway.admin_route import AdminRoute, refuse_repeated
from stellwerk.gateway.admin_schema import (
    CLEARABLE,
    ConsentChange,
    KeyRequest,
    LifecycleChange,
    LimitKind,
    LimitsChange,
    Revocation,
    UseCaseBody,
    UseCaseChange,
    plain_whole,
)
from stellwerk.gateway.admin_words import body_reworded
from stellwerk.gateway.auth import Principal
from stellwerk.gateway.body import refuse_unreadable
from stellwerk.gateway.deps import RuntimeDep
from stellwerk.governance import key_requests
from stellwerk.governance.budgets import LIMIT_FIELDS
from stellwerk.governance.department_filters import refuse_unknown, refuse_unknown_audit
from stellwerk.governance.key_actors import department_key_ids, head_key
from stellwerk.governance.key_store import CONFIG_LIMITS
from stellwerk.governance.month_spend import month_spend
from stellwerk.governance.service import Governance
from stellwerk.governance.use_cases import parse_use_case
from stellwerk.ledger.audit_read import MAX_ID, MAX_LIMIT, AuditFilter
from stellwerk.ledger.window import Window
from stellwerk.policy.compliance import check_model, check_use_case
from stellwerk.policy.state import ModelState
from stellwerk.policy.weights import shared
from stellwerk.request_params import refuse_hidden

_KEYED = openapi.keyed()


def _governance(runtime: RuntimeDep) -> Governance:
    return runtime.governance


GovernanceDep = Annotated[Governance, Depends(_governance)]


async def _plain_json(request: Request, _: CallerDep) -> None:
    """After the key is checked, a body is refused with a 400 naming the place where it names a
    key twice or holds ``NaN`` or ``Infinity`` (told with the body's other problems, as on the
    data plane), or a string with a lone surrogate (``"\\ud800"``, which no UTF-8 carries: the
    audit log could not be read back) or a NUL character (which the ledger cannot hold on
    PostgreSQL); and a query parameter given twice (``?limit=5&limit=6``: which one counts is a
    guess) or one the endpoint does not take (``?actr=x``: answering as if it were not there
    would pass for a filtered answer), or a path or query parameter with a character no name or
    filter holds (``%00``: ``request_params``) with a 400 naming it. What the endpoint
    takes its route knows since it was made (``AdminRoute``)."""
    route = request.scope.get("route")
    body: type[BaseModel] | None = None
    if isinstance(route, AdminRoute):  # one it does not take first: given twice or not
        route.refuse_unknown(request)
        body = route.body_model
    refuse_repeated(request)
    refuse_hidden(request)
    await refuse_unreadable(request, body, partial(body_reworded, body=body))


router = APIRouter(
    prefix="/admin",
    tags=["Admin API"],
    responses=openapi.errors("openai", openapi.ADMIN_ERRORS),
    dependencies=[Depends(_plain_json)],
    route_class=AdminRoute,
)


_WITHDRAWAL_LEFT = (
    "consent was withdrawn while the model had a data owner and is still withdrawn, although"
    " the config names no data owner now: the model is refused until an admin grants consent"
    " again"
)


def _model(gov: Governance, state: ModelState) -> dict[str, Any]:
    """A model as the API shows it: ``consent`` its data owner's (``null``: it has none, so
    there is no consent to give or withdraw: ``ModelState.owner_consent``), with
    ``consent_note`` saying why it is ``false`` without a data owner (else ``null``);
    ``same_weights`` the other ids serving its weights, ``consent_withdrawn_on`` the model whose
    withdrawal refuses it (its own id, or one of those; ``null``: none does)."""
    m = state.config
    report = check_model(m, gov.admin.config.governance, evaluated=m.id in gov.snapshot.evaluated)
    return {
        "id": m.id,
        "capabilities": list(m.capabilities),  # as the config lists them
        "lifecycle": state.lifecycle,
        "consent": state.owner_consent,  # null: no data owner, so consent does not apply
        "consent_note": _WITHDRAWAL_LEFT if state.withdrawal_left else None,
        "consent_withdrawn_on": gov.snapshot.withdrawn_on(m.id),
        "same_weights": list(gov.snapshot.same_weights.get(m.id, ())),
        "version": state.version,
        "hosting": m.hosting,
        "risk_tier": m.risk_tier,
        "licence": m.licence,
        "openness": m.openness,
        "mof_class": m.mof_class,
        "osi_osaid": m.osi_osaid,
        "owner": m.owner,
        "data_owner": m.data_owner,
        "model_card_url": m.model_card_url,
        "evaluation_url": m.evaluation_url,
        "oversight_contact": m.oversight_contact,
        "compliant": report.compliant,
        "missing": list(report.missing),
    }


@router.get("/models", openapi_extra=_KEYED)
def list_models(gov: GovernanceDep, _: ReaderDep) -> dict[str, Any]:
    """Every model with capabilities, lifecycle, consent, hosting, openness and compliance
    facts."""
    return {"models": [_model(gov, s) for s in gov.admin.catalog.states()]}


@router.get("/models/{model_id}", openapi_extra=_KEYED)
def get_model(model_id: str, gov: GovernanceDep, _: ReaderDep) -> dict[str, Any]:
    """One model with its lifecycle and consent history."""
    state = gov.admin.catalog.state(model_id)
    history = [
        {
            "time": h.time.isoformat(),
            "actor": h.actor,
            "field": h.field,
            "from": h.old_value,
            "to": h.new_value,
            "reason": h.reason,
            "version": h.version,
        }
        for h in gov.admin.catalog.history(model_id)
    ]
    return {**_model(gov, state), "history": history}


@router.post("/models/{model_id}/lifecycle", openapi_extra=_KEYED)
def change_lifecycle(
    model_id: str, body: LifecycleChange, gov: GovernanceDep, admin: AdminDep
) -> dict[str, Any]:
    """Move a model through its lifecycle (409 for an illegal move or a stale ``version``)."""
    state = gov.admin.catalog.transition(
        model_id, body.state, actor=admin.key_id, reason=body.reason, expected_version=body.version
    )
    told = gov.changed()  # not_acknowledged: replicas that follow at their poll
    return {**_model(gov, state), **told.answer()}


@router.post("/models/{model_id}/consent", openapi_extra=_KEYED)
def change_consent(
    model_id: str, body: ConsentChange, gov: GovernanceDep, caller: ChangerDep
) -> dict[str, Any]:
    """Withdraw or re-grant the data owner's consent; admin keys, or owner keys of the data
    owner's department. Takes effect on the next request. Any other key gets one 403 for every
    id, a model's or not, naming no data owner: a key that may not manage a model's consent
    learns nothing of it, not even that it exists (as ``GET /v1/models/{id}`` hides the models
    a key may not use); an owner key knows its own department's models (its consent page)."""
    if caller.role != "admin" and not _owns(gov, caller, model_id):
        if caller.role == "owner":  # its own department's weights, served under another id
            gov.admin.catalog.refer_to_holder(model_id, caller.department)
        raise PermissionDenied(
            f"key {caller.key_id!r} may not manage consent: that needs an admin key or an owner"
            " key of the model's data owner"
        )
    state = gov.admin.catalog.set_consent(
        model_id,
        body.consent,
        actor=caller.key_id,
        reason=body.reason,
        expected_version=body.version,
    )
    told = gov.changed()  # not_acknowledged: replicas that follow at their poll
    return {**_model(gov, state), **told.answer()}


def _owns(gov: Governance, caller: Principal, model_id: str) -> bool:
    """``caller`` is an owner key of the data owner of the model ``model_id`` (False for a
    model that does not exist)."""
    if caller.role != "owner":
        return False
    try:
        return gov.admin.catalog.model(model_id).data_owner == caller.department
    except NotFound:
        return False


@router.get("/compliance", openapi_extra=_KEYED)
def compliance(gov: GovernanceDep, _: ReaderDep) -> dict[str, Any]:
    """Every non-compliant model and use case with the facts it is missing, every use case no
    model may serve now (``unservable``: each candidate model and why not), and the ids serving
    the same weights (``same_weights``: their governance now, and which facts differ)."""
    rules = gov.admin.config.governance
    evaluated = gov.admin.evaluated()
    states = gov.admin.catalog.states()
    reports = [check_model(s.config, rules, evaluated=s.id in evaluated) for s in states]
    cases = gov.admin.use_cases.list()
    reports += [check_use_case(u, rules) for u in cases]
    found = (gov.snapshot.unservable(u) for u in cases)
    return {
        "mode": rules.compliance_mode,
        "non_compliant": [
            {"kind": r.kind, "name": r.name, "risk_tier": r.risk_tier, "missing": list(r.missing)}
            for r in reports
            if not r.compliant
        ],
        "unservable": [u.to_json() for u in found if u is not None],
        "same_weights": [g.to_json() for g in shared(states, gov.snapshot.same_weights)],
    }


def _use_case(gov: Governance, case: UseCaseConfig) -> dict[str, Any]:
    """A use case as the API shows it: ``classification`` its own, and
    ``effective_classification`` the class its keys' requests run under now without a header
    (the higher of its own and its department's; a key's own class may raise it further), and
    ``warnings``: that no model may serve that class now (kept, not refused: a model may be
    approved or re-hosted later; ``stellwerk.policy.reach``)."""
    found = gov.snapshot.unservable(case)
    return {
        **case.model_dump(mode="json"),
        "effective_classification": gov.snapshot.use_case_class(case),
        "warnings": [] if found is None else [found.describe()],
    }


@router.get("/use-cases", openapi_extra=_KEYED)
def list_use_cases(gov: GovernanceDep, caller: DepartmentReaderDep) -> dict[str, Any]:
    """Every use case (a head key: its department's), with the class its keys' requests run
    under (``effective_classification``)."""
    own = narrowed(caller, None, "use cases")
    cases = [u for u in gov.admin.use_cases.list() if own is None or u.department == own]
    return {"use_cases": [_use_case(gov, u) for u in cases]}


def _use_case_input(body: UseCaseBody) -> Any:
    return parse_use_case(body.model_dump(exclude={"reason", "version"}, exclude_none=True))


@router.post("/use-cases", status_code=201, openapi_extra=_KEYED)
def create_use_case(body: UseCaseBody, gov: GovernanceDep, admin: AdminDep) -> dict[str, Any]:
    """Create a use case (a prohibited risk tier is refused with 400)."""
    case = gov.admin.use_cases.create(_use_case_input(body), actor=admin.key_id, reason=body.reason)
    told = gov.changed()  # not_acknowledged: replicas that follow at their poll
    return {**_use_case(gov, case), **told.answer()}


@router.put("/use-cases/{name}", openapi_extra=_KEYED)
def update_use_case(
    name: str, body: UseCaseChange, gov: GovernanceDep, admin: AdminDep
) -> dict[str, Any]:
    """Change a use case: the fields given change (``null`` clears ``allowed_models`` or
    ``oversight_contact``), the others keep their values, as ``PUT /admin/limits`` does. The
    audit records each field that changed."""
    if body.name is not None and body.name != name:
        raise InvalidRequest(f"the body names use case {shown(body.name)}, the URL {shown(name)}")
    given = body.model_fields_set - {"name", "reason", "version"}
    cleared = sorted(f for f in given - CLEARABLE if getattr(body, f) is None)
    if cleared:
        raise InvalidRequest(
            f"{cleared[0]} cannot be cleared (null); leave it out to keep it", param=cleared[0]
        )
    if not given:
        fields = sorted(set(UseCaseChange.model_fields) - {"name", "reason", "version"})
        raise InvalidRequest(f"name at least one of {', '.join(fields)} to change", param="body")
    current, version = gov.admin.use_cases.get_versioned(name)
    merged = current.model_dump() | {f: getattr(body, f) for f in given}
    case = gov.admin.use_cases.update(
        parse_use_case(merged),
        actor=admin.key_id,
        reason=body.reason,
        # what was read is what is changed: a concurrent change in between is a 409
        expected_version=body.version if body.version is not None else version,
    )
    told = gov.changed()  # not_acknowledged: replicas that follow at their poll
    return {**_use_case(gov, case), **told.answer()}


@router.get("/keys", openapi_extra=_KEYED)
def list_keys(
    gov: GovernanceDep, caller: DepartmentReaderDep, department: str | None = None
) -> dict[str, Any]:
    """Keys, never the keys themselves: the config file's first (``source: config``; made and
    removed there: ``created_at`` null, ``created_by`` ``config``), then those made through the
    CLI or this API (``source: database``), as ``stellwerk keys list`` shows them; an empty
    ``department`` would answer none, passing for a department without keys: refused, as is
    one that names no department (404, ``governance.department_filters``). A head
    key lists its own department's keys only, and reads who made or revoked them as a key id
    only when that is a key of its department, else ``admin`` (``governance/key_actors.py``)."""
    if department is not None and not department.strip():
        raise InvalidRequest(
            "department is empty; leave it out to list every department's keys",
            param="department",
        )
    department = narrowed(caller, department, "keys")
    keys = gov.admin.keys.list(department=department)
    refuse_unknown(gov, department, listed=bool(keys))
    if caller.role == HEAD and department is not None:  # who made them: its own keys named only
        own = department_key_ids(gov, department)
        keys = [head_key(k, own) for k in keys]
    return {"keys": config_keys_json(gov, department) + [key_json(gov, k) for k in keys]}


@router.post("/keys", status_code=201, openapi_extra=_KEYED)
def create_key(
    body: KeyRequest,
    gov: GovernanceDep,
    admin: AdminDep,
    idempotency_key: Annotated[str | None, Header(alias=key_requests.HEADER)] = None,
) -> dict[str, Any]:
    """Make a key; the answer holds it once (``key``): it is stored only as a SHA-256. A
    ``classification`` below its use case's or department's is a 400 naming both. Sent again
    with the same ``Idempotency-Key`` and body (after a 503, a lost answer) it makes no second
    key: a 409 names the first one's (``governance.key_requests``). ``warnings``: that no model
    may serve its use case's class now (as the use case's answer says it)."""
    retry = key_requests.idempotency(idempotency_key, body.model_dump(mode="json"))
    case = gov.admin.use_cases.get(body.use_case) if body.use_case else None
    new = gov.admin.keys.create(
        department=body.department,
        actor=admin.key_id,
        role=body.role,
        use_case=case,
        classification=body.classification,
        reason=body.reason,
        idempotency=retry,
    )
    told = gov.changed()
    found = gov.snapshot.unservable(case) if case is not None else None  # said, as for its case
    return {
        **key_json(gov, new.info),
        **told.answer(),
        "key": new.key,
        "warnings": [] if found is None else [found.describe()],
    }


@router.post("/keys/{key_id}/revoke", openapi_extra=_KEYED)
def revoke_key(
    key_id: str, body: Revocation, gov: GovernanceDep, admin: AdminDep
) -> dict[str, Any]:
    """Revoke a key: its next request gets 401."""
    info = gov.admin.keys.revoke(key_id, actor=admin.key_id, reason=body.reason)
    told = gov.changed()  # not_acknowledged: replicas that follow at their poll
    return {**key_json(gov, info), **told.answer()}


@router.get("/limits", openapi_extra=_KEYED)
def list_limits(gov: GovernanceDep, caller: DepartmentReaderDep) -> dict[str, Any]:
    """The limits in force for every department and every key that has its own, each with its
    spend this month and what is left of its budget (``governance.month_spend``); for a head
    key, its own department's and its keys'."""
    departments, keys = gov.admin.budgets.effective()
    own = narrowed(caller, None, "limits")
    if own is not None:
        mine = department_key_ids(gov, own)
        departments = {d: v for d, v in departments.items() if d == own}
        keys = {k: v for k, v in keys.items() if k in mine}
    spent = month_spend(gov.admin.ledger, department=own)
    return {
        "month": spent.month,
        "departments": {k: spent.scope_json("department", k, v) for k, v in departments.items()},
        "keys": {k: spent.scope_json("key", k, v) for k, v in keys.items()},
    }


@router.put("/limits/{kind}/{scope}", openapi_extra=_KEYED)
def set_limits(
    kind: LimitKind,
    scope: str,
    body: LimitsChange,
    gov: GovernanceDep,
    admin: AdminDep,
) -> dict[str, Any]:
    """Change the limits of a department or a key: the fields given change (``null``:
    unlimited), the others keep their values. Answers the limits in force afterwards, with the
    month's spend, as ``GET /admin/limits`` lists them."""
    if kind == "key":
        gov.admin.keys.get(scope, in_config=CONFIG_LIMITS)
    changes = {f: getattr(body, f) for f in body.model_fields_set if f != "reason"}
    if not changes:
        raise InvalidRequest(
            f"name at least one of {', '.join(LIMIT_FIELDS)} to change", param="body"
        )
    limits = gov.admin.budgets.change_limits(
        kind, scope, changes, actor=admin.key_id, reason=body.reason
    )
    told = gov.changed()  # not_acknowledged: replicas that follow at their poll
    spent = month_spend(gov.admin.ledger, department=scope if kind == "department" else None)
    return {**spent.scope_json(kind, scope, limits), **told.answer()}


_TIME = "ISO 8601 date or time (2026-12-01, 2026-12-01T09:30:00Z); without an offset: UTC"


@router.get("/audit", openapi_extra=_KEYED)
def audit(
    gov: GovernanceDep,
    _: ReaderDep,
    since: Annotated[str | None, Query(description=f"From this time on. {_TIME}")] = None,
    until: Annotated[str | None, Query(description=f"Before this time. {_TIME}")] = None,
    actor: Annotated[str | None, Query(description="Who: a key id, cli:<user>, config")] = None,
    action: Annotated[str | None, Query(description="e.g. key.create")] = None,
    target_kind: Annotated[str | None, Query(description="e.g. model, key")] = None,
    target: Annotated[
        str | None, Query(description="As the log prints it (model:mistral-8b) or its name")
    ] = None,
    after: Annotated[
        int | None,
        plain_whole(0, MAX_ID),
        Query(
            ge=0,
            le=MAX_ID,
            description="Oldest first, after the entry with this id (0: from the first)",
        ),
    ] = None,
    limit: Annotated[int, plain_whole(1, MAX_LIMIT), Query(ge=1, le=MAX_LIMIT)] = 100,
) -> dict[str, Any]:
    """The audit log: the newest ``limit`` entries, newest first; or, with ``after``, a page of
    the whole log oldest first, whose ``next_after`` is the ``after`` of the next page (``null``
    on the last). A department target that names no department is a 404
    (``governance.department_filters``)."""
    where = AuditFilter(Window.between(since, until), actor, action, target_kind, target)
    ledger = gov.admin.ledger
    if after is None:
        entries, next_after = ledger.latest_audit(where, limit=limit), None
    else:
        page = ledger.audit_page(where, after=after, limit=limit)
        entries, next_after = page.entries, page.next_after
    refuse_unknown_audit(gov, where, found=bool(entries))
    return {"entries": [e.as_json() for e in entries], "next_after": next_after}


router.get("/usage", openapi_extra=_KEYED, response_model=None)(admin_usage.usage)
