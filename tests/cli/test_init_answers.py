"""`stellwerk init` on answers a user gets wrong: an output path that cannot be written, a word
where a number is asked (walk27 F9, F10), a name outside ASCII (F11); and what the vLLM script
says of gated weights (F18)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.config import load_config
from stellwerk.config.base import check_name
from stellwerk.errors import ConfigError

runner = CliRunner()
FLAGS = ["--gpu-memory", "24", "--no-interactive"]


def _init(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(build_app(), ["init", *args], input=input)
    return result.exit_code, " ".join(result.output.split())


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("a-file/x.yaml", "--output: {tmp}/a-file is a file, not a folder; nothing written"),
        ("a-folder", "--output: {tmp}/a-folder is a folder; give the config file's name, e.g."),
        ("/proc/x.yaml", "cannot write /proc/x.yaml: No such file or directory; nothing written"),
    ],
    ids=["through-a-file", "a-folder", "unwritable"],
)
def test_an_output_that_cannot_be_written_is_one_line_not_a_traceback(
    tmp_path: Path, where: str, message: str
) -> None:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "a-folder").mkdir()
    code, output = _init(*FLAGS, "-o", str(tmp_path / where), "--force")
    assert code == 1, output
    assert message.format(tmp=tmp_path) in output
    assert "Traceback" not in output and "Error" not in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "a-folder"]
    assert list((tmp_path / "a-folder").iterdir()) == []


def test_a_word_asked_for_a_number_is_named_in_the_options_words(tmp_path: Path) -> None:
    out = tmp_path / "s.yaml"
    answers = ["llamacpp", "abc", "0", "1e3", "32", "", "any", "any", "", "chat", "internal"]
    code, output = _init("-o", str(out), "--interactive", input="\n".join(answers) + "\n")
    assert code == 0, output
    form = "is not a plain number (the digits 0 to 9 and at most one '.', no spaces)"
    assert f"--gpu-memory: 'abc' {form}" in output
    assert f"--ram: '1e3' {form}" in output
    assert "Input should be a valid number" not in output
    assert "32 GB RAM" in output or "on 32 GB" in output
    assert load_config(out).models


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("Ämter", "'Ämter' is not a valid name: 'Ä' is not an ASCII letter; use ASCII letters"),
        ("Bürgeramt", "(e.g. 'Buergeramt')"),
        ("-2+3", "'-2+3' is not a valid name: use ASCII letters (A-Z, a-z), digits and"),
    ],
    ids=["umlaut", "spelt-in-ascii", "a-sign"],
)
def test_a_name_outside_ascii_is_refused_saying_so(tmp_path: Path, name: str, said: str) -> None:
    """A department named with an umlaut is refused as the message says: letters of ASCII."""
    assert check_name("Aemter") == "Aemter"
    raw = {
        "backends": [{"name": "b", "kind": "ollama", "base_url": "http://127.0.0.1:11434"}],
        "models": [{"id": "m", "backend": "b", "upstream": "m", "size_class": "small"}],
        "departments": [{"name": name}],
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert said in str(refused.value)


def test_a_use_case_name_is_refused_naming_only_what_a_use_case_may_hold(tmp_path: Path) -> None:
    """A use case may not hold ':' (the audit log reads it as kind:name): its refusal of another
    name does not offer it."""
    raw = {
        "backends": [{"name": "b", "kind": "ollama", "base_url": "http://127.0.0.1:11434"}],
        "models": [{"id": "m", "backend": "b", "upstream": "m", "size_class": "small"}],
        "departments": [{"name": "d"}],
        "use_cases": [{"name": "-2+3", "department": "d"}],
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    message = str(refused.value)
    assert "use ASCII letters (A-Z, a-z), digits and . _ / -, starting with" in message
    assert ": / -" not in message


def test_the_vllm_script_says_which_weights_are_gated(tmp_path: Path) -> None:
    out = tmp_path / "v.yaml"
    code, output = _init(
        "--engine", "vllm", "--gpu-memory", "24", "--languages", "de", "-o", str(out),
        "--no-interactive",
    )  # fmt: skip
    assert code == 0, output
    served = [line.split()[2] for line in (tmp_path / "v-engine.sh").read_text().splitlines()
              if line.startswith("vllm serve")]  # fmt: skip
    gated = [repo for repo in served if repo.startswith(("meta-llama/", "google/gemma"))]
    assert gated, served  # the set for 24 GB and German holds Llama and Gemma weights
    script = (tmp_path / "v-engine.sh").read_text()
    assert f"# Gated here: {', '.join(gated)}" in script
    assert "HF_TOKEN" in script
    assert f"warning: {', '.join(gated)}: gated on Hugging Face" in output
