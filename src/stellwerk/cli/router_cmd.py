"""``stellwerk router train | eval`` and ``stellwerk route "PROMPT"`` (``router adapt | rollback``:
``router_learn_cmd``).

Progress bars and tables go to stderr/stdout through Rich; with ``--json`` stdout carries one
JSON object and nothing else. Every ``StellwerkError`` becomes one line on stderr and exit code 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stellwerk.cli import router_learn_cmd
from stellwerk.cli.plain_number import plain
from stellwerk.cli.whole_number import whole
from stellwerk.errors import StellwerkError

if TYPE_CHECKING:
    from rich.console import Console

DataOpt = Annotated[
    Path, typer.Option("--data", help="Routing-outcome JSON Lines file.", show_default=False)
]
ModelsOpt = Annotated[
    Path | None,
    typer.Option(
        "--models",
        help="Model facts (params_b, prices) as JSON; default: <data stem>-models.json beside it.",
    ),
]
NoMemoryOpt = Annotated[
    bool,
    typer.Option(
        "--no-memory",
        help="Keep no outcomes of the training prompts (their digests let a holder of the"
        " artifact test whether a guessed prompt was trained on).",
    ),
]
ResplitOpt = Annotated[
    float | None,
    typer.Option(
        "--resplit",
        parser=plain(above=0, below=1),
        help="For data whose rows are all 'test': send this fraction (by a hash of the id) to"
        " test and the rest to train.",
    ),
]

EmbedUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--embed-url",
        help="Add prompt embeddings from this local server: http://HOST:PORT/v1 (OpenAI"
        " /v1/embeddings) or http://HOST:PORT (Ollama /api/embed).",
    ),
]
EmbedModelOpt = Annotated[
    str | None, typer.Option("--embed-model", help="The embedding model of --embed-url.")
]
EmbedApiOpt = Annotated[
    str, typer.Option("--embed-api", help="Wire protocol of --embed-url: openai or ollama.")
]


def build_router_app() -> typer.Typer:
    app = typer.Typer(help="Train and evaluate the learned router.", no_args_is_help=True)
    app.command("train")(train_cmd)
    app.command("eval")(eval_cmd)
    router_learn_cmd.register(app)
    return app


def register(app: typer.Typer) -> None:
    """Add ``router`` to the main command tree."""
    app.add_typer(build_router_app(), name="router")


def train_cmd(
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", help="Directory to write the artifact to.")],
    models: ModelsOpt = None,
    resplit: ResplitOpt = None,
    no_memory: NoMemoryOpt = False,
    embed_url: EmbedUrlOpt = None,
    embed_model: EmbedModelOpt = None,
    embed_api: EmbedApiOpt = "openai",
) -> None:
    """Train a router on the train split and write the artifact (with the test metrics)."""
    from stellwerk.training.train import TrainSettings
    from stellwerk.training.workflow import train_and_save

    with _errors():
        outcomes, facts = _load(data, models, resplit)
        with _progress() as step:
            outcomes = _embedded(outcomes, embed_url, embed_model, embed_api, step)
            artifact, evaluation = train_and_save(
                outcomes,
                facts,
                out,
                data_name=data.name,
                settings=TrainSettings(memory=not no_memory),
                progress=step,
            )
        if evaluation is None:
            _console().print(
                f"wrote {out} (version {artifact.version}); no metrics: the data has no cost_usd"
                " and there are no prices (give --models FILE to evaluate)"
            )
            return
        stats = evaluation.routers["stellwerk"]
        _console().print(
            f"wrote {out} (version {artifact.version}): AIQ {stats['aiq']:.4f},"
            f" gap closed {stats['gap_closed']:.1%} on the test split"
        )
        head = artifact.model.embedding
        if head is not None:
            _console().print(
                f"embeddings of {head.model!r} ({head.dimensions} dimensions): weight"
                f" {head.weight:g} in the blend"
                + ("" if head.needed else " (they did not help; the router will not ask for them)")
            )


def eval_cmd(
    data: DataOpt,
    router: Annotated[
        Path | None,
        typer.Option("--router", help="Artifact to judge; default: train one on the train split."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Draw the cost-quality curves to this PNG.")
    ] = None,
    holdout_model: Annotated[
        str | None,
        typer.Option("--holdout-model", help="Train without this model; place it from facts."),
    ] = None,
    holdout_task: Annotated[
        str | None,
        typer.Option(
            "--holdout-task",
            help="Train without this task (or its subtasks NAME_...) and judge on its rows only.",
        ),
    ] = None,
    adapt_n: Annotated[
        int,
        typer.Option(
            "--adapt",
            parser=whole(least=0),
            help="With --holdout-task: adapt on N of the judged rows as graded traffic (seeded)"
            " and judge on the rest.",
        ),
    ] = 0,
    seed: Annotated[
        int, typer.Option("--seed", parser=whole(), help="Seed of the --adapt draw.")
    ] = 0,
    rotation: Annotated[
        int,
        typer.Option(
            "--rotation",
            parser=whole(least=0),
            help="With --holdout-task: turn the seeded order by ROTATION/ROTATIONS of the task's"
            " rows before taking the traffic (rotations 0..R-1 judge every row alike).",
        ),
    ] = 0,
    rotations: Annotated[
        int,
        typer.Option(
            "--rotations", parser=whole(least=1), help="How many turns --rotation counts in."
        ),
    ] = 1,
    record_noise: Annotated[
        float,
        typer.Option(
            "--record-noise",
            parser=plain(least=0, most=10),  # router.record_noise's range (config/router.py)
            help="With --adapt: keep the graded records with this noise, as a gateway with"
            " router.record_noise does (its default 0.5); 0: exact readings.",
        ),
    ] = 0.0,
    models: ModelsOpt = None,
    resplit: ResplitOpt = None,
    no_memory: NoMemoryOpt = False,
    embed_url: EmbedUrlOpt = None,
    embed_model: EmbedModelOpt = None,
    embed_api: EmbedApiOpt = "openai",
) -> None:
    """Judge Stellwerk's router against every single model, kNN and the oracle on the test split."""
    from stellwerk.errors import TrainingDataError
    from stellwerk.routing.artifact import load_artifact
    from stellwerk.training.train import TrainSettings
    from stellwerk.training.workflow import fit_and_evaluate

    with _errors():
        if holdout_task is None and adapt_n:
            raise TrainingDataError("--adapt needs --holdout-task (the task to adapt to)")
        if not adapt_n and record_noise:
            raise TrainingDataError("--record-noise needs --adapt (the records it is kept on)")
        if holdout_task is None and (rotation or rotations != 1):
            raise TrainingDataError("--rotation and --rotations need --holdout-task")
        if rotation >= rotations:
            raise TrainingDataError(
                f"--rotation {rotation} is not below --rotations {rotations} (0 to R-1)"
            )
        if holdout_task is not None and (router is not None or holdout_model is not None):
            raise TrainingDataError(
                "--holdout-task trains its own routers: it goes with neither --router nor"
                " --holdout-model"
            )
        outcomes, facts = _load(data, models, resplit)
        if holdout_task is not None:
            _eval_holdout_task(
                outcomes,
                facts,
                holdout_task,
                adapt_n=adapt_n,
                seed=seed,
                rotation=(rotation, rotations),
                record_noise=record_noise,
                settings=TrainSettings(memory=not no_memory),
                as_json=as_json,
                plot=plot,
                title=f"{data.name}: task {holdout_task} held out",
            )
            return
        model = None if router is None else load_artifact(router).model
        with _progress() as step:
            outcomes = _embedded(outcomes, embed_url, embed_model, embed_api, step)
            outcome = fit_and_evaluate(
                outcomes,
                facts,
                settings=TrainSettings(memory=not no_memory),
                holdout=holdout_model,
                model=model,
                progress=step,
            )
        result = outcome.evaluation.as_json()
        if outcome.chosen is not None:
            result["hyperparameters"] = {
                "l2": outcome.chosen.l2,
                "k": outcome.chosen.k,
                "blend": outcome.chosen.blend,
            }
        if outcome.placed:
            result["placed"] = outcome.placed
        head = outcome.model.embedding
        if head is not None:
            result["embedding"] = {
                "model": head.model,
                "api": head.api,
                "dimensions": head.dimensions,
                "weight": head.weight,
            }
        if plot is not None:
            from stellwerk.training.plot import plot_curves

            plot_curves(outcome.evaluation, plot, title=f"{data.name}: test split")
        if as_json:
            typer.echo(json.dumps(result, sort_keys=False))
        else:
            _print_eval(result)


def _eval_holdout_task(
    outcomes: Any,
    facts: Any,
    task: str,
    *,
    adapt_n: int,
    seed: int,
    rotation: tuple[int, int],
    record_noise: float,
    settings: Any,
    as_json: bool,
    plot: Path | None,
    title: str,
) -> None:
    """``router eval --holdout-task``: the unadapted, adapted and in-distribution routers."""
    from stellwerk.training.holdout import holdout_evaluation

    with _progress() as step:
        outcome = holdout_evaluation(
            outcomes,
            facts,
            task,
            adapt_n=adapt_n,
            seed=seed,
            rotation=rotation[0],
            rotations=rotation[1],
            settings=settings,
            progress=step,
            record_noise=record_noise,
        )
    result = outcome.evaluation.as_json()
    result["holdout_task"] = outcome.as_json(task)
    result["familiarity_auc"] = result["holdout_task"]["familiarity_auc"]
    if outcome.chosen is not None:
        result["hyperparameters"] = {
            "l2": outcome.chosen.l2,
            "k": outcome.chosen.k,
            "blend": outcome.chosen.blend,
        }
    if plot is not None:
        from stellwerk.training.plot import plot_curves

        plot_curves(outcome.evaluation, plot, title=title)
    if as_json:
        typer.echo(json.dumps(result, sort_keys=False))
        return
    _print_eval(result)
    held = result["holdout_task"]
    adaptation = held["adaptation"]
    comparison = adaptation["comparison"]
    _console().print(
        f"held out {task!r} ({held['tasks']} task(s)): judged on {held['judged_rows']} prompts,"
        f" adapted on {held['traffic_rows']}; familiarity AUC {held['familiarity_auc']}"
    )
    if comparison is not None:
        verdict = (
            f"promoted (form {adaptation['form']})" if adaptation["promoted"] else "not promoted"
        )
        _console().print(
            f"adaptation {verdict}: routing score on {comparison['records']} graded prompts it"
            f" was not fitted on {comparison['current_score']:.4f} ->"
            f" {comparison['candidate_score']:.4f} (gain {comparison['gain']:+.4f}, standard"
            f" error {comparison['standard_error']:.4f})"
        )
    others = held["other_tasks"]
    if others is not None:
        _console().print(
            f"other tasks ({others['rows']} test prompts): gap closed"
            f" {others['unadapted_gap_closed']:+.4f} unadapted,"
            f" {others['adapted_gap_closed']:+.4f} adapted"
        )


def _load(data: Path, models: Path | None, resplit: float | None) -> tuple[Any, Any]:
    from stellwerk.training.data import default_models_file, load_model_facts, load_outcomes

    outcomes = load_outcomes(data, resplit=resplit)
    facts_file = models if models is not None else default_models_file(data)
    facts = {} if facts_file is None else load_model_facts(facts_file)
    return outcomes, facts


def _embedded(
    outcomes: Any,
    url: str | None,
    model: str | None,
    api: str,
    progress: Callable[[str, int, int], None],
) -> Any:
    """``outcomes`` with an embedding per prompt when ``--embed-url`` is given."""
    from stellwerk.errors import EmbeddingError
    from stellwerk.routing.embedding import APIS, EmbeddingEndpoint
    from stellwerk.training.workflow import embed_outcomes

    if url is None and model is None:
        return outcomes
    if url is None or model is None:
        raise EmbeddingError("--embed-url and --embed-model go together: give both or neither")
    if api not in APIS:
        raise EmbeddingError(f"--embed-api: {api!r} is not one of {', '.join(APIS)}")
    return embed_outcomes(outcomes, EmbeddingEndpoint(url, model, api), progress)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except StellwerkError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc


def _console(*, stderr: bool = False) -> Console:
    """Rich's console, imported when a command prints (not when the CLI starts)."""
    from rich.console import Console

    return Console(stderr=stderr)


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=_console(stderr=True),
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def step(what: str, done: int, total: int) -> None:
        if what not in tasks:
            tasks[what] = bar.add_task(what, total=total)
        bar.update(tasks[what], completed=done, total=total)

    with bar:
        yield step


def _print_eval(result: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"test split (best single model: {result['best_single']})")
    for col in ("router", "AIQ", "gap closed", "max quality", "cost to match best"):
        if col == "router":
            table.add_column(col, no_wrap=True)
        else:
            table.add_column(col, justify="right")
    extra = any("apgr" in r for r in result["routers"].values())
    if extra:
        for col in ("APGR", "CPT(50%)", "CPT(80%)"):
            table.add_column(col, justify="right")
    for name, r in result["routers"].items():
        ctm = r["cost_to_match_best"]
        row = [
            name,
            f"{r['aiq']:.4f}",
            f"{r['gap_closed']:.1%}",
            f"{r['max_quality']:.3f}",
            "never" if ctm is None else f"{ctm:.1%}",
        ]
        if extra:
            row += [_pct(r.get("apgr")), _pct(r.get("cpt50")), _pct(r.get("cpt80"))]
        table.add_row(*row)
    _console().print(table)
    for name, how in result.get("placed", {}).items():
        _console().print(f"{name}: not trained on; placed by {how}")


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"
