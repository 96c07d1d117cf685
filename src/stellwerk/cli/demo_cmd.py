"""``stellwerk demo``: the whole system on tiny local models, one command, no config file."""

from __future__ import annotations

import signal
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from stellwerk.errors import StellwerkError

NOTICE = """\
Stellwerk demo: a real llama.cpp server is serving three tiny generated models as small, medium
and large (tiny-small, tiny-medium, tiny-large) plus tiny-embed for embeddings. Their weights are
random: every answer is noise. Routing, streaming, accounting and the APIs are real.
To use real models, write a config (`stellwerk init`, or examples/ollama.yaml) and run
`stellwerk serve --config stellwerk.yaml`.
Try:  curl $OPENAI_BASE_URL/chat/completions -H "Authorization: Bearer $OPENAI_API_KEY" \\
        -H 'content-type: application/json' \\
        -d '{"model": "auto", "messages": [{"role": "user", "content": "Hallo"}]}'
Ollama clients: host = the base URL without /v1, header Authorization: Bearer <key>.
Stop with Ctrl-C."""


def demo(
    port: Annotated[int, typer.Option(help="Port of the gateway (0: any free port).")] = 8080,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    sample_traffic: Annotated[
        bool, typer.Option(help="Send a few sample requests once it is up.")
    ] = True,
) -> None:
    """Run Stellwerk on tiny local models; print OPENAI_BASE_URL and OPENAI_API_KEY; serve."""
    from stellwerk.demo.config import demo_config, new_demo_key
    from stellwerk.demo.llama_server import demo_models, running_llama_server
    from stellwerk.demo.traffic import send_sample_traffic
    from stellwerk.gateway import create_app
    from stellwerk.gateway.server import serve_in_thread

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        with tempfile.TemporaryDirectory(prefix="stellwerk-demo-") as tmp:
            folder = Path(tmp)
            typer.echo("starting the llama.cpp server on tiny generated models ...", err=True)
            with running_llama_server(demo_models(folder), workdir=folder) as llama:
                key = new_demo_key()
                config = demo_config(llama.base_url, f"sqlite:///{folder / 'ledger.db'}", key)
                with serve_in_thread(create_app(config, environ={}), host=host, port=port) as url:
                    typer.echo(NOTICE, err=True)
                    if sample_traffic:
                        sent = send_sample_traffic(url, key)
                        typer.echo(f"sent {sent} sample requests through the gateway", err=True)
                    typer.echo(f"OPENAI_BASE_URL={url}/v1")
                    typer.echo(f"OPENAI_API_KEY={key}")
                    stop.wait()
                    typer.echo("stopping ...", err=True)
    except StellwerkError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from exc


def register(app: typer.Typer) -> None:
    app.command()(demo)
