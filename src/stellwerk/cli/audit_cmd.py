"""``stellwerk audit``: read the audit log, or export all of it.

Without ``--all`` it prints the newest ``--limit`` entries, newest first. With ``--all`` it
writes every entry that matches, oldest first, reading the ledger a page at a time (memory holds
one page, however long the log), as text, CSV (a header, one row per entry, the details as JSON
text), a JSON array or JSON Lines. ``--output`` writes to a file (through ``<file>.part``, renamed
when complete, so a file of that name is always a whole export), with a progress bar when
stderr is a terminal.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stellwerk.cli.governance_cmd import ConfigOption, _fail, _reading
from stellwerk.cli.whole_number import whole
from stellwerk.errors import InvalidRequest, StellwerkError

if TYPE_CHECKING:
    from stellwerk.ledger.audit import AuditEntry

FORMATS = ("text", "csv", "json", "jsonl")
COLUMNS = ("id", "time", "actor", "action", "target_kind", "target", "details", "config_hash")
DEFAULT_LIMIT = 50
MAX_LIMIT = 10_000  # ledger.audit_read.MAX_LIMIT, the admin API's (not imported at the start)


def audit(
    context: typer.Context,
    config: ConfigOption,
    since: Annotated[
        str | None, typer.Option(help="From this ISO 8601 time or date on (UTC if no offset).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Before this ISO 8601 time or date (UTC if no offset).")
    ] = None,
    actor: Annotated[
        str | None, typer.Option(help="Only this actor (a key id, cli:<user>, config).")
    ] = None,
    action: Annotated[str | None, typer.Option(help="Only this action.")] = None,
    target: Annotated[
        str | None, typer.Option(help="Only this target, as printed (model:x) or its name (x).")
    ] = None,
    limit: Annotated[
        int,
        typer.Option(parser=whole(least=1, most=MAX_LIMIT), help="How many entries, newest first."),
    ] = DEFAULT_LIMIT,
    every: Annotated[
        bool, typer.Option("--all", help="Every entry that matches, oldest first, page by page.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="text, csv, json or jsonl")] = "text",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """The audit log of governance changes: the newest entries, or all of them (--all).

    A department target that names no department (``--target department:NAME``) is refused,
    as by the admin API, unless the log still holds entries of it."""
    from stellwerk.governance.department_filters import refuse_unknown_audit
    from stellwerk.ledger.audit_read import AuditFilter
    from stellwerk.ledger.window import Window

    try:
        if fmt not in FORMATS:
            raise InvalidRequest(f"unknown format {fmt!r}; choose {', '.join(FORMATS)}")
        if every and _given(context, "limit"):
            raise InvalidRequest("--all writes every entry; leave out --limit")
        where = AuditFilter(Window.between(since, until), actor, action, None, target)
        with _reading(config) as gov:
            refuse_unknown_audit(gov, where, found=False)  # before a page or a file is written
            ledger = gov.admin.ledger
            if every:
                total = ledger.count_audit(where) if output is not None else None
                entries: Iterable[AuditEntry] = ledger.iter_audit(where)
            else:
                entries = ledger.latest_audit(where, limit=limit)
                total = len(entries)
            if output is None:
                _print(rendered(entries, fmt))
                return
            written = _write_file(output, rendered(entries, fmt), total)
    except StellwerkError as exc:
        raise _fail(exc) from exc
    except OSError as exc:
        typer.secho(f"error: cannot write {output}: {exc.strerror or exc}", err=True, fg="red")
        raise typer.Exit(2) from exc
    typer.secho(f"wrote {written} audit entries to {output}", err=True)


def _given(context: typer.Context, name: str) -> bool:
    """Whether the option ``name`` was given on the command line, not left at its default
    (compared by name: Typer carries its own click, whose enum is not ``click``'s)."""
    source = context.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def _print(shape: Rendering) -> None:
    """Write ``shape`` to standard output; a reader that stops early (``| head``) ends the
    command quietly, as a closed pipe ends any Unix filter."""
    import os
    import sys

    try:
        for chunk in shape.chunks():
            typer.echo(chunk, nl=False)
        sys.stdout.flush()
    except BrokenPipeError:
        # the interpreter flushes stdout once more at exit: point it where nothing breaks
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _write_file(path: Path, shape: Rendering, total: int | None) -> int:
    """Write ``shape`` to ``path`` through a ``.part`` file, renamed when all is written;
    return how many entries were written."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    part = path.with_name(path.name + ".part")
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not sys.stderr.isatty(),
    )
    written = 0
    try:
        with part.open("w", encoding="utf-8", newline="") as out, progress:
            task = progress.add_task(f"exporting to {path.name}", total=total)
            out.write(shape.head)
            for row in shape.rows:
                out.write(row)
                written += 1
                progress.advance(task)
            out.write(shape.tail)
        part.replace(path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return written


@dataclass(frozen=True, slots=True)
class Rendering:
    """An export: ``head`` (CSV's header, a JSON array's opening), one row per entry, ``tail``."""

    head: str
    rows: Iterator[str]
    tail: str

    def chunks(self) -> Iterator[str]:
        yield self.head
        yield from self.rows
        yield self.tail


def rendered(entries: Iterable[AuditEntry], fmt: str) -> Rendering:
    """``entries`` in ``fmt`` (one of ``FORMATS``), rendered as they are read."""
    if fmt == "csv":
        return Rendering(_csv_row(COLUMNS), (_csv_row(_cells(e)) for e in entries), "")
    if fmt == "json":
        # "[", then each entry on its line, separated by commas: "[\n]" when there is none
        rows = (("\n" if i == 0 else ",\n") + _json(e) for i, e in enumerate(entries))
        return Rendering("[", rows, "\n]\n")
    line = _json if fmt == "jsonl" else _text
    return Rendering("", (line(e) + "\n" for e in entries), "")


def _csv_row(values: Iterable[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)  # RFC 4180: quoted as needed, CRLF line ends
    return buffer.getvalue()


def _cells(entry: AuditEntry) -> list[object]:
    values = entry.as_json() | {"details": _details(entry)}
    return ["" if values[c] is None else values[c] for c in COLUMNS]


def _details(entry: AuditEntry) -> str:
    """The details as JSON text, keys sorted."""
    import orjson

    return orjson.dumps(dict(entry.details), option=orjson.OPT_SORT_KEYS).decode()


def _json(entry: AuditEntry) -> str:
    import orjson

    return orjson.dumps(entry.as_json(), option=orjson.OPT_SORT_KEYS).decode()


def _text(entry: AuditEntry) -> str:
    details, below = _config_load(entry) if entry.action == "config.load" else (entry, [])
    return "\n".join(
        [
            f"{entry.time.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC  {entry.actor:<16}  "
            f"{entry.action:<16}  {entry.target_kind}:{entry.target}  {_details(details)}",
            *(f"    {line}" for line in below),
        ]
    )


def _config_load(entry: AuditEntry) -> tuple[AuditEntry, list[str]]:
    """A ``config.load`` entry as text: its details without the settings it recorded and the
    list of changes, which follow it a line each, in words (``model m: lifecycle proposed ->
    approved``); the other formats give the details whole."""
    from dataclasses import replace

    from stellwerk.governance.config_change_text import change_text

    details = dict(entry.details)
    for recorded in ("settings", "version", "cut_digest"):  # for the other formats
        details.pop(recorded, None)
    changed = details.pop("changed", None)
    if not isinstance(changed, list):
        return replace(entry, details=details), []
    lines = [change_text(c) for c in changed if isinstance(c, dict)]
    if not lines:
        lines.append("no governance setting changed")
    more = details.pop("changed_more", None)
    if isinstance(more, int) and more > 0:
        lines.append(f"... and {more} more changes (the settings of each load: --format json)")
    return replace(entry, details=details), lines


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
