"""``stellwerk init``: propose a model set for the hardware and needs, write ``stellwerk.yaml``
and the engine's commands; or, with ``--discover URL``, configure what a server already runs.

Exit status: 0 written; 1 nothing written (bad input, nothing fits, unreachable server,
existing file without ``--force``); 2 options that contradict each other (``--context`` below
what a use case of ``--use-cases`` needs), as Typer's own usage errors.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from stellwerk.cli import init_discover, init_options
from stellwerk.cli.plain_number import plain
from stellwerk.cli.whole_number import whole
from stellwerk.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from stellwerk.config.schema import Classification
    from stellwerk.configurator.engines import Served
    from stellwerk.configurator.needs import Engine, Needs, OpennessNeed, UseCase
    from stellwerk.modelfacts import Catalog


ENGINE_HELP = "serving engine: ollama, vllm, llamacpp or localai"
USE_CASE_HELP = "comma-separated: chat, code, reasoning, tools, vision, long_documents, translation"
CLASS_HELP = "data classifications handled, comma-separated: public, internal, confidential, secret"
LICENCE_HELP = "accepted licences, comma-separated (osi: every OSI-approved one), or any"
FAMILY_HELP = "preferred model families, comma-separated (e.g. Apertus, Mistral 3, OLMo)"
CONTEXT_HELP = "context window to serve, in tokens (default 8192; 32768 with long_documents)"
GPU_HELP = (
    "GPU memory in GB the models must fit in: with ollama and llamacpp all GPUs' together (a "
    "model is spread over them), with vllm one GPU's (the script starts every server on the "
    "first GPU)"
)


def init(
    engine: Annotated[str | None, typer.Option(help=ENGINE_HELP)] = None,
    # their range is the configurator's (Needs: more than 0, at most MAX_MEMORY_GB)
    gpu_memory: Annotated[
        float | None, typer.Option("--gpu-memory", parser=plain(), help=GPU_HELP)
    ] = None,
    ram: Annotated[
        float | None, typer.Option(parser=plain(), help="RAM in GB, when there is no GPU")
    ] = None,
    languages: Annotated[
        str | None, typer.Option(help="ISO 639 codes the models must speak, e.g. de,en")
    ] = None,
    openness: Annotated[
        str | None, typer.Option(help="any, or fully-open (weights, data and code published)")
    ] = None,
    use_cases: Annotated[str | None, typer.Option("--use-cases", help=USE_CASE_HELP)] = None,
    classifications: Annotated[str | None, typer.Option(help=CLASS_HELP)] = None,
    context: Annotated[
        int | None,
        typer.Option(
            parser=whole(least=init_options.CONTEXT_LEAST, most=init_options.CONTEXT_MOST),
            help=CONTEXT_HELP,
            show_default=False,
        ),
    ] = None,
    quant: Annotated[
        str | None, typer.Option(help="q4_k_m, q8_0 or f16 (default: by engine)")
    ] = None,
    licences: Annotated[str | None, typer.Option(help=LICENCE_HELP)] = None,
    prefer_families: Annotated[
        str | None, typer.Option("--prefer-families", help=FAMILY_HELP)
    ] = None,
    discover: Annotated[
        str | None,
        typer.Option(help="URL of a running Ollama or OpenAI-compatible server to configure"),
    ] = None,
    discover_key_env: Annotated[
        str | None,
        typer.Option(
            "--discover-key-env",
            help="environment variable holding the key the --discover server wants (sent as "
            "a bearer token, and written as the backend's api_key_env)",
        ),
    ] = None,
    discover_hosting: Annotated[
        str | None, typer.Option("--discover-hosting", help=init_discover.HOSTING_HELP)
    ] = None,
    discover_approve: Annotated[
        bool | None,
        typer.Option("--discover-approve/--no-discover-approve", help=init_discover.APPROVE_HELP),
    ] = None,
    size: Annotated[
        list[str] | None,
        typer.Option(
            "--size",
            help="with --discover: MODEL=BILLIONS, the size in billions of parameters of a "
            "served model the catalog and the server do not know (repeatable; on a terminal, "
            "init asks instead)",
        ),
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="config file to write")] = Path(
        "stellwerk.yaml"
    ),
    department: Annotated[str, typer.Option(help="the first department's name")] = "default",
    engine_host: Annotated[
        str, typer.Option(help="host the gateway reaches the engine at")
    ] = "127.0.0.1",
    catalog_file: Annotated[
        Path | None, typer.Option("--catalog", help="a catalog file instead of the built-in one")
    ] = None,
    force: Annotated[bool, typer.Option(help="overwrite existing files")] = False,
    interactive: Annotated[
        bool | None,
        typer.Option("--interactive/--no-interactive", help="ask for what the flags leave out"),
    ] = None,
) -> None:
    """Choose a small, a medium and a large model that fit; write stellwerk.yaml."""
    from rich.console import Console

    from stellwerk.cli.init_proposal import from_proposal
    from stellwerk.configurator.writer import engine_script_path
    from stellwerk.errors import StellwerkError
    from stellwerk.modelfacts import load_catalog

    out = Console(width=None if sys.stdout.isatty() else 120)
    err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
    from stellwerk.configurator.needs import split_list

    ask = sys.stdin.isatty() if interactive is None else interactive
    try:  # options that contradict each other are usage errors, named before anything is done
        init_options.context(
            context, split_list(use_cases, "--use-cases")
        )  # never raised behind one's back
        init_options.conflicts(
            gpu_memory=gpu_memory,
            ram=ram,
            quant=quant,
            engine=engine if engine is not None or ask else "ollama",
            discover=discover,
        )
        init_options.discover_only(discover, hosting=discover_hosting, approve=discover_approve)
    except ConfigError as exc:
        _error(err, str(exc))
        raise typer.Exit(2) from exc
    # checked before anything is proposed or printed (a discovered server needs no script)
    try:
        init_options.output(output)
    except ConfigError as exc:
        _error(err, str(exc))
        raise typer.Exit(1) from exc
    targets = [output] if discover is not None else [output, engine_script_path(output)]
    existing = [str(path) for path in targets if path.exists()]
    if existing and not force:
        _error(err, f"{', '.join(existing)} already exists; nothing written (use --force)")
        raise typer.Exit(1)
    try:
        engine_host = init_options.engine_host(engine_host)
        init_options.department(department)
        catalog = load_catalog(catalog_file)
        needs = _needs(
            ask,
            catalog,
            engine=engine,
            gpu_memory=gpu_memory,
            ram=ram,
            languages=languages,
            openness=openness,
            use_cases=use_cases,
            classifications=classifications,
            context=context,
            quant=quant,
            licences=licences,
            families=prefer_families,
            hardware=discover is None,
        )
        if discover is not None:
            backends, served, header, script = init_discover.from_discovery(
                discover,
                catalog,
                needs,
                (out, err),
                discover_key_env,
                ask,
                init_options.sizes(size or []),
                (init_discover.hosting(discover_hosting), discover_approve),
            )
        else:
            if size:
                raise ConfigError("--size: only --discover takes sizes (of the served models)")
            result = from_proposal(catalog, needs, engine_host, out, err)
            if result is None:
                raise typer.Exit(1)
            backends, served, header, script = result
        _write(output, backends, served, header, script, needs, department, force, out)
    except StellwerkError as exc:
        _error(err, str(exc))
        raise typer.Exit(1) from exc


def register(app: typer.Typer) -> None:
    app.command("init")(init)


def _error(console: Console, message: str) -> None:
    from rich.markup import escape

    console.print("[red]error:[/] " + escape(message), soft_wrap=True)


def _needs(
    ask: bool,
    catalog: Catalog,
    *,
    engine: str | None,
    gpu_memory: float | None,
    ram: float | None,
    languages: str | None,
    openness: str | None,
    use_cases: str | None,
    classifications: str | None,
    context: int | None,
    quant: str | None,
    licences: str | None,
    families: str | None,
    hardware: bool,
) -> Needs:
    """The needs from the flags; on a terminal, what they leave out is asked for, each answer
    checked as it is given (a bad one is named and asked again)."""
    from stellwerk.configurator.needs import Needs, language_codes, split_list

    values: dict[str, object] = {
        "engine": engine,
        "gpu_memory": gpu_memory,
        "ram": ram,
        "languages": languages,
        "openness": openness,
        "use_cases": use_cases,
        "classifications": classifications,
        "licences": licences,
        "families": families,
    }

    def build(**override: object) -> Needs:
        merged = {**values, **override}
        cases = split_list(cast("str | None", merged["use_cases"]), "--use-cases") or ("chat",)
        return Needs(
            engine=cast("Engine", str(merged["engine"] or "ollama").strip().lower()),
            gpu_memory_gb=cast("float | None", merged["gpu_memory"]),
            ram_gb=cast("float | None", merged["ram"]),
            languages=language_codes(cast("str | None", merged["languages"])),
            openness=cast(
                "OpennessNeed",
                str(merged["openness"] or "any").strip().lower().replace("-", "_"),
            ),
            use_cases=cast("tuple[UseCase, ...]", cases),
            classifications=cast(
                "tuple[Classification, ...]",
                split_list(cast("str | None", merged["classifications"]), "--classifications")
                or ("internal",),
            ),
            context=init_options.context(context, cases),
            quant=init_options.quant(quant),
            licences=init_options.licences(cast("str | None", merged["licences"]), catalog),
            families=init_options.families(cast("str | None", merged["families"]), catalog),
        )

    if ask:

        def question(name: str, text: str, default: str) -> None:
            if values[name] is not None:
                return
            while True:
                # an empty answer takes what leaving the option out means (any language ...)
                answer: str | None = typer.prompt(text, default=default).strip() or None
                try:
                    build(**{name: answer})
                except ConfigError as exc:
                    typer.echo(f"  {exc}", err=True)
                    continue
                values[name] = answer
                return

        if hardware:  # proposing a set; a discovered server already runs its engine and models
            question("engine", ENGINE_HELP, "ollama")
            if gpu_memory is None and ram is None:
                _ask_hardware(values, build)
        question("languages", "languages the models must speak (ISO codes)", "")
        question("openness", "openness required: any or fully-open", "any")
        if hardware:
            question("licences", LICENCE_HELP, "any")
            question("families", FAMILY_HELP, "")
        question("use_cases", f"use cases, {USE_CASE_HELP}", "chat")
        question("classifications", CLASS_HELP, "internal")
    # Needs checks every value and names the option of a bad one
    return build()


def _ask_hardware(values: dict[str, object], build: Callable[..., Needs]) -> None:
    from stellwerk.cli.plain_number import prompt_number

    while True:
        gpu = prompt_number("GPU memory in GB (0 for none)", "--gpu-memory", default="0")
        # only 0 means no GPU: a negative or absurd size is named (as --gpu-memory names it)
        memory = {"ram": prompt_number("RAM in GB", "--ram")} if gpu == 0 else {"gpu_memory": gpu}
        try:
            build(**memory)
        except ConfigError as exc:
            typer.echo(f"  {exc}", err=True)
            continue
        values.update(memory)
        return


def _write(
    output: Path,
    backends: list[dict[str, object]],
    served: list[Served],
    header: list[str],
    script: list[str],
    needs: Needs,
    department: str,
    force: bool,
    out: Console,
) -> None:
    from stellwerk.configurator.engines import ENGINE_KEY_ENV
    from stellwerk.configurator.writer import (
        ADMIN_KEY_ENV,
        build_config,
        key_env_name,
        ledger_file,
        ledger_url,
        render,
        use_case_name,
        validate,
        validate_text,
        write_files,
    )

    raw = build_config(
        backends,
        served,
        department=department,
        classification=needs.highest_classification,
        database_url=ledger_url(output),
    )
    validate(raw)
    key_env = key_env_name(department)
    engine_keyed = any(b.get("api_key_env") == ENGINE_KEY_ENV for b in backends)
    secrets = [key_env, ADMIN_KEY_ENV] + ([ENGINE_KEY_ENV] if engine_keyed else [])
    lines = [
        "stellwerk.yaml written by `stellwerk init`; edit freely, the gateway validates it.",
        *header,
        "Prices are internal cost units per 1M tokens, proportional to active parameters.",
        *init_discover.reach_lines(served, needs.highest_classification),
        f"Department {department!r} handles data up to {needs.highest_classification!r}; its"
        " key is bound to the",
        f"use case {use_case_name(department)!r}; describe your real use cases (risk tier,",
        "purpose, oversight contact) under use_cases. The admin key opens /dashboard and /admin.",
        f"The ledger (usage records, audit log, keys) is {ledger_file(output)} beside this file.",
        "Keys are read from the environment, never written here:",
        *(f"  export {name}=$(openssl rand -hex 32)" for name in secrets),
    ]
    if engine_keyed:
        lines.append(f"The engine script reads ${ENGINE_KEY_ENV} too: start both with the same.")
    text = render(raw, lines)  # read back: exactly ``raw``, nothing more
    validate_text(text)  # and what the gateway (and `config check`) will say of the file
    written = write_files(output, text, script, force=force)
    out.print(f"wrote {written.config}", markup=False, soft_wrap=True)
    if written.script is not None:
        out.print(
            f"wrote {written.script} (start the engine with: bash "
            f"{shlex.quote(str(written.script))})",
            markup=False,
            soft_wrap=True,
        )
        for line in script:
            if not line.startswith("#"):
                out.print(f"  {line}", markup=False, soft_wrap=True)
    exports = " ".join(f"{name}=..." for name in secrets)
    config_arg = shlex.quote(str(output))  # pasted as printed, also with a space in the path
    out.print(
        f"next: export {exports}, then: stellwerk serve --config {config_arg}",
        markup=False,
        soft_wrap=True,
    )
    proposed = [row.model_id for row in served if row.lifecycle == "proposed"]
    if proposed:
        out.print(
            f"{len(proposed)} of {len(served)} models are 'proposed': the gateway refuses every"
            " request for them until they are approved: stellwerk catalog set --config"
            f' {config_arg} MODEL in_review --reason "...", then MODEL approved'
            f" ({', '.join(proposed)})",
            markup=False,
            soft_wrap=True,
        )
