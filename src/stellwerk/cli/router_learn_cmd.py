"""``stellwerk router adapt | rollback | versions``: the learned router's versions.

Each opens the ledger of the config (``server.database_url``) and the router it names; ``adapt``
and ``rollback`` print one JSON object on stdout and audit what they change (actor
``cli:<login name>``; a rollback with its required ``--reason``; a dry run of ``adapt`` as
``router.adapt_dry_run``), ``adapt`` also says on stderr, in plain words, why too few graded records
could be used, and after a rollback from which records it learned (those since the rollback,
unless ``--all-records``); ``versions`` lists the stored versions (a table, or JSON with
``--json``). Every
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

from stellwerk.cli.whole_number import whole
from stellwerk.errors import StellwerkError

if TYPE_CHECKING:
    from stellwerk.config.schema import StellwerkConfig
    from stellwerk.learning.online import Judging
    from stellwerk.ledger.graded import GradedStore, RouterVersion
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
def _opened(
    config_path: Path,
) -> Iterator[tuple[LearnedRouter, GradedStore, str, Judging, StellwerkConfig]]:
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
        yield router, GradedStore(ledger), config_hash(config), judging(config, router), config
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
        bool,
        typer.Option(
            "--dry-run",
            help="Compare and report; store nothing (audited as a dry run, router.adapt_dry_run).",
        ),
    ] = False,
    seed: Annotated[
        int, typer.Option("--seed", parser=whole(), help="Seed of the cross-validation folds.")
    ] = 0,
    all_records: Annotated[
        bool,
        typer.Option(
            "--all-records",
            help="Learn from every graded request kept, those before the newest rollback"
            " included (by default only those after it).",
        ),
    ] = False,
) -> None:
    """Adapt the learned router from the graded requests of its artifact.

    The result is promoted only if it routes better than the version in use on graded requests
    it was not fitted on. After a rollback it learns only from the graded requests that came
    after it (what was learned from the earlier ones was rolled back); --all-records includes
    them."""
    from stellwerk.learning.online import adapt_stored

    with _opened(config) as (router, store, file_hash, judged_at, _):
        outcome = adapt_stored(
            router,
            store,
            actor=_actor(),
            dry_run=dry_run,
            seed=seed,
            config_hash=file_hash,
            judged_at=judged_at,
            all_records=all_records,
        )
        _print(adapt_report(outcome.as_json(router.version), dry_run=dry_run))
        said = outcome.why or outcome.window_note
        if said:
            typer.echo(said, err=True)


def adapt_report(figures: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
    """What ``router adapt`` prints: the outcome's figures, with ``would_promote`` (the
    comparison's verdict) and ``promoted`` (a version was stored: never on a dry run, which
    stores nothing, audited ``router.adapt_dry_run``), so that a script reading ``promoted`` is
    not told of a version that does not exist."""
    verdict = bool(figures.get("promoted"))
    return {
        **figures,
        "would_promote": verdict,
        "promoted": verdict and not dry_run,
        "dry_run": dry_run,
    }


def rollback_cmd(
    config: ConfigOption,
    reason: Annotated[
        str, typer.Option("--reason", help="Why (goes into the audit log; required).")
    ],
    to: Annotated[
        int | None,
        typer.Option(
            "--to",
            help="The version to use again (0: the base artifact alone); default: the version"
            " in use before the current one.",
            parser=whole(least=0),
        ),
    ] = None,
) -> None:
    """Make an earlier version of the learned router current again (audited).

    Its decisions then name the promotion whose correction it restored (``correction_of``). A
    version whose correction is in use already changes nothing and is refused (exit code 2).
    Adaptation then learns only from the graded requests that come after the rollback (router
    adapt --all-records includes the earlier ones). With a schedule (router.adapt_every_s), the
    gateway adapts again only once router.adapt_min_new of them came; it says so on stderr.
    The reason (--reason) is required, as for every governance change, and goes into the audit
    entry."""
    from stellwerk.governance.reason import audit_reason

    try:
        why = audit_reason(reason)
    except StellwerkError as exc:
        raise _fail(exc) from exc
    with _opened(config) as (router, store, file_hash, _, loaded):
        version = store.roll_back(
            router.version, to, actor=_actor(), reason=why, config_hash=file_hash
        )
        scheduled = loaded.router.adapt_every_s > 0
        _print(
            {
                "artifact": router.version,
                "new_version": version.id,
                "correction": version.correction is not None,
                **version.details,
                "schedule_waits_for": loaded.router.adapt_min_new if scheduled else None,
            }
        )
        if scheduled:
            typer.echo(_holds(loaded.router.adapt_every_s, loaded.router.adapt_min_new), err=True)
        else:
            typer.echo(
                "stellwerk router adapt now learns only from the graded requests that come after"
                " this rollback (--all-records includes the earlier ones).",
                err=True,
            )


def _holds(every_s: float, min_new: int) -> str:
    """What a rollback means for the scheduled adaptation, in plain words."""
    return (
        f"The scheduled adaptation (router.adapt_every_s: {every_s:g}) adapts again only once"
        f" {min_new} graded requests came after this rollback (router.adapt_min_new), and then"
        " only from those after it: the graded requests before it are not learned from again"
        " (stellwerk router adapt --all-records includes them); to keep this version until you"
        " adapt by hand, set router.adapt_every_s to 0."
    )


def versions_cmd(
    config: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """List the learned router's stored versions, newest first: the numbers ``rollback --to``
    takes, and which one's correction is in use."""
    from stellwerk.learning.online import use_current

    with _opened(config) as (router, store, _, _, _):
        use_current(router, store)
        rows = [_version_row(v, router.adapted) for v in store.versions(router.version)]
    newest = rows[0]["version"] if rows else 0
    if as_json:
        _print(
            {
                "artifact": router.version,
                "current_version": newest,
                "in_use": router.adapted,
                "versions": rows,
            }
        )
        return
    if not rows:
        typer.echo(f"artifact {router.version}: no version yet; the base router alone is in use")
        return
    typer.echo(
        f"artifact {router.version}: current version {newest};"
        f" correction in use: {f'version {router.adapted}' if router.adapted else 'none (base)'}"
    )
    for row in rows:
        typer.echo(_version_line(row))


def _version_row(version: RouterVersion, in_use: int) -> dict[str, Any]:
    d = version.details
    comparison = d.get("comparison") or {}
    rollback = "rollback_to" in d
    return {
        "version": version.id,
        "time": version.time.isoformat(timespec="seconds"),
        "actor": version.actor,
        "action": "rollback" if rollback else "adapt",
        "rollback_to": d.get("rollback_to") if rollback else None,
        "form": None if rollback else d.get("form"),
        "gain": None if rollback else comparison.get("gain"),
        "standard_error": None if rollback else comparison.get("standard_error"),
        "judged": None if rollback else comparison.get("records"),
        "in_use": version.id == in_use,
    }


def _version_line(row: dict[str, Any]) -> str:
    head = f"{row['version']:>4}  {row['time']}  "
    if row["action"] == "rollback":
        to = row["rollback_to"]
        what = f"rollback to {'the base router' if to == 0 else f'version {to}'}"
    else:
        gain, se = row["gain"], row["standard_error"]
        figures = "" if gain is None else f", gain {gain:+.4f} ± {se or 0:.4f}"
        what = f"adapt (form {row['form']}{figures}, {row['judged']} judged)"
    return head + what + ("  [in use]" if row["in_use"] else "")


def register(app: typer.Typer) -> None:
    """Add ``adapt``, ``rollback`` and ``versions`` to ``stellwerk router``."""
    app.command("adapt")(adapt_cmd)
    app.command("rollback")(rollback_cmd)
    app.command("versions")(versions_cmd)
