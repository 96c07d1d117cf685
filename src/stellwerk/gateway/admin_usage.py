"""``GET /admin/usage``, the chargeback report of the admin API (``stellwerk.governance.report``),
as JSON or as the CSV that ``stellwerk report usage --format csv`` prints.

Every key may read its own department's report; an admin or viewer key every department's. By
key (``by=key``), the rows name each key by its id, never its secret: a head key reads its own
department's keys (as on its dashboard page); a key of another role (user, owner, metrics) is
refused with a 403 naming what it may read, since it may not list its department's other keys
either (``admin_access``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response

from stellwerk.config.base import HEAD, READERS
from stellwerk.errors import InvalidRequest, PermissionDenied, shown
from stellwerk.gateway.admin_access import CallerDep
from stellwerk.gateway.deps import RuntimeDep
from stellwerk.governance.baseline import key_references
from stellwerk.governance.report import parse_by, render, usage_report

FORMATS = ("json", "csv")


def usage(
    runtime: RuntimeDep,
    caller: CallerDep,
    # the form is checked by Window.month, whose refusal names ``month`` (a pattern here would
    # answer pydantic's own message, without the param); the schema still shows it
    month: Annotated[
        str, Query(description="YYYY-MM", json_schema_extra={"pattern": r"^[0-9]{4}-[0-9]{2}$"})
    ],
    by: Annotated[str, Query(description="department, model, key or use-case")] = "department",
    fmt: Annotated[
        str, Query(alias="format", description="json, or csv (text/csv, the CLI's columns)")
    ] = "json",
) -> Any:
    """The chargeback report; a key of another role than admin or viewer sees its own
    department only."""
    if fmt not in FORMATS:
        raise InvalidRequest(f"unknown format {shown(fmt)}; choose json or csv", param="format")
    grouping = parse_by(by)
    if grouping == "key" and caller.role not in (*READERS, HEAD):
        raise PermissionDenied(
            f"key {caller.key_id!r} has role {caller.role}, which reads its own department's usage"
            " by department, model or use case; usage by key needs an admin, viewer or head key"
        )
    gov = runtime.governance
    report = usage_report(
        gov.admin.ledger,
        month=month,
        by=grouping,
        references=key_references(gov, gov.snapshot.models),
        key_use_cases=gov.admin.key_use_cases(),
        department=None if caller.role in READERS else caller.department,
    )
    if fmt == "json":
        return report.as_dict()
    name = f"usage-{report.month}-by-{report.by}.csv"
    return Response(
        render(report, "csv"),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
