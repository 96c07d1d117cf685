"""`stellwerk init` names a bad value as the user gave it, in the CLI's own words, and
refuses an option that names nothing (walk27 F7, F8)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from stellwerk.cli.main import build_app

runner = CliRunner()


def _init(tmp_path: Path, *args: str) -> tuple[int, str]:
    out = tmp_path / "s.yaml"
    result = runner.invoke(build_app(), ["init", *args, "--no-interactive", "-o", str(out)])
    return result.exit_code, " ".join(result.output.replace("\u2502", " ").split())  # box sides


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("-1", "Invalid value for '--context': -1 is less than 512, the least it may be"),
        ("100", "Invalid value for '--context': 100 is less than 512, the least it may be"),
        (
            "2000000",
            "Invalid value for '--context': 2000000 is more than 1048576, the most it may be",
        ),
    ],
)
def test_a_context_out_of_range_is_a_usage_error_as_every_whole_number_option(
    tmp_path: Path, value: str, said: str
) -> None:
    """It was exit 1 with words of its own (``--context: -1 tokens is outside 512 ..
    1048576``), where docs/cli.md promises every whole-number option's usage error."""
    code, output = _init(tmp_path, "--gpu-memory", "24", f"--context={value}")
    assert code == 2, output
    assert said in output
    assert list(tmp_path.iterdir()) == []


def test_the_context_range_is_the_configurators() -> None:
    from stellwerk.cli import init_options
    from stellwerk.configurator import needs

    assert (init_options.CONTEXT_LEAST, init_options.CONTEXT_MOST) == (
        needs.MIN_CONTEXT,
        needs.MAX_CONTEXT,
    )


def test_the_usable_share_of_a_small_memory_is_not_rounded_to_the_whole(tmp_path: Path) -> None:
    """``fits in 0.5 GB (90 % of 0.5 GB GPU memory)``: 90 % of 0.5 is 0.45."""
    code, output = _init(tmp_path, "--gpu-memory", "0.5")
    assert code == 1
    assert "fits in 0.45 GB (90 % of 0.5 GB GPU memory)" in output


def test_a_language_that_is_no_code_is_named_as_given(tmp_path: Path) -> None:
    code, output = _init(tmp_path, "--gpu-memory", "24", "--languages", "de,German")
    assert code == 1
    assert "--languages: 'German' is not an ISO 639 code" in output


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("root:x:0:0:root:/root:/bin/bash\n", "holds text, not a mapping"),
        ("- id: x\n", "holds a list, not a mapping"),
        ("", "is empty"),
    ],
)
def test_a_file_that_is_no_catalog_is_named_so(tmp_path: Path, text: str, said: str) -> None:
    """``--catalog /etc/passwd`` said pydantic's ``: Input should be a valid dictionary or
    instance of Catalog``, with an empty place."""
    catalog = tmp_path / "passwd"
    catalog.write_text(text)
    code, output = _init(tmp_path, "--gpu-memory", "24", "--catalog", str(catalog))
    assert code == 1
    assert f"{catalog}: not a catalog: the file {said}" in output
    assert "a YAML mapping with version: 1 and models:" in output
    assert "Input should be" not in output and "instance of" not in output


def test_a_catalog_without_its_keys_names_them(tmp_path: Path) -> None:
    catalog = tmp_path / "mine.yaml"
    catalog.write_text("version: 1\n")
    code, output = _init(tmp_path, "--gpu-memory", "24", "--catalog", str(catalog))
    assert code == 1
    assert f"{catalog}: invalid catalog: models: missing" in output


@pytest.mark.parametrize(
    ("option", "value", "code", "said"),
    [
        ("--languages", "", 1, "--languages: '' names no language; leave --languages out for any"),
        ("--languages", ",", 1, "--languages: ',' names no language"),
        ("--use-cases", "", 2, "--use-cases: '' names no use case; leave --use-cases out for chat"),
        ("--use-cases", " , ", 2, "--use-cases: ' , ' names no use case"),
        ("--classifications", ",", 1, "--classifications: ',' names no data classification"),
        ("--licences", ",", 1, "--licences: ',' names no licence"),
        ("--prefer-families", "", 1, "--prefer-families: '' names no model family"),
    ],
)
def test_a_list_option_that_names_nothing_is_refused(
    tmp_path: Path, option: str, value: str, code: int, said: str
) -> None:
    """``--languages ""`` was taken silently as "any language", a mistake (a variable that
    was empty) made into a choice."""
    exit_code, output = _init(tmp_path, "--gpu-memory", "24", option, value)
    assert exit_code == code, output
    assert said in output
    assert list(tmp_path.iterdir()) == []


def test_on_a_terminal_an_empty_answer_still_means_any_language(tmp_path: Path) -> None:
    out = tmp_path / "stellwerk.yaml"
    answers = "\n".join(["llamacpp", "0", "48", "", "any", "any", "", "chat", "internal"]) + "\n"
    result = runner.invoke(build_app(), ["init", "-o", str(out), "--interactive"], input=answers)
    assert result.exit_code == 0, result.output
    assert "languages any" in out.read_text()
