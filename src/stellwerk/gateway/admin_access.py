"""Who may call which admin endpoint (``stellwerk.gateway.admin_api``): the key of a request and
the dependencies that check its role.

| role | reads | changes |
|---|---|---|
| ``admin`` | everything | everything |
| ``viewer`` | everything (every ``GET``) | nothing |
| ``head`` | its department's ``/admin/usage``, ``keys``, ``limits``, ``use-cases`` | nothing |
| ``owner`` | its department's usage report (not by key) | its department's models' consent |
| ``user``, ``metrics`` | its department's usage report (not by key) | nothing |

A refusal names the key, its role and, for a head key, its own department: never another one. A
head key that asks for another department's keys gets the same 403 whether that department
exists or not, so it learns no department's name by trying.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from stellwerk.config.base import HEAD, READ_ONLY, READERS
from stellwerk.errors import PermissionDenied
from stellwerk.gateway.auth import Principal
from stellwerk.gateway.deps import RuntimeDep

_HEAD_READS = "usage, keys, limits and use cases"


def caller(request: Request, runtime: RuntimeDep) -> Principal:
    """The principal of the request's key (401 without a valid one)."""
    return runtime.operator(request.headers)


def needs_admin(principal: Principal) -> PermissionDenied:
    """The 403 of a key that may not change this; a viewer's or head's says that it may only
    read."""
    only = ", which may only read" if principal.role in READ_ONLY else ""
    return PermissionDenied(
        f"key {principal.key_id!r} has role {principal.role}{only}; this needs an admin key"
    )


def _needs_reader(principal: Principal) -> PermissionDenied:
    """The 403 of a key that may not read this; a head's names what it may read."""
    if principal.role != HEAD:
        return needs_admin(principal)
    return PermissionDenied(
        f"key {principal.key_id!r} has role head, which reads only its own department's"
        f" {_HEAD_READS}; this needs an admin or viewer key"
    )


def _admin(principal: Annotated[Principal, Depends(caller)]) -> Principal:
    """A key that may change things: an admin key."""
    if principal.role != "admin":
        raise needs_admin(principal)
    return principal


def _reader(principal: Annotated[Principal, Depends(caller)]) -> Principal:
    """A key that may read what an admin reads: an admin or a viewer key."""
    if principal.role not in READERS:
        raise _needs_reader(principal)
    return principal


def _department_reader(principal: Annotated[Principal, Depends(caller)]) -> Principal:
    """A key that may read a department's keys, limits and use cases: an admin or a viewer key
    (every department's), or a head key (its own department's: ``narrowed``)."""
    if principal.role not in READERS and principal.role != HEAD:
        raise needs_admin(principal)
    return principal


def _changer(principal: Annotated[Principal, Depends(caller)]) -> Principal:
    """A key whose role may change something, if the change lets it (a consent change: an owner
    key of the model's data owner too): any but a viewer or head key, which may only read."""
    if principal.role in READ_ONLY:
        raise needs_admin(principal)
    return principal


CallerDep = Annotated[Principal, Depends(caller)]
AdminDep = Annotated[Principal, Depends(_admin)]
ReaderDep = Annotated[Principal, Depends(_reader)]
DepartmentReaderDep = Annotated[Principal, Depends(_department_reader)]
ChangerDep = Annotated[Principal, Depends(_changer)]


def narrowed(principal: Principal, asked: str | None, what: str) -> str | None:
    """The department whose ``what`` (keys, limits, use cases) ``principal`` reads when it asks for
    ``asked`` (``None``: every department's): what it asked for, for an admin or a viewer key;
    its own department, for a head key, which gets a 403 for any other name (existing or not)."""
    if principal.role in READERS:
        return asked
    own = principal.department
    if asked is not None and asked != own:
        raise PermissionDenied(
            f"key {principal.key_id!r} has role head, which reads only its own department's"
            f" {what} ({own}); leave department out or name {own}",
            param="department",
        )
    return own
