"""`stellwerk init` options that contradict each other, bounds that are named, and what the
command prints: each refused or said in the option's own words, before anything is proposed."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.config import load_config
from tests.configurator import model_server as ms

runner = CliRunner()


def _init(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(build_app(), ["init", *args], input=input)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gpu-memory", "24", "--ram", "64"], "--gpu-memory and --ram: give one"),
        (["--ram", "64", "--quant", "q8_0"], "--quant q8_0 does not apply to --engine ollama"),
        (
            ["--discover", "http://127.0.0.1:9", "--quant", "f16"],
            "--quant f16 does not apply to --discover",
        ),
        (
            ["--engine", "vllm", "--gpu-memory", "24", "--quant", "q4_k_m"],
            "--quant q4_k_m does not apply to --engine vllm",
        ),
        (
            ["--engine", "vllm", "--gpu-memory", "24", "--quant", "Q8_0"],
            "--quant q8_0 does not apply to --engine vllm",
        ),
    ],
    ids=[
        "gpu-and-ram",
        "quant-with-ollama",
        "quant-with-discover",
        "gguf-4bit-with-vllm",
        "gguf-8bit-with-vllm",
    ],
)
def test_contradicting_options_are_a_usage_error_before_anything_is_proposed(
    tmp_path: Path, args: list[str], message: str
) -> None:
    code, output = _init(*args, "--no-interactive", "-o", str(tmp_path / "s.yaml"))
    assert code == 2, output
    assert message in output
    assert "Proposed models" not in output
    assert list(tmp_path.iterdir()) == []


def test_quant_is_honoured_by_an_engine_that_serves_gguf_files(tmp_path: Path) -> None:
    out = tmp_path / "s.yaml"
    code, output = _init("--engine", "llamacpp", "--ram", "64", "--quant", "q8_0",
                         "--no-interactive", "-o", str(out))  # fmt: skip
    assert code == 0, output
    assert "(q8_0)" in output
    assert "Q8_0.gguf" in (tmp_path / "s-engine.sh").read_text()


@pytest.mark.parametrize("option", ["--ram", "--gpu-memory"])
def test_the_upper_bound_of_memory_is_named(tmp_path: Path, option: str) -> None:
    code, output = _init(option, "999999", "--no-interactive", "-o", str(tmp_path / "s.yaml"))
    assert code == 1
    assert f"{option}: 999999 GB is not a usable amount of memory" in output
    assert "at most 100000 GB" in output


@pytest.mark.parametrize("department", ["x:y", "Rechtsabteilung Ü", "", "-legal"])
def test_a_department_is_checked_by_its_option_before_the_proposal(
    tmp_path: Path, department: str
) -> None:
    code, output = _init("--ram", "64", "--department", department, "--no-interactive",
                         "-o", str(tmp_path / "s.yaml"))  # fmt: skip
    assert code == 1, output
    assert f"--department: {department!r} cannot name a department: use ASCII letters" in output
    assert "Proposed models" not in output
    assert "use_cases.0" not in output


def test_interactive_mode_names_a_negative_gpu_size_and_asks_again(tmp_path: Path) -> None:
    out = tmp_path / "s.yaml"
    answers = "\n".join(["ollama", "-3", "24", "", "any", "any", "", "chat", "internal"]) + "\n"
    code, output = _init("--output", str(out), "--interactive", input=answers)
    assert code == 0, output
    assert "--gpu-memory: -3 GB is not a usable amount of memory" in output
    assert "RAM in GB" not in output
    assert "24 GB GPU memory" in output
    assert "data classifications (data classifications" not in output


def test_the_next_line_quotes_a_path_for_the_shell(tmp_path: Path) -> None:
    out = tmp_path / "ü ber.yaml"
    code, output = _init("--ram", "64", "--no-interactive", "-o", str(out))
    assert code == 0, output
    command = output.split("then: ", 1)[1].splitlines()[0]
    assert shlex.split(command) == ["stellwerk", "serve", "--config", str(out)]


def test_a_single_model_is_not_called_the_one_between_two(tmp_path: Path) -> None:
    out = tmp_path / "s.yaml"
    code, output = _init("--ram", "3", "--context", "512", "--no-interactive", "-o", str(out))
    assert code == 0, output
    assert [m.size_class for m in load_config(out).models] == ["medium"]
    assert "between the two" not in out.read_text()
    assert "the only model that meets these needs and fits" in out.read_text()


def test_a_licence_refusal_spells_the_licence_as_the_catalog_does(tmp_path: Path) -> None:
    code, output = _init("--licences", "mit", "--openness", "fully-open", "--ram", "1",
                         "--no-interactive", "-o", str(tmp_path / "s.yaml"))  # fmt: skip
    assert code == 1
    assert "is not among those accepted (MIT)" in output


def test_discover_leaves_a_gateways_routes_out_and_reads_the_context_it_reports(
    tmp_path: Path, model_servers: Callable[[ms.Routes], str]
) -> None:
    """A Stellwerk gateway answers as Ollama: its routes are marked ``stellwerk-route`` and
    are not models; ``/api/show`` gives a model's context as ``<arch>.context_length``."""
    tags = ms.ollama_tags(("auto:latest", "", ""), ("tiny-small:latest", "3B", "Q4_K_M"))
    tags["models"][0]["details"]["format"] = "stellwerk-route"  # type: ignore[index]
    show = {"general.architecture": "tiny", "tiny.context_length": 1024}
    url = model_servers(
        {
            "/api/tags": (200, tags),
            "POST /api/show": (200, {"tiny-small:latest": {"model_info": show}}),
        }
    )
    out = tmp_path / "s.yaml"
    code, output = _init("--discover", url, "--no-interactive", "-o", str(out))
    assert code == 0, output
    assert (
        "auto:latest: a Stellwerk route (it chooses among that gateway's models), not a" in output
    )
    assert "--size auto" not in output
    config = load_config(out)
    assert [(m.upstream, m.context_length) for m in config.models] == [("tiny-small:latest", 1024)]


def test_discover_says_when_it_assumed_a_context(
    tmp_path: Path, model_servers: Callable[[ms.Routes], str]
) -> None:
    url = model_servers({"/v1/models": (200, ms.openai_models("house-7b"))})
    out = tmp_path / "s.yaml"
    code, output = _init("--discover", url, "--no-interactive", "-o", str(out))
    assert code == 0, output
    assert "house-7b: the server does not report its context length; 4096 tokens assumed" in output
    assert load_config(out).models[0].context_length == 4096


def test_a_model_whose_size_is_unknown_is_left_out_in_one_sentence(
    tmp_path: Path, model_servers: Callable[[ms.Routes], str]
) -> None:
    url = model_servers({"/api/tags": (200, ms.ollama_tags(("qwen3:latest", "", "")))})
    code, output = _init("--discover", url, "--no-interactive", "-o", str(tmp_path / "s.yaml"))
    assert code == 1
    assert (
        "qwen3:latest: ':latest' does not say which size (pull a size tag); its size is unknown,"
        " so it is left out" in output
    )


@pytest.mark.parametrize("quant", [None, "f16", "q4_k_m", "q8_0"])
def test_vllm_serves_the_weights_its_fit_was_computed_for(
    tmp_path: Path, quant: str | None
) -> None:
    from stellwerk.modelfacts import load_catalog

    out = tmp_path / "v.yaml"
    given = ["--quant", quant] if quant else []
    code, output = _init("--engine", "vllm", "--gpu-memory", "24", "--languages", "en",
                         *given, "--no-interactive", "-o", str(out))  # fmt: skip
    if code != 0:  # a quantisation the script could not serve: refused, nothing written
        assert code == 2, output
        assert f"--quant {quant} does not apply to --engine vllm" in output
        assert list(tmp_path.iterdir()) == []
        return
    catalog = {m.id: m for m in load_catalog(None)}
    lines = [
        shlex.split(line.rstrip(" &"))
        for line in (tmp_path / "v-engine.sh").read_text().splitlines()
        if line.startswith("vllm serve ")
    ]
    assert lines
    for words in lines:
        model = catalog[words[words.index("--served-model-name") + 1]]
        assert words[2] == model.hf_id  # the published BF16 weights, as they are
        assert "--quantization" not in words
        loaded_gb = model.memory_gb("f16", 8192)
        assert f"{loaded_gb:.1f} GB (f16)" in output
        share = float(words[words.index("--gpu-memory-utilization") + 1])
        assert share * 24 + 0.01 * 24 >= loaded_gb  # its share holds what it loads


@pytest.mark.parametrize(
    ("args", "said", "usage"),
    [
        (["--languages", "en,EN"], "--languages: 'EN' is given twice (as 'en' too)", False),
        (["--use-cases", "chat,chat"], "--use-cases: 'chat' is given twice; give each once", True),
        (
            ["--classifications", "internal, internal"],
            "--classifications: 'internal' is given twice; give each once",
            False,
        ),
        (
            ["--licences", "Apache-2.0,apache-2.0"],
            "--licences: 'apache-2.0' is given twice (as 'Apache-2.0' too)",
            False,
        ),
        (
            ["--prefer-families", "Mistral 3,mistral 3"],
            "--prefer-families: 'mistral 3' is given twice (as 'Mistral 3' too)",
            False,
        ),
    ],
    ids=["languages", "use-cases", "classifications", "licences", "families"],
)
def test_an_item_given_twice_in_a_list_option_is_named(
    tmp_path: Path, args: list[str], said: str, usage: bool
) -> None:
    """Walk 20 (F12): a repeat was taken silently; the config's own lists refuse a name twice."""
    code, output = _init("--ram", "64", *args, "--no-interactive", "-o", str(tmp_path / "s.yaml"))
    assert code == (2 if usage else 1), output
    assert said in output
    assert list(tmp_path.iterdir()) == []
