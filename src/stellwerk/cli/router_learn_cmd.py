"""``stellwerk router adapt`` and ``stellwerk router rollback``: the learned router's versions.

Both open the ledger of the config (``server.database_url``) and the router it names, print one
JSON object on stdout and audit what they change (actor ``cli:<login name>``). Every
``StellwerkError`` is one line on stderr and exit code 2.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stellwerk.errors import StellwerkError

if TYPE_CHECKING:
    from stellwerk.learning.online import Judging
    from stellwerk.ledger.graded import GradedStore
    from stellwerk.routing.learned import LearnedRouter

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="Path of stellwerk.yaml.", show_default=False)
]


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


@contextmanager
def _opened(config_path: Path) -> Iterator[tuple[LearnedRouter, GradedStore, str, Judging]]:
    from stellwerk.config import load_config
    from stellwerk.config.loader import config_hash
    from stellwerk.learning.online import judging, learned
    from stellwerk.ledger.graded import GradedStore
    from stellwerk.ledger.ledger import open_ledger
    from stellwerk.routing.loader import load_router

    try:
        config = load_config(config_path)
        router = learned(load_router(config.router))
        ledger = open_ledger(config.server.database_url)
    except StellwerkError as exc:
        raise _fail(exc) from exc
    try:
        yield router, GradedStore(ledger), config_hash(config), judging(config, router)
    except StellwerkError as exc:
        raise _fail(exc) from exc
    finally:
        ledger.close()


def _fail(exc: StellwerkError) -> typer.Exit:
    message = getattr(exc, "message", None) or str(exc)
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(2)


def _print(payload: dict[str, Any]) -> None:
    typer.echo(json.dumps(payload, indent=2, sort_keys=True))


def adapt_cmd(
    config: ConfigOption,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compare and report; store and audit nothing.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the cross-validation folds.")] = 0,
) -> None:
    """Adapt the learned router from the graded requests of its artifact.

    The result is promoted only if it routes better than the version in use on graded requests
    it was not fitted on."""
    from stellwerk.learning.online import adapt_stored

    with _opened(config) as (router, store, file_hash, judged_at):
        outcome = adapt_stored(
            router,
            store,
            actor=_actor(),
            dry_run=dry_run,
            seed=seed,
            config_hash=file_hash,
            judged_at=judged_at,
        )
        _print({**outcome.as_json(router.version), "dry_run": dry_run})


def rollback_cmd(
    config: ConfigOption,
    to: Annotated[
        int | None,
        typer.Option(
            "--to",
            help="The version to use again (0: the base artifact alone); default: the version"
            " in use before the current one.",
            min=0,
        ),
    ] = None,
) -> None:
    """Make an earlier version of the learned router current again (audited).

    Its decisions then name the promotion whose correction it restored (``correction_of``). A
    version whose correction is in use already changes nothing and is refused (exit code 2)."""
    with _opened(config) as (router, store, file_hash, _):
        version = store.roll_back(router.version, to, actor=_actor(), config_hash=file_hash)
        _print(
            {
                "artifact": router.version,
                "new_version": version.id,
                "correction": version.correction is not None,
                **version.details,
            }
        )


def register(app: typer.Typer) -> None:
    """Add ``adapt`` and ``rollback`` to ``stellwerk router``."""
    app.command("adapt")(adapt_cmd)
    app.command("rollback")(rollback_cmd)
