"""The department a filter names: the admin API's ``GET /admin/keys?department=`` and the audit
log's department target (``target=department:<name>``, or ``target_kind=department`` with
``target=<name>``), and the same filters of the CLI (``stellwerk audit --target
department:<name>``).

A name that is no department is a 404 naming it (``governance.department_names``), not an empty
answer that would pass for a department with no keys or no changes. A department the config no
longer names keeps what was made of it (its keys made through the CLI or the API, its audit
entries): its name is refused only where nothing of it is left to list. A head key that names
another department gets its one 403 first (``admin_access.narrowed``), whether that department
exists or not.
"""

from __future__ import annotations

from stellwerk.governance.department_names import unknown_department
from stellwerk.governance.service import Governance
from stellwerk.ledger.audit_read import AuditFilter


def _configured(gov: Governance) -> list[str]:
    return [d.name for d in gov.admin.config.departments]


def refuse_unknown(gov: Governance, department: str | None, *, listed: bool) -> None:
    """A 404 for ``department`` when the config names no such department and nothing of it is
    ``listed`` (``None``: no department asked for)."""
    configured = _configured(gov)
    if department is not None and not listed and department not in configured:
        raise unknown_department(department, configured)


def audit_department(where: AuditFilter) -> str | None:
    """The department the audit filter ``where`` names as its target, if it names one."""
    if where.target is None:
        return None
    if where.target_kind == "department":
        return where.target.removeprefix("department:")
    kind, colon, name = where.target.partition(":")
    if where.target_kind is None and colon and kind == "department" and name:
        return name
    return None


def refuse_unknown_audit(gov: Governance, where: AuditFilter, *, found: bool) -> None:
    """A 404 when the audit filter ``where`` names a department as its target that the config
    does not name and that no entry of the log names (whatever the other filters), when nothing
    was ``found``."""
    department = audit_department(where)
    if found or department is None or department in _configured(gov):
        return
    ever = AuditFilter(target_kind="department", target=department)
    refuse_unknown(gov, department, listed=bool(gov.admin.ledger.latest_audit(ever, limit=1)))
