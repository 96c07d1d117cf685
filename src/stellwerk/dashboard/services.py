"""The running gateway as the dashboard reads it: :class:`Runtime` names what the dashboard uses
of the gateway's runtime (the dashboard imports nothing of the gateway, which mounts it:
docs/architecture.md), and :func:`runtime_of` is the one way to it.

Through it the dashboard reads and acts through the running gateway's own ``Governance`` (its
``admin``: catalog, keys, use cases, budgets over its ledger; its ``snapshot``), the object the
admin API uses. After a change the dashboard reloads its snapshot, as the admin API does, so that
the change takes effect on the next request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from fastapi import Request

from stellwerk.backends.base import Backend
from stellwerk.backends.breaker import CircuitBreaker
from stellwerk.dashboard.auth import Keyring
from stellwerk.errors import NotStarted
from stellwerk.governance.service import Governance
from stellwerk.routing.base import Router


class Selector(Protocol):
    """What the dashboard reads of the gateway's model selection: the router it decides with."""

    @property
    def router(self) -> Router: ...


class ShadowSkips(Protocol):
    """What the dashboard reads of the gateway's shadow grading: the requests this process
    skipped since its start, per reason (``gateway.shadow.ShadowGrader.skipped``)."""

    @property
    def skipped(self) -> Mapping[str, int]: ...


class Refusals(Protocol):
    """Counts requests refused before their key was known (``gateway.keyless.Keyless``): the
    dashboard's failed logins among them."""

    def refused(self, api: str, endpoint: str, reason: str) -> None: ...


class Accounts(Protocol):
    """What the dashboard uses of the gateway's accounting (``gateway.accounting.Accounts``)."""

    @property
    def keyless(self) -> Refusals: ...


class Runtime(Protocol):
    """What the dashboard reads of the running gateway (``gateway.runtime.Runtime`` is it; the
    gateway's app checks that statically)."""

    @property
    def governance(self) -> Governance: ...

    @property
    def keyring(self) -> Keyring: ...

    @property
    def selector(self) -> Selector: ...

    @property
    def shadow(self) -> ShadowSkips: ...

    @property
    def backends(self) -> Mapping[str, Backend]: ...

    @property
    def breakers(self) -> Mapping[str, CircuitBreaker]: ...

    @property
    def accounts(self) -> Accounts: ...


def runtime_of(request: Request) -> Runtime:
    """The running gateway's runtime, which the gateway builds when it starts; before that
    (served without its start-up, or while starting) 503, :class:`~stellwerk.errors.NotStarted`,
    on the dashboard's error page."""
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    if runtime is None:
        raise NotStarted("the gateway has not started yet: its runtime is built at start-up")
    return runtime


def governance_of(request: Request) -> Governance:
    return runtime_of(request).governance
