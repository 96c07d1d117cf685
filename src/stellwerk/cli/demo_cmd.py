"""``stellwerk demo``: the whole system on tiny local models, one command; it writes the config
file it runs, so that every other command and the dashboard can be tried against it."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from stellwerk.cli.whole_number import port_number
from stellwerk.errors import StellwerkError

NOTICE = """\
Stellwerk demo: a real llama.cpp server is serving three tiny generated models as small, medium
and large (tiny-small, tiny-medium, tiny-large) plus tiny-embed for embeddings. Their weights are
random: every answer is noise. Routing, streaming, accounting and the APIs are real.

Gateway:    {url}  (OpenAI API on /v1, Ollama API on /api; key: OPENAI_API_KEY below)
Dashboard:  {url}/dashboard  (log in with STELLWERK_ADMIN_KEY below; the admin API takes it too)
Config:     {config}
            (its backend, the llama.cpp server: {llama}; its ledger: ledger.db beside it)

Every command works against it{path_note}, for example:
  stellwerk keys list -c {config}
  stellwerk catalog list -c {config}
  stellwerk report usage -c {config} --month {month}
  stellwerk route --config {config} --key "$OPENAI_API_KEY" "Wie viele Tage hat ein Schaltjahr?"
  stellwerk calibrate -c {config} --bank {bank} --limit 4 --max-tokens 16
  stellwerk init --discover {llama} --discover-hosting on_prem {sizes} -o discovered.yaml
  curl {url}/v1/chat/completions -H "Authorization: Bearer $OPENAI_API_KEY" \\
    -H 'content-type: application/json' \\
    -d '{{"model": "auto", "messages": [{{"role": "user", "content": "Hallo"}}]}}'
Ollama clients: host = {url}, header Authorization: Bearer <key>.
To use real models, write a config (`stellwerk init`, or examples/ollama.yaml) and run
`stellwerk serve --config stellwerk.yaml`.
{kept}Stop with Ctrl-C."""


def demo(
    port: Annotated[
        int, typer.Option(parser=port_number(), help="Port of the gateway (0: any free port).")
    ] = 8080,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    sample_traffic: Annotated[
        bool, typer.Option(help="Send a few sample requests once it is up.")
    ] = True,
    folder: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Keep the demo's config, ledger and models in this folder"
            " (default: a temporary folder, removed when the demo stops).",
        ),
    ] = None,
) -> None:
    """Run Stellwerk on tiny local models; print its keys, dashboard and config file; serve.

    stdout gets five lines, in the form NAME=VALUE: OPENAI_BASE_URL, OPENAI_API_KEY (a user
    key), STELLWERK_ADMIN_KEY, STELLWERK_CONFIG (the config file it wrote) and
    STELLWERK_DASHBOARD.
    """
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            _run(folder, host, port, sample_traffic, stop, kept=True)
        else:
            with tempfile.TemporaryDirectory(prefix="stellwerk-demo-") as tmp:
                _run(Path(tmp), host, port, sample_traffic, stop, kept=False)
    except (StellwerkError, OSError) as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from exc


def _run(
    folder: Path, host: str, port: int, sample_traffic: bool, stop: threading.Event, *, kept: bool
) -> None:
    from stellwerk.config import load_config
    from stellwerk.demo.config import model_sizes, new_demo_keys, write_demo_config
    from stellwerk.demo.llama_server import demo_models, running_llama_server
    from stellwerk.demo.traffic import send_sample_traffic
    from stellwerk.gateway import create_app
    from stellwerk.gateway.server import serve_in_thread

    typer.echo("starting the llama.cpp server on tiny generated models ...", err=True)
    with running_llama_server(demo_models(folder), workdir=folder) as llama:
        keys = new_demo_keys()
        path = write_demo_config(folder, llama.base_url, keys, host=host, port=port)
        config = load_config(path)  # the demo runs exactly the file it wrote
        with serve_in_thread(create_app(config, environ={}), host=host, port=port) as url:
            kept_note = "The folder stays when the demo stops.\n" if kept else ""
            typer.echo(
                NOTICE.format(
                    url=url,
                    config=path,
                    llama=llama.base_url,
                    sizes=" ".join(f"--size {m}={b:g}" for m, b in model_sizes().items()),
                    month=datetime.now(UTC).strftime("%Y-%m"),
                    path_note=_path_note(),
                    bank=_bank(),
                    kept=kept_note,
                ),
                err=True,
            )
            if sample_traffic:
                sent = send_sample_traffic(url, keys.user)
                typer.echo(f"sent {sent} sample requests through the gateway", err=True)
            typer.echo(f"OPENAI_BASE_URL={url}/v1")
            typer.echo(f"OPENAI_API_KEY={keys.user}")
            typer.echo(f"STELLWERK_ADMIN_KEY={keys.admin}")
            typer.echo(f"STELLWERK_CONFIG={path}")
            typer.echo(f"STELLWERK_DASHBOARD={url}/dashboard")
            stop.wait()
            typer.echo("stopping ...", err=True)


def _bank() -> str:
    """The routing data shipped in a checkout (a ready calibration bank), by its absolute path."""
    shipped = Path(__file__).resolve().parents[3] / "data" / "routing" / "open9.jsonl.gz"
    return str(shipped) if shipped.is_file() else "BANK.jsonl"


def _path_note() -> str:
    """How to reach the ``stellwerk`` command from another terminal, when it is not on that
    terminal's PATH: ``./run demo`` runs it from the environment it made, with that environment
    put on the PATH it hands over (the PATH the operator's shell has is in
    ``STELLWERK_OUTER_PATH``)."""
    here = Path(sys.executable).parent / "stellwerk"
    found = shutil.which("stellwerk", path=os.environ.get("STELLWERK_OUTER_PATH"))
    if found is not None and Path(found).resolve() == here.resolve():
        return ""
    if here.exists():
        src = Path(__file__).resolve().parents[2]  # a checkout's src/ (./run puts it first)
        if (src.parent / "run").is_file():  # the environment is shared by every checkout
            return (
                f" (the command is {here}; `export PATH={here.parent}:$PATH PYTHONPATH={src}`"
                " puts this checkout's on PATH: the environment is shared by every checkout and"
                " otherwise runs the one that set it up last)"
            )
        return f" (the command is {here}; `export PATH={here.parent}:$PATH` puts it on PATH)"
    return f" (run the commands as `{sys.executable} -m stellwerk ...`)"


def register(app: typer.Typer) -> None:
    app.command()(demo)
