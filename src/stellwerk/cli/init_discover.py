"""``stellwerk init --discover URL``: what the command asks, prints and writes of a server that
already runs its models (the reading and matching are ``stellwerk.configurator.discover``).

Two things are the operator's word, never guessed from the server:

* where it runs (``--discover-hosting``, asked on a terminal). An address does not say it: a
  loopback or private address can be a tunnel or a VPN to a cloud, a public one an on-premises
  machine. Not stated, the models are written without ``hosting``: the gateway counts them as the
  least trusted location, where only data every location may have goes (by default ``public``);
* that the models may serve at once (``--discover-approve``, asked on a terminal). A server says
  what it calls a model, which is no proof of its weights; without the word every model is
  ``proposed``, and approving it (``stellwerk catalog set``) is an audited decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, get_args

import typer

from stellwerk.cli.init_proposal import Plan
from stellwerk.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from stellwerk.config.schema import Classification, Hosting
    from stellwerk.configurator.discover import Discovery
    from stellwerk.configurator.engines import Served
    from stellwerk.configurator.needs import Needs
    from stellwerk.modelfacts import Catalog


def hostings() -> tuple[Hosting, ...]:
    """The config's hosting values (imported when asked: the config's package reads YAML, which
    the CLI's start does not load)."""
    from stellwerk.config.base import Hosting

    return get_args(Hosting)


HOSTING_HELP = (
    "with --discover: where that server processes the data sent to it, on_prem, eu_cloud or "
    "non_eu_cloud (the config's hosting); left out, the models are written without hosting "
    "(the least trusted location: only public data goes there). On a terminal, init asks"
)
APPROVE_HELP = (
    "with --discover: write the models the catalog knows (and that meet the needs) as approved, "
    "so the gateway serves them at once; without it every discovered model is proposed. On a "
    "terminal, init asks"
)
UNKNOWN = "unknown"


def hosting(value: str | None) -> Hosting | None:
    """``--discover-hosting``: one of the config's hosting values (case and ``-`` for ``_`` do
    not matter), else a ``ConfigError`` naming them."""
    if value is None:
        return None
    given = value.strip().lower().replace("-", "_")
    for place in hostings():
        if given == place:
            return place
    raise ConfigError(
        f"--discover-hosting: {value!r} is not one of {', '.join(hostings())} (where the "
        "discovered server processes the data sent to it; leave the option out when it is not "
        "known: the models are then written without hosting)"
    )


def from_discovery(
    url: str,
    catalog: Catalog,
    needs: Needs,
    consoles: tuple[Console, Console],
    key_env: str | None,
    ask: bool,
    given: dict[str, float],
    stated: tuple[Hosting | None, bool | None],
) -> Plan:
    """The plan for the models ``url`` serves. ``consoles``: (out, err); ``stated``: the hosting
    and the approval the flags gave (None: not given, asked on a terminal)."""
    import os

    from rich.markup import escape

    from stellwerk.configurator.discover import discover, served_from

    out, err = consoles
    key = None
    if key_env is not None:
        key = os.environ.get(key_env)
        if not key:
            raise ConfigError(f"--discover-key-env: environment variable {key_env} is not set")
    found = discover(url, catalog, key=key)
    sizes = _sizes(url, found, given, ask)
    where, approve = stated
    served, report = served_from(found, needs, sizes, hosting=where, approve=bool(approve))
    _show(out, url, found, served, report)
    if ask and where is None:
        where = _ask_hosting(url)
    if ask and approve is None:
        approve = _ask_approval(served_from(found, needs, sizes, approve=True)[0])
    served, _ = served_from(found, needs, sizes, hosting=where, approve=bool(approve))
    approved = [row.model_id for row in served if row.lifecycle == "approved"]
    if approved:
        out.print(f"approved at your word: {', '.join(approved)}", markup=False, soft_wrap=True)
    warnings = _warnings(url, where, needs.highest_classification, key_env is not None)
    for line in warnings:
        err.print(f"[yellow]warning:[/] {escape(line)}", soft_wrap=True)
    backend: dict[str, object] = {
        "name": "ollama" if found.protocol == "ollama" else "discovered",
        "kind": found.protocol,
        "base_url": found.base_url,
    }
    if found.dialect is not None:
        backend["dialect"] = found.dialect
    if key_env is not None:
        backend["api_key_env"] = key_env
    header = [f"models discovered at {url} ({_kind(found)})", *report]
    header += [f"WARNING: {line}" for line in warnings]
    return [backend], list(served), header, []


def reach_lines(served: Sequence[Served], classification: Classification) -> list[str]:
    """What the config's header says of where the models run and which data may go to them,
    by the default ``governance.classification_hosting`` (init writes no other)."""
    from stellwerk.config.schema import GovernanceConfig
    from stellwerk.policy.classification import LEVELS, may_go

    rules = GovernanceConfig()
    lines = []
    places = list(dict.fromkeys(row.hosting for row in served))
    for place in places:
        classes = [level for level in LEVELS if may_go(level, place, rules)]
        data = (
            "data of every classification"
            if classes == list(LEVELS)
            else (f"only data classified {', '.join(classes)}")
        )
        ids = ", ".join(row.model_id for row in served if row.hosting == place)
        if place is None:
            who = "No model states" if len(places) == 1 else f"{ids}: no"
            lines.append(f"{who} its hosting (the least trusted location), so {data} may go there.")
        else:
            who = "Every model is" if len(places) == 1 else f"{ids}:"
            lines.append(f"{who} hosted {place}, so {data} may go to them.")
    if not any(may_go(classification, row.hosting, rules) for row in served):
        lines.append(f"Data classified {classification} may go to none of them.")
    return lines


def _sizes(url: str, found: Discovery, given: dict[str, float], ask: bool) -> dict[str, float]:
    from stellwerk.cli.plain_number import prompt_number
    from stellwerk.configurator.discover import unsized

    served_names = {f.name for f in found.found}
    unknown = sorted(set(given) - served_names)
    if unknown:
        raise ConfigError(
            f"--size: {url} serves no model {', '.join(repr(n) for n in unknown)} (it serves: "
            f"{', '.join(sorted(served_names)) or 'nothing'})"
        )
    sizes = dict(given)
    if ask:
        for name in (n for n in unsized(found) if n not in sizes):
            size = prompt_number(
                f"{name}: size in billions of parameters (0 to leave it out)", "--size", default="0"
            )
            if size > 0:
                sizes[name] = size
    return sizes


def _kind(found: Discovery) -> str:
    names = {"ollama": "Ollama", "llamacpp": "llama.cpp", "vllm": "vLLM"}
    if found.protocol == "ollama":
        return "Ollama"
    return "OpenAI-compatible" + (f", {names[found.engine]}" if found.engine else "")


def _show(
    out: Console, url: str, found: Discovery, served: Sequence[Served], report: list[str]
) -> None:
    from rich.markup import escape
    from rich.table import Table

    from stellwerk.errors import BackendFailed

    out.print(f"{url}: {_kind(found)} server with {len(found.found)} model(s)", markup=False)
    for line in report:
        out.print(f"  {line}", markup=False, soft_wrap=True)
    if not served:
        raise BackendFailed(url, "serves no model that can be configured")
    table = Table(title=escape(f"Models served by {url}"))
    for column in ("class", "model", "upstream", "params", "matched", "lifecycle"):
        table.add_column(column)
    for row in served:
        cells = (
            row.size_class,
            row.model_id,
            row.upstream,
            f"{row.params_b:g}B",
            "; ".join(row.notes),
            row.lifecycle,
        )
        table.add_row(*(escape(cell) for cell in cells))
    out.print(table)


def _ask_hosting(url: str) -> Hosting | None:
    """Where the server runs, asked until the answer is a hosting or ``unknown`` (None)."""
    while True:
        answer: str = typer.prompt(
            f"Where does {url} process the data sent to it: {', '.join(hostings())}, or "
            f"{UNKNOWN} (then written without hosting: only public data goes there)",
            default=UNKNOWN,
        )
        if answer.strip().lower() == UNKNOWN:
            return None
        try:
            return hosting(answer)
        except ConfigError as exc:
            typer.echo(f"  {exc}", err=True)


def _ask_approval(approvable: Sequence[Served]) -> bool:
    names = [row.model_id for row in approvable if row.lifecycle == "approved"]
    if not names:
        return False
    return typer.confirm(
        f"Approve the {len(names)} models the catalog knows ({', '.join(names)}), so that the "
        "gateway serves them at once? (no: each stays proposed until `stellwerk catalog set`)",
        default=False,
    )


def _warnings(
    url: str, where: Hosting | None, classification: Classification, keyed: bool
) -> list[str]:
    from stellwerk.config.schema import GovernanceConfig
    from stellwerk.policy.classification import may_go

    if where is None:
        hosted = " (a server that wants a key is often a hosted API)" if keyed else ""
        return [
            f"where {url} runs is not stated{hosted}, and its address cannot say it (a loopback "
            "or private address can be a tunnel or VPN to a cloud): its models are written "
            "without hosting, so the gateway counts them as the least trusted location and "
            "sends them only public data. State it with --discover-hosting on_prem, eu_cloud "
            "or non_eu_cloud, or set hosting on each model in the file"
        ]
    if not may_go(classification, where, GovernanceConfig()):
        return [
            f"data classified {classification} may not go to {where} "
            "(governance.classification_hosting): the department's requests at that class "
            "reach none of these models"
        ]
    return []
