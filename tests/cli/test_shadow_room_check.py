"""``stellwerk config check`` warns when shadow grading's judging call has no room, or too little,
in every chat model's context (walk24 4: ``reference_max_tokens: 2000`` with every model at 1,024
tokens was valid without a word, and every grading was then skipped, ``judge_context``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from tests.governance.factories import model


def check(tmp_path: Path, context: int, **shadow: object) -> list[str]:
    raw = {
        "server": {"database_url": f"sqlite:///{tmp_path / 'ledger.db'}"},
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [
            model("small", context_length=context),
            model("large", context_length=context, params_b=70),
        ],
        "departments": [{"name": "router-learning"}, {"name": "sales"}],
        "router": {"shadow": {"account": "router-learning", **shadow}},
    }
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = CliRunner().invoke(build_app(), ["config", "check", str(path)])
    assert result.exit_code == 0, result.stderr
    assert "valid" in result.stdout
    return [line for line in result.stderr.splitlines() if line.startswith("warning:")]


@pytest.mark.parametrize(
    ("context", "asked", "said"),
    [
        (
            1024,
            2000,
            "do not fit in 1024 tokens, the largest context of the chat models (small, large)",
        ),
        (1024, 512, "leaves the question and the routed answer"),  # the default, walk24 4
        (4096, 4000, "do not fit in 4096 tokens"),
    ],
)
def test_a_reference_answer_the_judge_has_no_room_for_is_warned_of(
    tmp_path: Path, context: int, asked: int, said: str
) -> None:
    (warning,) = check(tmp_path, context, share=1.0, reference_max_tokens=asked)
    assert f"router.shadow.reference_max_tokens ({asked})" in warning
    assert said in warning and "judge_context" in warning
    assert "or less (a third of what the rubric leaves" in warning
    assert "max_tokens)" in warning  # walk26: what else keeps gradings from fitting


@pytest.mark.parametrize(
    ("context", "shadow"),
    [
        (1024, {"share": 1.0, "reference_max_tokens": 256}),  # docs/router.md's demo recipe
        (8192, {"share": 1.0}),  # the default 512 where there is room
        (1024, {"share": 0.0, "reference_max_tokens": 2000}),  # shadow grading off
    ],
)
def test_a_setting_with_room_is_not_warned_of(
    tmp_path: Path, context: int, shadow: dict[str, object]
) -> None:
    assert check(tmp_path, context, **shadow) == []
