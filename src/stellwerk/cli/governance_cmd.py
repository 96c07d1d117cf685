"""``stellwerk keys``, ``stellwerk use-cases``, ``stellwerk catalog`` and ``stellwerk report
usage`` (``stellwerk audit``: ``audit_cmd``).

They open the ledger named by the config (``server.database_url``) and call the same services as
the admin API; changes are audited with the actor ``cli:<login name>``. With ``server.redis_url``
a change is announced to the running gateways, which read it at once (``governance.notices``);
without, they follow within ``governance.refresh_seconds``.

A command that changes governance starts as a gateway does (``_governance``): it seeds the
models and use cases the database lacks and writes a ``config.load`` entry when its config
differs from the last one loaded, so that its change's ``config_hash`` names a loaded config. A
command that only reads (``_reading``: the listings, ``report usage``, ``audit``, ``limits
show``) writes nothing: it reads the database as it is.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stellwerk.errors import ConfigError, StellwerkError

if TYPE_CHECKING:
    from stellwerk.config.schema import StellwerkConfig
    from stellwerk.governance.notices import Announcement, Notices
    from stellwerk.governance.service import Governance

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="Path of stellwerk.yaml.", show_default=False)
]
Reason = Annotated[str, typer.Option("--reason", help="Why (goes into the audit log).")]


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


@contextmanager
def _governance(config_path: Path) -> Iterator[Governance]:
    """The governance of a command that changes it: seeded and its config audited as at a
    gateway's start, its changes announced to the running gateways."""
    with _opened(config_path, changes=True) as governance:
        yield governance


@contextmanager
def _reading(config_path: Path) -> Iterator[Governance]:
    """The governance of a command that only reads: nothing seeded, nothing audited (a model the
    database does not hold yet reads as its config states it)."""
    with _opened(config_path, changes=False) as governance:
        yield governance


@contextmanager
def _opened(config_path: Path, *, changes: bool) -> Iterator[Governance]:
    import os

    from stellwerk.calibration.records import CalibrationStore
    from stellwerk.config import load_config
    from stellwerk.config.loader import config_hash
    from stellwerk.gateway.config_secrets import env_key_hashes
    from stellwerk.governance.notices import Notices
    from stellwerk.governance.service import Governance
    from stellwerk.ledger.ledger import open_ledger

    config = load_config(config_path)
    ledger = open_ledger(config.server.database_url)
    notices = _notices(config) if changes else Notices()
    try:
        governance = Governance(
            ledger,
            config,
            evaluated=CalibrationStore(ledger).evaluated,
            config_hash=config_hash(config),
            notices=notices,
            key_hashes=env_key_hashes(config, os.environ),  # those set here
        )
        if changes:
            governance.start(_actor())  # its config.load says who loaded the config
        else:
            governance.reload()
        yield governance
    finally:
        notices.close()
        ledger.close()


def _notices(config: StellwerkConfig) -> Notices:
    """The running gateways' change notices (Redis), or none when the Redis password's variable
    is not set here (they follow at their poll then; said on stderr). A replica that did not
    acknowledge is said by ``_told`` alone, not logged too (the CLI's log goes to stderr as
    well: the same line twice, three times with a start's seeding announced)."""
    import os

    from stellwerk.governance.counters import redis_password
    from stellwerk.governance.notices import build_notices

    server = config.server
    try:
        password = redis_password(config, os.environ)
    except ConfigError as exc:
        typer.secho(
            f"warning: {exc}; the gateways read this change within governance.refresh_seconds",
            err=True,
        )
        return build_notices(None, prefix=server.redis_prefix)
    return build_notices(
        server.redis_url, prefix=server.redis_prefix, password=password, logs=False
    )


def _told(announced: Announcement) -> None:
    """Say on stderr when a running replica did not acknowledge the change in time: it follows
    at its poll, and until then may still act on the old state (a revoked key)."""
    said = announced.describe()
    if said is not None:
        typer.secho(f"warning: {said}", err=True, fg=typer.colors.YELLOW)


def _fail(exc: StellwerkError) -> typer.Exit:
    message = getattr(exc, "message", None) or str(exc)
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(2)


def _known_department(gov: Governance, department: str | None, *, listed: bool = False) -> None:
    """Refuse a ``--department`` the config does not name (a typo listed nothing, exit 0) and
    of which nothing is ``listed``, in the admin API's words (``governance.department_filters``)."""
    from stellwerk.governance.department_filters import refuse_unknown

    refuse_unknown(gov, department, listed=listed)


# the widest role, metrics
_ROLE = 7


def keys_create(
    config: ConfigOption,
    department: Annotated[str, typer.Option(help="The key's department.")],
    use_case: Annotated[str | None, typer.Option(help="Bind the key to this use case.")] = None,
    role: Annotated[
        str,
        typer.Option(
            help="user, owner, admin, viewer (reads what admin reads, changes nothing), head"
            " (reads its own department's usage, keys, limits and use cases, changes nothing) or"
            " metrics."
        ),
    ] = "user",
    classification: Annotated[
        str | None,
        typer.Option(
            help="Raise the key's data class above its use case's and department's (never"
            " below them)."
        ),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (goes into the audit log; optional).")
    ] = None,
) -> None:
    """Make a key and print it once; only its SHA-256 is stored."""
    try:
        with _governance(config) as gov:
            case = gov.admin.use_cases.get(use_case) if use_case else None
            new = gov.admin.keys.create(
                department=department,
                actor=_actor(),
                role=role,
                use_case=case,
                classification=classification,
                reason=reason,
            )
            _told(gov.changed())
            level = gov.snapshot.key_class(department, new.info.use_case, new.info.classification)
    except StellwerkError as exc:
        raise _fail(exc) from exc
    typer.echo(new.key)
    typer.secho(
        f"key id {new.info.key_id} ({new.info.role}, department {new.info.department}"
        + (f", use case {new.info.use_case}" if new.info.use_case else "")
        + f", classification {level}): copy the key now, it is not shown again",
        err=True,
    )


def _aligned(rows: list[list[str]]) -> list[str]:
    """``rows`` (the header first) as lines of columns, each column as wide as its widest cell
    (at least as its widest value ever was: an id of 18, a department of 14, a class of 13), two
    spaces between them; the last column is not padded."""
    least = {"key id": 18, "use case": 18, "department": 14, "role": _ROLE, "class": 13}
    least |= {"own class": 13, "source": 8, "risk tier": 10}
    widths = [
        max(least.get(rows[0][i], 0), *(len(row[i]) for row in rows))
        for i in range(len(rows[0]) - 1)
    ]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        + "  "
        + row[-1]
        for row in rows
    ]


def keys_list(
    config: ConfigOption,
    department: Annotated[str | None, typer.Option(help="Only this department.")] = None,
) -> None:
    """List keys, the config's and the database's (ids, never the keys).

    Each with the class its requests run under without a header, and its own class if it has
    one."""
    try:
        with _reading(config) as gov:
            snapshot = gov.snapshot
            in_config = [
                (key.id, dept.name, key.role, key.use_case, key.classification)
                for dept in gov.admin.config.departments
                if department is None or dept.name == department
                for key in dept.keys
            ]
            infos = gov.admin.keys.list(department=department)
            # a department the config no longer names still lists its keys, as on the admin API
            _known_department(gov, department, listed=bool(infos))
    except StellwerkError as exc:
        raise _fail(exc) from exc
    rows = [["key id", "department", "role", "use case", "class", "own class", "source", "state"]]
    # a config key is changed or removed by editing the config, so it is always active here
    for key_id, dept_name, role, use_case, own in in_config:
        level = snapshot.key_class(dept_name, use_case, own)
        rows.append(
            [key_id, dept_name, role, use_case or "-", level, own or "-", "config", "active"]
        )
    for info in infos:
        state = "active" if info.active else f"revoked {info.revoked_at:%Y-%m-%d}"
        level = snapshot.key_class(info.department, info.use_case, info.classification)
        rows.append(
            [
                info.key_id,
                info.department,
                info.role,
                info.use_case or "-",
                level,
                info.classification or "-",
                "database",
                state,
            ]
        )
    for line in _aligned(rows):
        typer.echo(line)


def use_cases_list(
    config: ConfigOption,
    department: Annotated[str | None, typer.Option(help="Only this department.")] = None,
) -> None:
    """List use cases, each with the class its keys' requests run under without a header.

    That class is the higher of the use case's own and its department's; its own is shown too.
    A use case no model may serve at that class now is warned of on stderr."""
    try:
        with _reading(config) as gov:
            _known_department(gov, department)
            snapshot = gov.snapshot
            cases = [
                c
                for c in gov.admin.use_cases.list()
                if department is None or c.department == department
            ]
    except StellwerkError as exc:
        raise _fail(exc) from exc
    rows = [["use case", "department", "risk tier", "class", "own class", "allowed models"]]
    for case in cases:
        level = snapshot.use_case_class(case)
        allowed = ", ".join(case.allowed_models) if case.allowed_models is not None else "any"
        rows.append(
            [
                case.name,
                case.department,
                case.risk_tier,
                level,
                case.classification or "-",
                allowed,
            ]
        )
    for line in _aligned(rows):
        typer.echo(line)
    for found in filter(None, map(snapshot.unservable, cases)):
        typer.secho(f"warning: {found.describe()}", err=True, fg=typer.colors.YELLOW)
    held = set(snapshot.use_cases)
    unseeded = [
        c.name
        for c in gov.admin.config.use_cases
        if c.name not in held and department in (None, c.department)
    ]
    if unseeded:  # a listing writes nothing: the config's new ones wait for a start or a change
        typer.echo(
            f"note: not in the database yet: {', '.join(unseeded)} (the config's; a gateway's"
            " start, or a change made with stellwerk, seeds them)",
            err=True,
        )


def keys_revoke(
    config: ConfigOption,
    key_id: Annotated[str, typer.Argument(help="The key id (key-...).")],
    reason: Reason,
) -> None:
    """Revoke a key: its next request is refused with 401. The reason is required, as on the
    admin API and the dashboard: the audit trail of a revoked (perhaps stolen) key needs it."""
    try:
        with _governance(config) as gov:
            gov.admin.keys.revoke(key_id, actor=_actor(), reason=reason)
            _told(gov.changed())
    except StellwerkError as exc:
        raise _fail(exc) from exc
    typer.echo(f"revoked {key_id}")


def catalog_list(config: ConfigOption) -> None:
    """Models with lifecycle, consent, hosting, capabilities and compliance.

    Model ids that serve the same weights are named after the table, on stderr, with what they
    differ in and which of them a withdrawal of consent on another refuses."""
    from stellwerk.policy.compliance import check_model
    from stellwerk.policy.weights import shared

    try:
        with _reading(config) as gov:
            states = gov.admin.catalog.states()
            evaluated = gov.admin.evaluated()
            rules = gov.admin.config.governance
            groups = shared(states, gov.snapshot.same_weights)
            withdrawn_on = {s.id: gov.snapshot.withdrawn_on(s.id) for s in states}
    except StellwerkError as exc:
        raise _fail(exc) from exc
    can = {s.id: ",".join(s.config.capabilities) for s in states}  # as the config lists them
    wide = max([len("capabilities"), *map(len, can.values())])
    typer.echo(
        f"{'model':<24}  {'lifecycle':<10}  {'consent':<9}  {'hosting':<12}"
        f"  {'capabilities':<{wide}}  compliance"
    )
    for s in states:
        report = check_model(s.config, rules, evaluated=s.id in evaluated)
        facts = "ok" if report.compliant else "missing " + ", ".join(report.missing)
        # "—": a model without a data owner has no consent to give or withdraw
        consent = {None: "—", True: "granted", False: "withdrawn"}[s.owner_consent]
        hosting = s.config.hosting or "not stated"  # the compliance column says it is missing
        typer.echo(
            f"{s.id:<24}  {s.lifecycle:<10}  {consent:<9}  {hosting:<12}"
            f"  {can[s.id]:<{wide}}  {facts}"
        )
    for group in groups:
        ids = [m.id for m in group.models]
        note = f"note: {', '.join(ids)} serve the same weights"
        if group.differs:
            note += f"; they differ in: {', '.join(group.differs)}"
        for model_id in ids:
            on = withdrawn_on[model_id]
            if on is not None and on != model_id:
                note += f"; {model_id} is refused: consent withdrawn on {on}"
        typer.echo(note, err=True)


def catalog_set(
    config: ConfigOption,
    model: Annotated[str, typer.Argument(help="Model id.")],
    state: Annotated[
        str, typer.Argument(help="proposed, in_review, approved, deprecated, retired")
    ],
    reason: Reason,
) -> None:
    """Move a model through its lifecycle (illegal moves are refused)."""
    try:
        with _governance(config) as gov:
            new = gov.admin.catalog.transition(model, state, actor=_actor(), reason=reason)
            _told(gov.changed())
    except StellwerkError as exc:
        raise _fail(exc) from exc
    typer.echo(f"{model}: {new.lifecycle} (version {new.version})")


def catalog_consent(
    config: ConfigOption,
    model: Annotated[str, typer.Argument(help="Model id.")],
    action: Annotated[str, typer.Argument(help="grant or withdraw")],
    reason: Reason,
) -> None:
    """Withdraw or re-grant a data owner's consent for a model.

    `grant` also lifts a withdrawal left from when the model had a data owner (the config names
    none now; the model stays refused until then)."""
    if action not in ("grant", "withdraw"):
        typer.secho("error: the action is grant or withdraw", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    try:
        with _governance(config) as gov:
            gov.admin.catalog.set_consent(model, action == "grant", actor=_actor(), reason=reason)
            _told(gov.changed())
    except StellwerkError as exc:
        raise _fail(exc) from exc
    typer.echo(f"{model}: consent {'granted' if action == 'grant' else 'withdrawn'}")


def report_usage(
    config: ConfigOption,
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    by: Annotated[str, typer.Option(help="department, model, key or use-case")] = "department",
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
) -> None:
    """Chargeback: requests, tokens, cost, energy, and what routing saved (as the dashboard)."""
    from stellwerk.governance.baseline import key_references
    from stellwerk.governance.report import parse_by, render, usage_report

    try:
        if fmt not in ("table", "csv", "json"):
            from stellwerk.errors import InvalidRequest

            raise InvalidRequest(f"unknown format {fmt!r}; choose table, csv or json")
        grouping = parse_by(by)
        with _reading(config) as gov:
            report = usage_report(
                gov.admin.ledger,
                month=month,
                by=grouping,
                references=key_references(gov, gov.admin.catalog.states()),
                key_use_cases=gov.admin.key_use_cases(),
            )
    except StellwerkError as exc:
        raise _fail(exc) from exc
    typer.echo(render(report, fmt), nl=False)


def register(app: typer.Typer) -> None:
    keys = typer.Typer(help="Client keys: create, list, revoke.", no_args_is_help=True)
    keys.command("create")(keys_create)
    keys.command("list")(keys_list)
    keys.command("revoke")(keys_revoke)
    app.add_typer(keys, name="keys")
    use_cases = typer.Typer(help="Use cases: list.", no_args_is_help=True)
    use_cases.command("list")(use_cases_list)
    app.add_typer(use_cases, name="use-cases")
    catalog = typer.Typer(help="Model lifecycle and consent.", no_args_is_help=True)
    catalog.command("list")(catalog_list)
    catalog.command("set")(catalog_set)
    catalog.command("consent")(catalog_consent)
    app.add_typer(catalog, name="catalog")
    report = typer.Typer(help="Reports over the ledger.", no_args_is_help=True)
    report.command("usage")(report_usage)
    app.add_typer(report, name="report")
