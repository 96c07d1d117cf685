"""`stellwerk init --discover`: where the server runs and whether its models may serve at once
are the operator's word (never guessed from the address), and the backend is written as the
server it is, so that what the config promises (``json``) the server does (walk27 F16, F17)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.config import load_config
from stellwerk.gateway import create_app
from tests.configurator.model_server import Routes, openai_models, start
from tests.fixtures.gateway import IN_PROCESS_URL, Gateway
from tests.fixtures.inprocess import app_in_thread
from tests.fixtures.llama import LlamaBackend

runner = CliRunner()
Servers = Callable[[Routes], str]
# a hosted API stands here: what it lists says nothing of where it is
CLOUD = openai_models(
    "meta-llama/Llama-3.1-8B-Instruct", "mistralai/Ministral-3-14B-Instruct-2512", "house-7b"
)
KEYS = {"STELLWERK_KEY_DEFAULT": "sk-default-" + "d" * 32, "STELLWERK_ADMIN_KEY": "a" * 40}


def _init(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(build_app(), ["init", *args], input=input)
    return result.exit_code, " ".join(result.output.split())


def _models(path: Path) -> dict[str, tuple[str | None, str]]:
    return {m.id: (m.hosting, m.lifecycle) for m in load_config(path).models}


def test_a_keyed_server_is_not_written_on_prem_nor_its_catalog_models_approved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walker's case: a server wanting a key (a hosted API, most likely) whose models the
    catalog knows by their Hugging Face ids. Nothing is said of where it runs, so no model gets
    a hosting (the gateway counts them as the least trusted location: public data only) and
    none is approved; the warning names the option that states it."""
    server = start({"/v1/models": (200, CLOUD)}, key="sk-cloud")
    monkeypatch.setenv("CLOUD_KEY", "sk-cloud")
    out = tmp_path / "cloud.yaml"
    try:
        code, output = _init(
            "--discover", f"http://127.0.0.1:{server.server_address[1]}/v1",
            "--discover-key-env", "CLOUD_KEY", "--size", "house-7b=7",
            "--classifications", "public,internal,confidential,secret",
            "-o", str(out), "--no-interactive",
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0, output
    assert _models(out) == {
        "llama-3.1-8b": (None, "proposed"),
        "ministral-3-14b": (None, "proposed"),
        "house-7b": (None, "proposed"),
    }
    assert "warning: where http://127.0.0.1" in output
    assert "a server that wants a key is often a hosted API" in output
    assert "State it with --discover-hosting on_prem, eu_cloud or non_eu_cloud" in output
    text = out.read_text()
    assert "on_prem" not in text.split("\nserver:", 1)[1]  # no setting claims it
    assert "# Data classified secret may go to none of them." in text
    assert "hosted on_prem, so every classification" not in text


def test_the_stated_hosting_and_approval_are_written_and_their_reach_said(
    tmp_path: Path, model_servers: Servers
) -> None:
    url = model_servers({"/v1/models": (200, CLOUD)})
    out = tmp_path / "eu.yaml"
    code, output = _init(
        "--discover", url, "--discover-hosting", "eu_cloud", "--discover-approve",
        "--size", "house-7b=7", "--classifications", "internal,confidential",
        "-o", str(out), "--no-interactive",
    )  # fmt: skip
    assert code == 0, output
    assert _models(out) == {
        "llama-3.1-8b": ("eu_cloud", "approved"),
        "ministral-3-14b": ("eu_cloud", "approved"),
        "house-7b": ("eu_cloud", "proposed"),  # the catalog does not know it: approval is yours
    }
    assert "approved at your word: llama-3.1-8b, ministral-3-14b" in output
    assert "warning: data classified confidential may not go to eu_cloud" in output
    text = out.read_text()
    assert "# Every model is hosted eu_cloud, so only data classified public, internal" in text
    code, output = _init(
        "--discover", url, "--discover-hosting", "On-Prem", "--size", "house-7b=7",
        "-o", str(out), "--no-interactive", "--force",
    )  # fmt: skip
    assert code == 0, output
    assert set(_models(out).values()) == {("on_prem", "proposed")}
    assert "warning" not in output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--discover", "URL", "--discover-hosting", "cloud"],
            1,
            "--discover-hosting: 'cloud' is not one of on_prem, eu_cloud, non_eu_cloud",
        ),
        (
            ["--gpu-memory", "24", "--discover-hosting", "on_prem"],
            2,
            "--discover-hosting only applies with --discover URL",
        ),
        (
            ["--gpu-memory", "24", "--discover-approve"],
            2,
            "--discover-approve only applies with --discover URL",
        ),
    ],
    ids=["unknown-hosting", "hosting-without-discover", "approve-without-discover"],
)
def test_hosting_and_approval_options_are_checked(
    tmp_path: Path, model_servers: Servers, args: list[str], code: int, message: str
) -> None:
    url = model_servers({"/v1/models": (200, CLOUD)})
    argv = [url if arg == "URL" else arg for arg in args]
    got, output = _init(*argv, "-o", str(tmp_path / "s.yaml"), "--no-interactive")
    assert (got, message in output) == (code, True), output
    assert list(tmp_path.iterdir()) == []


def test_on_a_terminal_the_hosting_and_the_approval_are_asked(
    tmp_path: Path, model_servers: Servers
) -> None:
    url = model_servers(
        {"/v1/models": (200, openai_models("mistralai/Ministral-3-8B-Instruct-2512"))}
    )
    needs = ["", "any", "chat", "internal"]  # languages, openness, use cases, classifications
    out = tmp_path / "asked.yaml"
    answers = [*needs, "somewhere", "on_prem", "y"]
    code, output = _init(
        "--discover", url, "-o", str(out), "--interactive", input="\n".join(answers) + "\n"
    )
    assert code == 0, output
    assert f"Where does {url} process the data sent to it" in output
    assert "'somewhere' is not one of on_prem, eu_cloud, non_eu_cloud" in output
    assert "Approve the 1 models the catalog knows (ministral-3-8b)" in output
    assert _models(out) == {"ministral-3-8b": ("on_prem", "approved")}
    # the defaults: not known, not approved
    answers = [*needs, "", ""]
    code, output = _init(
        "--discover",
        url,
        "-o",
        str(out),
        "--force",
        "--interactive",
        input="\n".join(answers) + "\n",
    )
    assert code == 0, output
    assert _models(out) == {"ministral-3-8b": (None, "proposed")}
    assert "written without hosting" in output


@pytest.mark.llama
def test_a_discovered_llama_cpp_server_answers_json_schema_requests(
    tmp_path: Path, llama_server: LlamaBackend
) -> None:
    """The demo's printed example, on the real llama.cpp server: the backend is written with
    ``dialect: llamacpp``, so a JSON-schema request to a model the config says can do ``json``
    is answered with JSON (without the dialect the server refuses OpenAI's form: a 502)."""
    out = tmp_path / "discovered.yaml"
    sizes = [f"--size={alias}=1" for alias in llama_server.aliases]
    code, output = _init(
        "--discover", llama_server.base_url, "--discover-hosting", "on_prem", *sizes,
        "-o", str(out), "--no-interactive",
    )  # fmt: skip
    assert code == 0, output
    assert "llama.cpp server with" in output
    raw = yaml.safe_load(out.read_text())
    assert raw["backends"][0]["dialect"] == "llamacpp"
    small = llama_server.sizes["small"]
    (model,) = [m for m in raw["models"] if m["id"] == small]
    assert "json" in model["capabilities"]
    model["lifecycle"] = "approved"  # the operator's approval, as `catalog set` would give it
    out.write_text(yaml.safe_dump(raw))
    config = load_config(out)
    with app_in_thread(create_app(config, environ=KEYS)) as transport:
        gateway = Gateway(IN_PROCESS_URL, config, config.server.database_url, transport)
        with gateway.openai(KEYS["STELLWERK_KEY_DEFAULT"]) as client:
            completion = client.chat.completions.create(
                model=small,
                messages=[{"role": "user", "content": "Approve it?"}],
                response_format={
                    "type": "json_schema",
                    "json_schema": {
                        "name": "verdict",
                        "schema": {
                            "type": "object",
                            "properties": {"approved": {"type": "boolean"}},
                            "required": ["approved"],
                        },
                    },
                },
                max_tokens=300,
                seed=7,
            )
    content = completion.choices[0].message.content
    assert content is not None
    assert isinstance(json.loads(content)["approved"], bool)
