"""`stellwerk init` end to end, through the real command tree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.config import load_config
from tests.configurator.model_server import closed_port_url, ollama_tags, start
from tests.fixtures.llama import LlamaBackend

runner = CliRunner()


def _init(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(build_app(), ["init", *args], input=input)
    return result.exit_code, result.output


@pytest.fixture
def ollama_like() -> Iterator[str]:
    """A loopback server answering Ollama's /api/tags, standing for the user's Ollama."""
    tags = ollama_tags(("ministral-3:14b", "13.9B", "Q4_K_M"), ("ministral-3:3b", "3.8B", "Q4_K_M"))
    server = start({"/api/tags": (200, tags)})
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_init_with_flags_writes_a_valid_config_and_the_engine_script(tmp_path: Path) -> None:
    out = tmp_path / "stellwerk.yaml"
    code, output = _init(
        "--engine", "ollama", "--gpu-memory", "48", "--languages", "de",
        "--use-cases", "vision,tools", "--classifications", "internal,confidential",
        "--output", str(out), "--no-interactive",
    )  # fmt: skip
    assert code == 0, output
    assert "Proposed models for ollama on 48 GB GPU memory" in output
    config = load_config(out)
    assert [m.id for m in config.models] == ["ministral-3-3b", "ministral-3-8b", "ministral-3-14b"]
    assert config.departments[0].classification == "confidential"
    script = (tmp_path / "stellwerk-engine.sh").read_text()
    assert "ollama pull ministral-3:14b" in script
    assert out.read_text().startswith("# stellwerk.yaml written by `stellwerk init`")


def test_init_asks_for_what_the_flags_leave_out(tmp_path: Path) -> None:
    out = tmp_path / "stellwerk.yaml"
    answers = "\n".join(["llamacpp", "0", "48", "", "fully-open", "any", "", "chat", "internal"])
    answers += "\n"
    code, output = _init("--output", str(out), "--interactive", input=answers)
    assert code == 0, output
    assert "GPU memory in GB" in output and "RAM in GB" in output
    config = load_config(out)
    assert {m.openness for m in config.models} == {"open_model"}
    assert all(b.kind == "openai" for b in config.backends)


def test_existing_config_is_not_overwritten_without_force(tmp_path: Path) -> None:
    out = tmp_path / "stellwerk.yaml"
    out.write_text("# my hand-written config\n")
    args = ["--gpu-memory", "24", "--output", str(out), "--no-interactive"]
    code, output = _init(*args)
    assert code == 1
    assert "already exists; nothing written (use --force)" in output
    assert out.read_text() == "# my hand-written config\n"
    code, output = _init(*args, "--force")
    assert code == 0, output
    load_config(out)


def test_a_second_config_in_the_same_folder_gets_its_own_engine_script(tmp_path: Path) -> None:
    first = ["--gpu-memory", "24", "--output", str(tmp_path / "stellwerk.yaml")]
    code, output = _init(*first, "--no-interactive")
    assert code == 0, output
    code, output = _init("--gpu-memory", "48", "--output", str(tmp_path / "gpu.yaml"))
    assert code == 0, output
    assert "bash " + str(tmp_path / "gpu-engine.sh") in " ".join(output.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "gpu-engine.sh", "gpu.yaml", "stellwerk-engine.sh", "stellwerk.yaml",
    ]  # fmt: skip
    assert "ollama pull" in (tmp_path / "gpu-engine.sh").read_text()


def test_two_configs_in_one_folder_keep_their_ledgers_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """walk27 F1: a GPU config and a CPU config written into one folder both named
    sqlite:///stellwerk.db, so a key made for the CPU gateway was an active key of the GPU
    gateway, with the GPU department's class; audit and budgets were mixed too."""
    gpu, cpu = tmp_path / "gpu24.yaml", tmp_path / "cpu32.yaml"
    for out, hardware in ((gpu, ["--gpu-memory", "24"]), (cpu, ["--ram", "32"])):
        code, output = _init(*hardware, "--department", "verwaltung", "-o", str(out),
                             "--no-interactive")  # fmt: skip
        assert code == 0, output
    assert load_config(gpu).server.database_url == "sqlite:///" + str(tmp_path / "gpu24.db")
    assert load_config(cpu).server.database_url == "sqlite:///" + str(tmp_path / "cpu32.db")
    assert "The ledger (usage records, audit log, keys) is cpu32.db beside this file" in (
        cpu.read_text()
    )
    monkeypatch.setenv("STELLWERK_KEY_VERWALTUNG", "k" * 32)
    monkeypatch.setenv("STELLWERK_ADMIN_KEY", "a" * 32)
    made = runner.invoke(build_app(), ["keys", "create", "-c", str(cpu), "--department",
                                       "verwaltung"])  # fmt: skip
    assert made.exit_code == 0, made.output
    key_id = next(w for w in made.output.split() if w.startswith("key-"))
    listed = runner.invoke(build_app(), ["keys", "list", "-c", str(gpu)])
    assert listed.exit_code == 0, listed.output
    assert key_id not in listed.output
    assert key_id in runner.invoke(build_app(), ["keys", "list", "-c", str(cpu)]).output


def test_keys_list_keeps_its_columns_for_the_use_case_init_names(tmp_path: Path) -> None:
    """walk27 F8: ``verwaltung-assistant``, the use case ``init --department verwaltung``
    writes, was wider than the ``use case`` column and pushed the class columns right."""
    out = tmp_path / "stellwerk.yaml"
    code, output = _init("--ram", "16", "--department", "verwaltung", "-o", str(out),
                         "--classifications", "confidential", "--no-interactive")  # fmt: skip
    assert code == 0, output
    listed = runner.invoke(build_app(), ["keys", "list", "-c", str(out)])
    assert listed.exit_code == 0, listed.output
    header, *rows = listed.output.splitlines()
    assert "verwaltung-assistant" in listed.output
    for column, values in (("class", {"confidential"}), ("source", {"config"})):
        start = header.index(column)
        assert {row[start:].split()[0] for row in rows} == values, listed.output


def test_an_existing_engine_script_is_named_before_anything_is_proposed(tmp_path: Path) -> None:
    (tmp_path / "gpu-engine.sh").write_text("# mine\n")
    out = tmp_path / "gpu.yaml"
    code, output = _init("--gpu-memory", "24", "--output", str(out), "--no-interactive")
    assert code == 1
    assert "gpu-engine.sh already exists; nothing written (use --force)" in output
    assert "Proposed models" not in output  # no table printed only to be thrown away
    assert not out.exists() and (tmp_path / "gpu-engine.sh").read_text() == "# mine\n"


def test_hardware_too_small_says_so_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "stellwerk.yaml"
    code, output = _init("--ram", "2", "--output", str(out), "--no-interactive")
    assert code == 1
    assert "no model that meets your needs fits in 1.8 GB (90 % of 2 GB RAM)" in output
    assert "the smallest that would is gemma-3-1b" in output
    assert "nothing written" in output
    assert list(tmp_path.iterdir()) == []


def test_too_small_for_long_documents_advises_what_would_fit(tmp_path: Path) -> None:
    """Walk 14 (14-3): the advice was ``--context 2048``, which long_documents raises to 32768
    again; the same error followed. It names the use case and a change that does fit."""
    out = tmp_path / "stellwerk.yaml"
    argv = ["--engine", "llamacpp", "--gpu-memory", "2.5", "--languages", "de"]
    argv += ["--no-interactive", "--output", str(out)]
    code, output = _init(*argv, "--use-cases", "long_documents")
    assert code == 1 and not out.exists()
    assert "the long_documents use case needs a 32768-token context: without it in" in output
    assert "--use-cases, with --context 8192, llama-3.2-1b fits" in output
    code, output = _init(*argv, "--use-cases", "chat", "--context", "8192")
    assert code == 0, output


def test_missing_hardware_is_named(tmp_path: Path) -> None:
    code, output = _init("--output", str(tmp_path / "s.yaml"), "--no-interactive")
    assert code == 1 and "--gpu-memory GB or --ram GB" in output


def test_bad_flag_values_are_named(tmp_path: Path) -> None:
    code, output = _init(
        "--gpu-memory", "24", "--engine", "tgi", "--output", str(tmp_path / "s.yaml"),
        "--no-interactive",
    )  # fmt: skip
    assert code == 1 and "--engine: 'tgi' is not one of" in output
    code, output = _init(
        "--gpu-memory", "24", "--quant", "q3", "--output", str(tmp_path / "s.yaml"),
        "--no-interactive",
    )  # fmt: skip
    assert code == 1 and "--quant: 'q3' is not one of" in output
    assert list(tmp_path.iterdir()) == []


def test_an_explicit_context_below_what_a_use_case_needs_is_refused(tmp_path: Path) -> None:
    """``--context 2048 --use-cases long_documents`` served a 32768-token context without a word
    (and computed the memory for it): the user's choice is refused, naming both and the ways
    out, as a usage error; left out, the context is the one the use case needs."""
    out = tmp_path / "stellwerk.yaml"
    argv = ["--gpu-memory", "48", "--use-cases", "chat,long_documents", "--output", str(out)]
    code, output = _init(*argv, "--context", "2048", "--no-interactive")
    assert code == 2
    assert (
        "error: --context 2048 is shorter than the 32768 tokens the long_documents use case "
        "needs: give --context 32768 or more (or leave --context out: 32768 is then served), or "
        "leave long_documents out of --use-cases"
    ) in " ".join(output.split())
    assert list(tmp_path.iterdir()) == []
    # asked on a terminal, the use case that contradicts --context is named and asked again
    answers = ["ollama", "", "any", "any", "", "long_documents", "chat", "internal"]
    code, output = _init(
        "--gpu-memory", "48", "--context", "2048", "--output", str(out), "--interactive",
        input="\n".join(answers) + "\n",
    )  # fmt: skip
    assert code == 0, output
    assert "--context 2048 is shorter than the 32768 tokens" in " ".join(output.split())
    assert {m.context_length for m in load_config(out).models} == {2048}
    code, output = _init(*argv, "--no-interactive", "--force")
    assert code == 0, output
    assert {m.context_length for m in load_config(out).models} == {32768}


def test_a_negative_context_is_out_of_range_not_short_of_long_documents(tmp_path: Path) -> None:
    """walk16 W16-4: ``--context=-5`` without long_documents said it was shorter than "the 0
    tokens the long_documents use case needs"."""
    out = tmp_path / "stellwerk.yaml"
    argv = ["--gpu-memory", "48", "--use-cases", "chat", "--output", str(out), "--no-interactive"]
    code, output = _init(*argv, "--context=-5")
    # the usage error of every whole-number option (walk27 F7: it was exit 1, words of its own)
    assert "Invalid value for '--context': -5 is less than 512, the least it may be" in output
    assert "long_documents" not in output and code == 2
    assert list(tmp_path.iterdir()) == []


def test_discover_configures_what_the_server_runs(tmp_path: Path, ollama_like: str) -> None:
    out = tmp_path / "stellwerk.yaml"
    code, output = _init("--discover", ollama_like, "--output", str(out), "--no-interactive")
    assert code == 0, output
    config = load_config(out)
    assert config.backends[0].kind == "ollama"
    assert config.backends[0].base_url == ollama_like
    by_id = {m.id: m for m in config.models}
    assert by_id["ministral-3-3b"].size_class == "small"
    assert by_id["ministral-3-14b"].size_class == "large"
    assert by_id["ministral-3-14b"].upstream == "ministral-3:14b"
    assert not (tmp_path / "stellwerk-engine.sh").exists(), "the server already runs"


def test_unreachable_discover_url_is_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    url = closed_port_url()
    code, output = _init(
        "--discover", url, "--output", str(tmp_path / "s.yaml"), "--no-interactive"
    )
    assert code == 1
    assert f"backend '{url}': cannot connect" in output
    assert list(tmp_path.iterdir()) == []


def test_every_init_option_is_documented() -> None:
    import typer.main
    from typer.core import TyperGroup

    command = typer.main.get_command(build_app())
    assert isinstance(command, TyperGroup)
    init = command.commands["init"]
    docs = (Path(__file__).resolve().parents[2] / "docs" / "configurator.md").read_text()
    options = [opt for param in init.params for opt in param.opts if opt.startswith("--")]
    assert len(options) > 10
    missing = [opt for opt in options if f"`{opt}" not in docs]
    assert not missing, f"undocumented in docs/configurator.md: {missing}"


def test_gpu_memory_says_the_same_in_the_help_and_the_docs() -> None:
    """The help said "all GPUs together", the docs "the GPU(s)", and the vLLM script used one
    GPU: both now say which memory each engine's script can use, in the same words."""
    wide = runner.invoke(
        build_app(), ["init", "--help"], env={"COLUMNS": "1000"}, terminal_width=1000
    )
    help_row = next(line for line in wide.output.splitlines() if "--gpu-memory" in line)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "configurator.md").read_text()
    docs_row = next(line for line in docs.splitlines() if line.startswith("| `--gpu-memory"))
    said = (
        "GPU memory in GB the models must fit in: with ollama and llamacpp all GPUs' together (a "
        "model is spread over them), with vllm one GPU's (the script starts every server on the "
        "first GPU)"
    )
    assert said in " ".join(help_row.split())
    assert said in docs_row


def test_a_department_name_the_config_would_refuse_is_named(tmp_path: Path) -> None:
    code, output = _init(
        "--gpu-memory", "24", "--department", "R&D team", "--output", str(tmp_path / "s.yaml"),
        "--no-interactive",
    )  # fmt: skip
    assert code == 1
    assert "--department: 'R&D team' cannot name a department: use ASCII letters" in output
    assert list(tmp_path.iterdir()) == []


def test_interactive_answers_are_checked_as_given(tmp_path: Path) -> None:
    out = tmp_path / "stellwerk.yaml"
    answers = ["tgi", "ollama", "24", "German", "de,en", "any", "osi", "Mistal", "Apertus"]
    answers += ["chat", "top", "confidential"]
    code, output = _init("--output", str(out), "--interactive", input="\n".join(answers) + "\n")
    assert code == 0, output
    # each bad answer is named at once and asked again, not after the last question
    assert output.index("'tgi' is not one of") < output.index("GPU memory in GB")
    assert output.index("'German' is not an ISO 639 code") < output.index("openness required")
    assert "'mistal' not in the catalog" in output
    assert "'top' is not one of" in output
    config = load_config(out)
    assert [m.id for m in config.models] == ["ministral-3-3b", "apertus-8b", "ministral-3-14b"]
    assert {m.licence for m in config.models} == {"Apache-2.0"}


def test_an_unknown_licence_is_refused_by_name(tmp_path: Path) -> None:
    """Walk 14 (14-9): a misspelt licence was taken without a word; every model was then left
    out and the error blamed the languages, openness or use cases."""
    out = tmp_path / "stellwerk.yaml"
    code, output = _init(
        "--engine", "ollama", "--gpu-memory", "24", "--licences", "Apache 2.0,MIT",
        "--no-interactive", "--output", str(out),
    )  # fmt: skip
    assert code != 0
    assert "--licences: 'apache 2.0' (did you mean Apache-2.0?) not in the catalog" in output
    assert "Gemma Terms of Use" in output  # the catalog's licences are listed
    assert "relax the languages" not in output
    assert not out.exists()
    # interactively the bad answer is named and asked again
    answers = ["ollama", "24", "", "any", "chat,code", "apache-2.0", "", "chat", "internal"]
    code, output = _init("--output", str(out), "--interactive", input="\n".join(answers) + "\n")
    assert code == 0, output
    assert "--licences: 'chat', 'code' not in the catalog" in output
    assert {m.licence for m in load_config(out).models} == {"Apache-2.0"}


def test_written_config_has_an_admin_key_a_use_case_and_its_ledger(tmp_path: Path) -> None:
    out = tmp_path / "etc" / "stellwerk.yaml"
    code, output = _init(
        "--engine", "llamacpp", "--ram", "32", "--department", "it", "--output", str(out),
        "--no-interactive",
    )  # fmt: skip
    assert code == 0, output
    config = load_config(out)
    (dept,) = config.departments
    roles = {k.id: (k.role, k.key_env, k.use_case) for k in dept.keys}
    assert roles == {
        "it-key": ("user", "STELLWERK_KEY_IT", "it-assistant"),
        "admin": ("admin", "STELLWERK_ADMIN_KEY", None),
    }
    assert [(u.name, u.department) for u in config.use_cases] == [("it-assistant", "it")]
    assert config.server.database_url.endswith("stellwerk.db")
    # the engines listen on loopback and want the key the gateway sends them
    script = (out.parent / "stellwerk-engine.sh").read_text()
    assert "0.0.0.0" not in script
    assert '--api-key "$STELLWERK_ENGINE_KEY"' in script
    assert all(b.api_key_env == "STELLWERK_ENGINE_KEY" for b in config.backends)
    assert "STELLWERK_ADMIN_KEY=..." in output


def test_discover_sends_the_key_and_asks_the_size_it_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tags = ollama_tags(("ministral-3:3b", "3.8B", "Q4_K_M"), ("house-model:v2", "", "Q4_K_M"))
    tags["models"].append({"name": "mystery:latest", "model": "mystery:latest", "details": {}})
    show = {"house-model:v2": {"model_info": {"general.parameter_count": 12_000_000_000}}}
    server = start({"/api/tags": (200, tags), "POST /api/show": (200, show)}, key="sk-ollama")
    url = f"http://127.0.0.1:{server.server_address[1]}"
    out = tmp_path / "stellwerk.yaml"
    try:
        code, output = _init("--discover", url, "--output", str(out), "--no-interactive")
        assert code == 1 and "HTTP 401" in output  # no key: the server refuses
        monkeypatch.setenv("OLLAMA_PROXY_KEY", "sk-ollama")
        code, output = _init(
            "--discover", url, "--discover-key-env", "OLLAMA_PROXY_KEY", "--output", str(out),
            "--interactive",
            # languages, openness, use cases, classes; the size; where it runs; approve?
            input="\n".join(["", "any", "chat", "internal", "7", "eu_cloud", "n"]) + "\n",
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0, output
    assert "mystery:latest: size in billions of parameters" in output
    config = load_config(out)
    assert config.backends[0].api_key_env == "OLLAMA_PROXY_KEY"
    sizes = {m.upstream: (m.params_b, m.lifecycle) for m in config.models}
    assert sizes["house-model:v2"] == (12.0, "proposed")  # read from /api/show
    assert sizes["mystery:latest"] == (7.0, "proposed")  # given by the operator
    assert {m.hosting for m in config.models} == {"eu_cloud"}  # the operator's answer


@pytest.mark.llama
def test_discover_on_the_demos_llama_server_knows_the_embedding_model_and_says_to_approve(
    tmp_path: Path, llama_server: LlamaBackend
) -> None:
    out = tmp_path / "stellwerk.yaml"
    sizes = ["0.1"] * len(llama_server.aliases)  # llama-cpp-python does not report sizes
    code, output = _init(
        "--discover", llama_server.base_url, "--output", str(out), "--interactive",
        input="\n".join(["", "any", "chat", "internal", *sizes, "on_prem"]) + "\n",
    )  # fmt: skip
    assert code == 0, output
    config = load_config(out)
    assert config.backends[0].dialect == "llamacpp"  # llama-cpp-python, told by its OpenAPI title
    capabilities = {m.id: m.capabilities for m in config.models}
    assert capabilities.pop(llama_server.embedding_model) == ("embeddings",)
    assert set(capabilities.values()) == {("chat", "json")}  # every engine constrains JSON
    assert {m.lifecycle for m in config.models} == {"proposed"}
    flat = " ".join(output.split())
    assert "the gateway refuses every request for them until they are approved" in flat
    assert f"stellwerk catalog set --config {out} MODEL in_review" in flat


def test_discover_takes_the_sizes_it_cannot_read_from_the_command_line(tmp_path: Path) -> None:
    """Off a terminal nobody is asked: ``--size`` gives what the catalog and server do not."""
    tags = ollama_tags(("ministral-3:3b", "3.8B", "Q4_K_M"))
    tags["models"].append({"name": "mystery:latest", "model": "mystery:latest", "details": {}})
    server = start({"/api/tags": (200, tags), "POST /api/show": (200, {})})
    url = f"http://127.0.0.1:{server.server_address[1]}"
    out = tmp_path / "stellwerk.yaml"
    try:
        code, output = _init("--discover", url, "-o", str(out), "--no-interactive")
        assert code == 0, output
        assert "give it with --size mystery:latest=BILLIONS" in " ".join(output.split())
        assert {m.upstream for m in load_config(out).models} == {"ministral-3:3b"}
        for bad, problem in (
            ("mystery:latest", "is not MODEL=BILLIONS"),
            ("mystery:latest=-2", "is not MODEL=BILLIONS"),
            ("mystery:latest=nan", "is not MODEL=BILLIONS"),
            ("other:1b=7", f"{url} serves no model 'other:1b'"),
        ):
            code, output = _init(
                "--discover", url, "--size", bad, "-o", str(tmp_path / "bad.yaml"),
                "--no-interactive",
            )  # fmt: skip
            assert code == 1 and problem in " ".join(output.split()), output
            assert not (tmp_path / "bad.yaml").exists()
        code, output = _init(
            "--discover", url, "--size", "mystery:latest=7", "-o", str(out), "--force",
            "--discover-approve", "--no-interactive",
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0, output
    sizes = {m.upstream: (m.params_b, m.lifecycle) for m in load_config(out).models}
    assert sizes == {"ministral-3:3b": (3.8, "approved"), "mystery:latest": (7.0, "proposed")}


def test_sizes_are_for_discovered_models_only(tmp_path: Path) -> None:
    code, output = _init(
        "--gpu-memory", "24", "--size", "x=3", "-o", str(tmp_path / "s.yaml"), "--no-interactive"
    )
    assert code == 1 and "--size: only --discover takes sizes" in output
    assert list(tmp_path.iterdir()) == []
