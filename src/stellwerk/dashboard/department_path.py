"""A department page asked for by another spelling of its name: with a slash too many at the end
(``/dashboard/departments/research/``, a bookmark or a typed URL) or in another case
(``/dashboard/departments/RESEARCH``).

Department names are case-sensitive and may hold a slash (``config.base.check_name``), so
``research/`` and ``Research`` may be departments of their own. Every role is answered alike:

- a slash too many: a 307 to the page without it, when that is a department and the name asked
  for is not one (an admin's and a viewer's), or, for a head key, when it is its own department
  (whether ``research/`` exists or not: the answer tells it nothing of another department);
- another case: an admin or a viewer reads ``unknown department 'RESEARCH'`` (404), a head key
  of ``research`` a 404 saying that department names are case-sensitive, not the 403 of another
  department's page, whether ``RESEARCH`` exists or not;
- a path below its own page or slashes around its name (``research/extra``, ``/research``): a
  head key of ``research`` reads the 404 of no such page, as an admin does for a page that does
  not exist, not the 403 saying that another key would see it, whether such a department exists
  or not (the answer depends on the name asked for and the key's own only).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from urllib.parse import quote

from stellwerk.dashboard.visitor import DEPARTMENT_PAGES, Admin
from stellwerk.dashboard.web import PREFIX
from stellwerk.errors import NotFound, shown


def canonical(admin: Admin, departments: Collection[str], asked: str) -> str | None:
    """The page ``asked`` (a department's name as in the URL, slashes at the end kept) leads to:
    the page of the name without them (see the module docstring), ``None`` for the page itself."""
    name = asked.rstrip("/")
    if not name or name == asked:
        return None
    if admin.is_head:
        return admin.home if name == admin.department else None
    if asked in departments or name not in departments:
        return None
    return PREFIX + DEPARTMENT_PAGES + quote(name, safe="")


def other_case(admin: Admin, asked: str) -> NotFound | None:
    """The 404 of a head key that asks for its own department in another case, ``None`` for any
    other page."""
    own = admin.department
    if not admin.is_head or asked == own or asked.rstrip("/").casefold() != own.casefold():
        return None
    return NotFound(
        f"no such dashboard page: department names are case-sensitive; key {admin.key_id!r}"
        f" (role head) reads its department's page at {admin.home}",
        code="head_other_case",
    )


def around_own(admin: Admin, asked: str) -> NotFound | None:
    """The 404 of a head key that asks for a path below its own department's page or for its
    name with slashes around it (module docstring), ``None`` for any other page."""
    own = admin.department
    if not admin.is_head or asked == own:
        return None
    if not asked.startswith(own + "/") and re.sub("/+", "/", asked).strip("/") != own:
        return None
    return NotFound(
        f"no such dashboard page: {shown(PREFIX + DEPARTMENT_PAGES + asked)}; key"
        f" {admin.key_id!r} (role head) reads its department's page at {admin.home}",
        code="page_not_found",
    )
