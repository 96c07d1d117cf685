"""Requests refused before their key was known: counted, never a usage record each.

A request to a model endpoint without a valid key (no ``Authorization``, a malformed one, a key
the gateway does not know: a revoked key is one of these, since the governance snapshot holds
only active keys) is refused with 401 before anything is looked up, and so is one that sends
``Authorization`` twice (400) or an announced body over the limit before its key was checked
(413). Such a request belongs to no department and no key, and anyone who reaches the port can
send thousands a second: a usage record each would let an outsider fill the ledger the
chargeback, the audit evidence and the dashboard read (walk15 MEDIUM-2). So they are counted
instead, as a mature gateway counts them:

- in Prometheus, ``stellwerk_unauthenticated_requests_total{api, endpoint, reason}`` (the
  reason is the refusal's ``code``: ``invalid_api_key``, ``duplicate_header``,
  ``payload_too_large``), beside ``stellwerk_requests_total`` with department ``-``. An unknown
  key refused on an endpoint that writes no record (the model list, ``/admin``, ``/metrics``,
  ``/readyz``, feedback) is counted here too, under its route's path
  (``stellwerk.gateway.refusal.count_unknown_key``), and so is a failed dashboard login
  (``dashboard``, ``/dashboard/login``, ``login_failed``);
- in the gateway's log, one WARNING line at most every ``every_s`` seconds, with how many were
  refused since the last line, by endpoint and reason (the first at once).

A request of a known key, refused for whatever reason (its class, its limits, its budget, its
key revoked while it ran: 401 ``key_revoked``), keeps its usage record: it is its department's
business, and a key's requests are bounded by the key's own limits.
"""

from __future__ import annotations

import logging
import time
from collections import Counter as Tally
from collections.abc import Callable

from prometheus_client import Counter

log = logging.getLogger("stellwerk.gateway")

#: at most one log line in this many seconds
EVERY_S = 60.0


class Keyless:
    """Counts the refusals of requests without a known key, and logs them at a bounded rate."""

    def __init__(
        self,
        counter: Counter,
        *,
        every_s: float = EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.counter = counter
        self.every_s = every_s
        self.clock = clock
        self.unlogged: Tally[tuple[str, str, str]] = Tally()
        self.logged_at: float | None = None

    def refused(self, api: str, endpoint: str, reason: str) -> None:
        """One more request refused before its key was known."""
        self.counter.labels(api, endpoint, reason).inc()
        self.unlogged[(api, endpoint, reason)] += 1
        now = self.clock()
        if self.logged_at is not None and now - self.logged_at < self.every_s:
            return
        total = sum(self.unlogged.values())
        parts = ", ".join(
            f"{count} {api} {endpoint} {reason}"
            for (api, endpoint, reason), count in self.unlogged.most_common()
        )
        log.warning(
            "%d request(s) refused before their key was known since the last such line (%s);"
            " they leave no usage record (stellwerk_unauthenticated_requests_total counts them)",
            total,
            parts,
        )
        self.unlogged.clear()
        self.logged_at = now
