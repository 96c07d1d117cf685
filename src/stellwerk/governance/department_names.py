"""The refusal of a department name that names no department: the admin API's filters
(``GET /admin/keys?department=``, the audit log's department targets), the key store and the
CLI's ``--department`` answer it alike.

Department names are case-sensitive (``config.base.check_name``): ``Research`` is not
``research``. A name that is a known one in another case says so, as the dashboard's page of a
department asked for in another case does, so that a typo in case is not read as a department
that does not exist at all.
"""

from __future__ import annotations

from collections.abc import Iterable

from stellwerk.errors import NotFound, shown


def unknown_department(name: str, known: Iterable[str]) -> NotFound:
    """The 404 of ``name``, which is none of ``known``: it names the known ones, and first the
    one ``name`` spells in another case, if there is one."""
    names = sorted(set(known))
    same = [n for n in names if n.casefold() == name.casefold()]
    hint = f" (department names are case-sensitive: {shown(same[0])} is one)" if same else ""
    return NotFound(
        f"unknown department {shown(name)}{hint}; known: {', '.join(names) or 'none'}",
        param="department",
    )
