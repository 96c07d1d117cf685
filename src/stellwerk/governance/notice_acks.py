"""Who has to acknowledge a governance notice, and how many did: the announcing side of
``governance.notices``.

The replicas expected are those alive now, not those that received the PUBLISH: every gateway
keeps ``<prefix>live:<instance>`` (its limit counters' liveness, renewed every few seconds while
it runs and reaches Redis, deleted at a clean stop) and acknowledges a notice under that same
instance. A replica that runs but stopped listening (its subscription lost, its connection
dead) is alive and so awaited: the change waits ``ACK_WAIT_S`` for it and says it did not
acknowledge, instead of returning at once as if there were nobody to wait for. A replica that
stopped is no longer alive once its key expires (``LIVENESS_TTL_S``) or is deleted.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("stellwerk.governance")

#: The longest a change waits for the other replicas to acknowledge its notice.
ACK_WAIT_S = 2.0


@dataclass(frozen=True)
class Announcement:
    """What came of announcing a change: ``replicas`` that had to read it (the gateways alive,
    the announcing one included), of which ``not_acknowledged`` had not within ``ACK_WAIT_S``
    (they follow at their poll). Both 0 without notices (no Redis) or when announcing failed."""

    replicas: int = 0
    not_acknowledged: int = 0

    def describe(self) -> str | None:
        """The line an administrator is told, or ``None`` when every replica acknowledged."""
        if not self.not_acknowledged:
            return None
        return (
            f"{self.not_acknowledged} of {self.replicas} replicas did not acknowledge a governance"
            f" change within {ACK_WAIT_S}s; they follow at their poll (governance.refresh_seconds)"
        )

    def answer(self) -> dict[str, int]:
        """The field the admin API adds to a change's answer."""
        return {"not_acknowledged": self.not_acknowledged}


def live_replicas(client: Any, prefix: str) -> set[str]:
    """The instances whose liveness key (``<prefix>live:<instance>``) exists now."""
    live = f"{prefix}live:"
    pattern = "".join(f"\\{c}" if c in "*?[]\\" else c for c in live) + "*"
    found: set[str] = set()
    for key in client.scan_iter(match=pattern, count=200):
        name = key.decode() if isinstance(key, bytes) else str(key)
        found.add(name.removeprefix(live))
    return found


def await_acknowledgements(
    client: Any, key: str, *, expected: set[str], listeners: int, own: str, logs: bool = True
) -> Announcement:
    """BLPOP the acknowledgements of one notice from ``key`` until every ``expected`` replica
    (but ``own``, the announcer: it has reloaded already) and at least ``listeners`` (PUBLISH's
    count) acknowledged, or ``ACK_WAIT_S`` passed; the missing are logged (``logs``; the CLI
    says it on its own, once)."""
    deadline = time.monotonic() + ACK_WAIT_S
    acked: set[str] = set()
    waiting = expected - {own}
    while waiting - acked or len(acked) < listeners:
        left = deadline - time.monotonic()
        popped = None if left <= 0 else client.blpop([key], timeout=max(left, 0.01))
        if popped is None:
            break
        value = popped[1]
        acked.add(value.decode() if isinstance(value, bytes) else str(value))
    client.delete(key)
    missing = max(len(waiting - acked), listeners - len(acked))
    announced = Announcement(
        replicas=max(len(expected | acked), listeners), not_acknowledged=missing
    )
    said = announced.describe()
    if said is not None and logs:
        log.warning("%s", said)
    return announced
