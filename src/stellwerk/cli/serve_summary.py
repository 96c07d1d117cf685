"""What ``stellwerk serve`` says when it starts (models, routes, what the router learns from,
ledger, addresses), and where
Stellwerk's own log lines go (the access log among them)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping

from stellwerk.build_info import describe
from stellwerk.config.backend import shown_address
from stellwerk.config.schema import ModelConfig, StellwerkConfig
from stellwerk.ledger.engine import safe_url
from stellwerk.policy.state import ModelState

_LEVELS = {"trace": "DEBUG"}


def startup_summary(
    config: StellwerkConfig,
    url: str,
    config_path: str,
    catalog: Mapping[str, ModelState] | None = None,
) -> list[str]:
    """The lines printed before serving; ``url`` is where the gateway listens. ``catalog``: each
    model's state as the ledger's catalog holds it (what the gateway enforces; a model it does
    not hold yet as the config seeds it); without it, the config's lifecycle is shown."""
    chat = [m for m in config.models if "chat" in m.capabilities]
    other = [m for m in config.models if "chat" not in m.capabilities]
    admin_keys = [k.id for d in config.departments for k in d.keys if k.role == "admin"]
    keys = sum(len(d.keys) for d in config.departments)
    lines = [
        f"{describe()}, config {config_path}",
        ("models (lifecycle from the ledger's catalog): " if catalog is not None else "models: ")
        + (
            ", ".join(f"{m.id} ({m.size_class}, {_state(m, catalog)}, {m.backend})" for m in chat)
            or "none"
        ),
    ]
    if other:
        lines.append(
            "other models: " + ", ".join(f"{m.id} ({', '.join(m.capabilities)})" for m in other)
        )
    lines += [
        "backends: "
        + ", ".join(f"{b.name} {shown_address(b.base_url)} ({b.kind})" for b in config.backends),
        "routes: "
        + ", ".join(f"{name} (cost weight {r.cost_weight:g})" for name, r in config.routes.items())
        + f"; router: {config.router.kind}"
        + (f" ({config.router.artifact})" if config.router.artifact else ""),
        learning_line(config),
        f"departments: {len(config.departments)}, keys in the config: {keys}"
        f" ({len(admin_keys)} admin)",
        f"ledger: {safe_url(config.server.database_url)}",
        "limits and budgets counted: "
        + (
            f"in Redis ({config.server.redis_url}), shared by every replica"
            if config.server.redis_url
            else "in this process (one replica only; set server.redis_url for more)"
        ),
        f"OpenAI API: {url}/v1   Ollama API: {url}/api   admin API: {url}/admin",
    ]
    if config.dashboard.enabled:
        lines.append(f"dashboard: {url}/dashboard (log in with an admin, viewer or head key)")
    else:
        lines.append("dashboard: off (dashboard.enabled: false)")
    unplaced = [m.id for m in config.models if m.hosting is None]
    if unplaced:  # after an upgrade, why their internal requests are refused now
        lines.append(
            f"note: no hosting stated for {', '.join(unplaced)}: they get only data that may go"
            " to every location (by default public); state hosting: on_prem, eu_cloud or"
            " non_eu_cloud (docs/governance.md, Hosting)"
        )
    if not admin_keys:
        lines.append(
            "note: the config has no admin key; the dashboard and the admin API need one"
            f" (stellwerk keys create -c {config_path} --department NAME --role admin)"
        )
    return lines


def learning_line(config: StellwerkConfig) -> str:
    """What the router learns from and when (docs/router.md, "Learning the organisation's own
    traffic"): shadow grading and the account its calls are charged to, feedback, the schedule."""
    router = config.router
    if router.kind != "learned":
        return f"router learning: off (the {router.kind!r} router does not learn)"
    shadow = router.shadow
    parts = [
        (
            f"shadow grading {shadow.share * 100:g} % of familiar routed requests, unfamiliar first"
            f" (at most {shadow.requests_per_minute}/min per process, charged to"
            f" {shadow.account})"
        )
        if shadow.share > 0
        else "shadow grading off",
        f"feedback for {_span(router.feedback_window_s)} after an answer"
        if router.feedback_window_s > 0
        else "feedback off",
        f"adaptation every {_span(router.adapt_every_s)} once {router.adapt_min_new} new graded"
        " requests came (one replica at a time)"
        if router.adapt_every_s > 0
        else "adaptation by command only (stellwerk router adapt)",
    ]
    return "router learning: " + "; ".join(parts)


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def _state(model: ModelConfig, catalog: Mapping[str, ModelState] | None) -> str:
    """A model's lifecycle as the gateway enforces it, and the config's where that differs (the
    catalog keeps the state of a model it knows: ``stellwerk catalog set``); a withdrawn
    consent too."""
    held = None if catalog is None else catalog.get(model.id)
    if held is None:
        return model.lifecycle
    state: str = held.lifecycle
    if state != model.lifecycle:
        state += f" (config: {model.lifecycle})"
    if held.owner_consent is False:
        state += ", consent withdrawn"
    return state


def log_to_stderr(level: str, *, access_log: bool = True) -> None:
    """Send the ``stellwerk`` loggers' lines from ``level`` up to stderr, with a time stamp; the
    access log (INFO) only when ``access_log``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("stellwerk")
    logger.handlers = [handler]
    logger.setLevel(_LEVELS.get(level, level.upper()))
    logger.propagate = False
    if not access_log:
        logging.getLogger("stellwerk.access").setLevel(logging.WARNING)
