"""``stellwerk route``: the decision the gateway would make for a prompt, and why.

It decides through the gateway's own steps (``gateway.selection.Selector`` with the governance
policy), over the state the gateway reads: lifecycle and consent as the ledger holds them, the
use cases of the database, the catalog costs accepted from a calibration, the models' measured
answer lengths, and the learned router's version in use (a promoted correction, or one a rollback
restored, named as the gateway names it: ``learned:<artifact>+<version>``). The caller is a key
(``--key``, as a client would send it) or a department (``--department``, optionally
``--use-case``); ``--classification`` raises the data class as the
``x-stellwerk-classification`` header does. Nothing is written: no seeding, no audit entry.
When the config's SQLite ledger does not exist yet, the config's own state is read, as the
gateway's first start would seed it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stellwerk.cli.router_cmd import _errors
from stellwerk.cli.whole_number import whole
from stellwerk.errors import InvalidRequest, RequestError, StellwerkError

if TYPE_CHECKING:
    from stellwerk.config.schema import ModelConfig, StellwerkConfig
    from stellwerk.gateway.auth import Principal
    from stellwerk.governance.service import Governance
    from stellwerk.ledger.ledger import Ledger
    from stellwerk.routing.base import Decision


@dataclass(frozen=True)
class Verdict:
    """What the gateway would do: the principal it decided for, its decision (or the refusal a
    client would get), and why each configured model is out, if it is."""

    principal: Principal
    decision: Decision | None
    refused: str | None
    excluded: dict[str, str]


def route_cmd(
    prompt: Annotated[str, typer.Argument(help="The prompt to route.")],
    config: Annotated[Path, typer.Option("--config", "-c", help="stellwerk.yaml")],
    route: Annotated[str, typer.Option("--route", help="Named route (sets the cost weight).")] = (
        "auto"
    ),
    key: Annotated[
        str | None,
        typer.Option("--key", help="Decide for this API key (default: env STELLWERK_KEY)."),
    ] = None,
    department: Annotated[
        str | None, typer.Option("--department", help="Decide for a caller of this department.")
    ] = None,
    use_case: Annotated[
        str | None, typer.Option("--use-case", help="With --department: the key's use case.")
    ] = None,
    classification: Annotated[
        str | None,
        typer.Option(
            "--classification",
            help="The request's data class (public, internal, confidential, secret): may raise "
            "the caller's default, never lower it, as the gateway's header.",
        ),
    ] = None,
    max_tokens: Annotated[
        int | None,
        typer.Option(
            "--max-tokens", parser=whole(least=1), help="The request's cap on the answer length."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
) -> None:
    """Show which model the gateway would route PROMPT to, with every candidate's scores.

    For whom it decides (the key, or a caller of the department and use case), and why each
    other model is out."""
    from stellwerk.config.loader import load_config

    with _errors():
        cfg = load_config(config)
        if route not in cfg.routes:
            raise InvalidRequest(
                f"route {route!r} is not configured (routes: {', '.join(cfg.routes)})"
            )
        key = key or os.environ.get("STELLWERK_KEY") or None
        verdict = decide(cfg, prompt, route, key, department, use_case, classification, max_tokens)
    if as_json:
        typer.echo(json.dumps(_as_json(verdict)))
    else:
        _print(verdict, route, cfg)
    if verdict.refused is not None:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``route`` to the main command tree."""
    app.command("route")(route_cmd)


def decide(
    cfg: StellwerkConfig,
    prompt: str,
    route: str,
    key: str | None,
    department: str | None,
    use_case: str | None,
    classification: str | None,
    max_tokens: int | None,
) -> Verdict:
    """The gateway's decision for ``prompt`` over the ledger's governance state."""
    from stellwerk.backends.tokens import PromptSize
    from stellwerk.backends.types import ChatRequest
    from stellwerk.calibration.costs import with_measured_costs
    from stellwerk.calibration.records import CalibrationStore
    from stellwerk.gateway.governance import permit
    from stellwerk.gateway.selection import Selector, needs_of
    from stellwerk.governance.service import Governance
    from stellwerk.learning.online import use_current
    from stellwerk.ledger.graded import GradedStore
    from stellwerk.routing.learned import LearnedRouter
    from stellwerk.routing.loader import load_router

    ledger, blank = _open_state(cfg)
    try:
        calibrations = CalibrationStore(ledger)
        served = with_measured_costs(cfg, calibrations.current_costs())
        if not served.departments:  # a config without governance: any caller, no allow-lists
            served = served.model_copy(update={"departments": (_anyone(),)})
            department = department or _anyone().name
        governance = Governance(ledger, served, evaluated=calibrations.evaluated)
        if blank:
            governance.start()  # seeded into the blank ledger: the config's catalog, use cases
        else:
            governance.reload()
        principal = _principal(served, governance, key, department, use_case, classification)
        router = load_router(served.router)
        if isinstance(router, LearnedRouter):  # the version in use, as the gateway loads it
            use_current(router, GradedStore(ledger))
        selector = Selector(served, router, permit(governance))
        selector.measured(_answer_lengths(cfg))
        params: dict[str, Any] = {} if max_tokens is None else {"max_tokens": max_tokens}
        request = ChatRequest(messages=[{"role": "user", "content": prompt}], params=params)
        size = PromptSize.of(request)
        needs = needs_of(request)
        excluded = _excluded(served, governance, principal, needs, size.tokens)
        try:
            eligible = selector.eligible(principal, size.tokens, needs, max_tokens)
        except RequestError as exc:  # an operator's tool: every model's reason (``detail``)
            return Verdict(principal, None, exc.detail or str(exc), excluded)
        embedding = _prompt_embedding(served, size.text) if router.needs_embedding else None
        selection = selector.decide(
            route,
            eligible,
            size.text,
            size.tokens,
            embedding=embedding,
            max_answer_tokens=max_tokens,
        )
        return Verdict(principal, selection.decision, None, excluded)
    finally:
        ledger.close()


def _open_state(cfg: StellwerkConfig) -> tuple[Ledger, bool]:
    """The config's ledger; a blank in-memory one (True) when its SQLite file does not exist
    yet (the config's own state then applies, and no file is made)."""
    from sqlalchemy.engine import make_url

    from stellwerk.ledger.ledger import open_ledger

    url = make_url(cfg.server.database_url)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).exists()):
        return open_ledger("sqlite://"), True
    return open_ledger(url), False


def _anyone() -> Any:
    from stellwerk.config.governance import DepartmentConfig

    return DepartmentConfig(name="any-caller")


def _principal(
    cfg: StellwerkConfig,
    governance: Governance,
    key: str | None,
    department: str | None,
    use_case: str | None,
    classification: str | None,
) -> Principal:
    from stellwerk.gateway.auth import Keyring
    from stellwerk.gateway.governance import classify
    from stellwerk.governance.department_names import unknown_department
    from stellwerk.governance.principal import key_principal
    from stellwerk.policy.classification import HEADER

    if key is not None and department is not None:
        raise InvalidRequest("give --key or --department, not both")
    if key is not None:
        keyring = Keyring.from_config(_resolvable(cfg), os.environ, governance)
        principal = keyring.authenticate(f"Bearer {key}")
    elif department is not None:
        departments = {d.name: d for d in cfg.departments}
        if department not in departments:  # in the admin API's words
            raise unknown_department(department, departments)
        cases = governance.snapshot.use_cases
        if use_case is not None and use_case not in cases:
            raise InvalidRequest(
                f"use case {use_case!r} does not exist (use cases: {', '.join(cases) or 'none'})"
            )
        if use_case is not None and cases[use_case].department != department:
            # no request can run so: a key of the department is never bound to another's use
            # case (``keys create`` refuses it in the same words)
            raise InvalidRequest(
                f"use case {use_case!r} belongs to department {cases[use_case].department!r},"
                f" not {department!r}"
            )
        principal = key_principal(
            key_id="(department)",
            department=department,
            role="user",
            use_case=use_case,
            classification=None,
            departments=departments,
            use_cases=cases,
        )
    else:
        names = ", ".join(d.name for d in cfg.departments)
        raise InvalidRequest(
            f"say whom to decide for: --key KEY (or env STELLWERK_KEY) or --department NAME"
            f" (departments: {names})"
        )
    if use_case is not None and key is not None:
        raise InvalidRequest("--use-case goes with --department (a key has its own)")
    return classify(principal, {HEADER: classification} if classification else {})


def _resolvable(cfg: StellwerkConfig) -> StellwerkConfig:
    """The config with only the keys this process can recognise (a digest in the config or its
    env var set): a config key whose value is elsewhere cannot be presented here anyway."""
    departments = tuple(
        d.model_copy(
            update={"keys": tuple(k for k in d.keys if k.key_sha256 or k.key_env in os.environ)}
        )
        for d in cfg.departments
    )
    return cfg.model_copy(update={"departments": departments})


def _excluded(
    cfg: StellwerkConfig,
    governance: Governance,
    principal: Principal,
    needs: set[str],
    prompt_tokens: int,
) -> dict[str, str]:
    """Why each configured model cannot take this request, as the policy filter and the
    selector's capability check say it."""
    policy = governance.snapshot.policy
    department = policy.departments.get(principal.department)
    try:
        case = policy.use_case_of(principal)
    except RequestError:
        case = None
    out: dict[str, str] = {}
    for state in governance.snapshot.models:
        model: ModelConfig = state.config
        missing = sorted(needs - set(model.capabilities))
        reason = None
        if department is not None:
            reason = policy.refusal(state, department, case, principal.classification)  # type: ignore[arg-type]
        if reason is None and missing:
            reason = (
                f"cannot do {', '.join(missing)} (capabilities: {', '.join(model.capabilities)})"
            )
        if reason is None and model.context_length <= prompt_tokens:
            reason = f"context {model.context_length} tokens, prompt about {prompt_tokens}"
        if reason is not None:
            out[model.id] = reason
    return out


def _as_json(verdict: Verdict) -> dict[str, Any]:
    who = verdict.principal
    out: dict[str, Any] = {
        "caller": {
            "key_id": who.key_id,
            "department": who.department,
            "use_case": who.use_case,
            "classification": who.classification,
        },
        "excluded": verdict.excluded,
    }
    if verdict.refused is not None:
        out["refused"] = verdict.refused
        return out
    decision = verdict.decision
    assert decision is not None
    out.update(
        {
            "model": decision.model_id,
            "ranking": list(decision.ranking),
            "reason": decision.reason,
            "router": decision.router,
            "familiarity": decision.familiarity,
            "unfamiliar": decision.unfamiliar,
            "scores": [
                {
                    "model": s.model_id,
                    "quality": s.quality,
                    "expected_cost": s.expected_cost,
                    "utility": s.utility,
                    "answer_tokens": s.answer_tokens,
                    "answer_source": s.answer_source,
                }
                for s in decision.scores
            ],
        }
    )
    return out


def _print(verdict: Verdict, route: str, cfg: StellwerkConfig) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    who = verdict.principal
    case = f", use case {who.use_case}" if who.use_case else ""
    console.print(
        f"for department [bold]{who.department}[/bold]{case} (key {who.key_id}),"
        f" classification {who.classification}"
    )
    decision = verdict.decision
    if decision is not None:
        table = Table(title=f"route {route!r} (cost weight {cfg.routes[route].cost_weight:g})")
        for col, justify in (
            ("", "left"),
            ("model", "left"),
            ("quality", "right"),
            ("answer tokens", "right"),
            ("expected cost", "right"),
            ("utility", "right"),
        ):
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
        for s in decision.scores:
            mark = "→" if s.model_id == decision.model_id else ""
            answer = "" if s.answer_tokens is None else f"{s.answer_tokens} ({s.answer_source})"
            table.add_row(
                mark,
                s.model_id,
                f"{s.quality:.3f}",
                answer,
                _plain(s.expected_cost),
                f"{s.utility:.3f}",
            )
        console.print(table)
        console.print(f"{decision.reason}  [dim]({decision.router})[/dim]")
    for model_id, reason in verdict.excluded.items():
        console.print(f"[dim]not a candidate:[/dim] {model_id}: {reason}", highlight=False)
    if verdict.refused is not None:
        typer.echo(
            "refused; every model's reason, as the gateway logs it for operators (its answer"
            f" names only the models the key may know of): {verdict.refused}",
            err=True,
        )


def _plain(amount: float) -> str:
    """Three significant digits as a plain decimal: ``0.0000134``, never ``1.34e-05``."""
    from decimal import Decimal

    return format(Decimal(f"{amount:.3g}"), "f")


def _prompt_embedding(cfg: StellwerkConfig, prompt: str) -> list[float] | None:
    """The prompt's embedding from ``router.embedding_model``, asked as the gateway asks it
    (its backend's own embed, within ``router.embedding_timeout_s``); None with a warning on
    stderr when it cannot be had: the router then decides on the text alone and says so."""
    import asyncio
    import os

    from stellwerk.backends.build import build_backends, build_client
    from stellwerk.config.loader import resolve_env
    from stellwerk.routing.embedding import embedding_input

    settings = cfg.router
    model = next((m for m in cfg.models if m.id == settings.embedding_model), None)
    if model is None:  # the config check refuses this; kept for a clear message all the same
        typer.echo("warning: router.embedding_model is not set: deciding on the text", err=True)
        return None

    async def ask() -> list[float] | None:
        client = build_client()
        try:
            keys = resolve_env([b.api_key_env for b in cfg.backends if b.api_key_env], os.environ)
            backend = build_backends(cfg, client, keys)[model.backend]
            async with asyncio.timeout(settings.embedding_timeout_s):
                result = await backend.embed(model.upstream, [embedding_input(prompt)])
        finally:
            await client.aclose()
        return result.vectors[0] if len(result.vectors) == 1 else None

    try:
        return asyncio.run(ask())
    except TimeoutError:
        problem = f"no answer in {settings.embedding_timeout_s:g} s"
    except StellwerkError as exc:
        problem = str(exc)
    typer.echo(f"warning: embedding from {model.id!r} unavailable: {problem}", err=True)
    return None


def _answer_lengths(cfg: StellwerkConfig) -> dict[str, int]:
    """The models' measured answer lengths in the config's ledger, as the gateway reads them;
    none when the ledger does not exist yet (it is not made here) or cannot be read."""
    from sqlalchemy.engine import make_url

    from stellwerk.errors import LedgerError
    from stellwerk.ledger.ledger import open_ledger

    url = make_url(cfg.server.database_url)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).exists()):
        return {}
    try:
        ledger = open_ledger(url)
    except LedgerError as exc:
        typer.echo(f"warning: answer lengths not measured: {exc}", err=True)
        return {}
    try:
        return ledger.answer_lengths(
            days=cfg.router.answer_window_days, min_requests=cfg.router.answer_min_requests
        )
    finally:
        ledger.close()
