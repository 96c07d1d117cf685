"""Who is logged in: :class:`Admin`, read from the session cookie and checked against the ledger
and the gateway's keys on every request (``session_admin``, the pages' dependency), and
``visitor``, the same check for an error page, which shows the logged-in header (navigation, log
out) when it passes and the header of a visitor who is not logged in when it does not."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request

from stellwerk.config.base import HEAD, READ_ONLY, READERS
from stellwerk.dashboard.auth import ADMIN
from stellwerk.dashboard.services import governance_of
from stellwerk.dashboard.session_store import SessionStore
from stellwerk.dashboard.web import PREFIX, SESSION_COOKIE, dashboard_of
from stellwerk.errors import RequestError
from stellwerk.governance.service import Governance

CONSENT_PAGE = "/consent"
DEPARTMENT_PAGES = "/departments/"


def home_of(role: str, department: str) -> str:
    """Where a key of ``role`` in ``department`` lands after its login: an admin's and a
    viewer's, the overview; a head's, its department's page; an owner's, the consent page."""
    if role in READERS:
        return PREFIX
    if role == HEAD:
        return PREFIX + DEPARTMENT_PAGES + quote(department, safe="")
    return PREFIX + CONSENT_PAGE


@dataclass(frozen=True, slots=True)
class Admin:
    """Who is logged in: an admin, a viewer (who reads what an admin reads), a head (who reads
    its ``department``'s page only) or a data owner (``role`` owner, of ``department``)."""

    key_id: str
    nonce: str
    csrf: str
    role: str = ADMIN
    department: str = ""

    @property
    def reads_all(self) -> bool:
        """Every page is its (an admin's, a viewer's); an owner's is the consent page only."""
        return self.role in READERS

    @property
    def can_change(self) -> bool:
        """Whether the forms that change something are its: not a viewer's or a head's, which
        may only read (the templates leave them out; the routes refuse what is posted anyway)."""
        return self.role not in READ_ONLY

    @property
    def is_head(self) -> bool:
        """Its department's page is the one page it reads."""
        return self.role == HEAD

    def reads_department(self, name: str) -> bool:
        """Whether the page of the department ``name`` is its."""
        return self.reads_all or (self.is_head and name == self.department)

    @property
    def home(self) -> str:
        return home_of(self.role, self.department)

    @property
    def home_label(self) -> str:
        """The label of the link back to ``home`` (an error page's)."""
        if self.reads_all:
            return "back"
        return "back_department" if self.is_head else "back_consent"


def session_admin(request: Request, gov: Governance) -> Admin:
    """The logged-in admin, viewer, head or owner, or 401 (no, forged, expired or ended session;
    key revoked). Synchronous (the ledger's session row): call it from a thread."""
    dashboard = dashboard_of(request)
    session = dashboard.codec.read(request.cookies.get(SESSION_COOKIE))
    SessionStore(gov.admin.ledger).check(session)
    holder = dashboard.directory.check(session, gov)
    csrf = dashboard.codec.csrf_token(session.nonce)
    return Admin(session.key_id, session.nonce, csrf, holder.role, holder.department)


def visitor(request: Request) -> Admin | None:
    """Who is logged in, for an error page's header; ``None`` when nobody is (no cookie, the
    session refused as a page would refuse it, the gateway not started). Synchronous: call it
    from a thread."""
    if not request.cookies.get(SESSION_COOKIE):
        return None
    try:
        return session_admin(request, governance_of(request))
    except RequestError:
        return None
