"""A backend's ``base_url`` as ``stellwerk config check`` and ``stellwerk serve`` take it and say
it: a query or a fragment is refused (the backends append their paths to ``base_url``, so a
query ended up in front of them: ``POST /v1?api_key=X/v1/chat/completions``), and so are
credentials in it together with an ``api_key_env`` token (a request carries one
``Authorization`` header: every request failed); no refusal repeats a secret; the start-up
summary hides a user and password in it, as it hides the ledger's password."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.config import load_config
from tests.config.test_config import MINIMAL, OPENAI_BACKEND, STATED, write
from tests.fixtures.gateway import free_port

SECRETS = ("s3cr3tP4ss", "QUERYSECRET123", "fragsecret")


def _with_backend(tmp_path: Path, **backend: Any) -> Path:
    raw = {**MINIMAL, "backends": [{**OPENAI_BACKEND, **backend}], "models": [STATED]}
    return write(tmp_path, raw)


def _check(path: Path) -> Any:
    return CliRunner().invoke(build_app(), ["config", "check", str(path)], env={"IT_KEY": "k" * 16})


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "http://127.0.0.1:18151/v1?api_key=QUERYSECRET123",
            "'http://127.0.0.1:18151/v1?api_key=***'",
        ),
        (
            "http://alice:s3cr3tP4ss@127.0.0.1:18151/v1?api_key=QUERYSECRET123",
            "'http://***@127.0.0.1:18151/v1?api_key=***'",
        ),
        ("http://127.0.0.1:18151/v1#fragsecret", "'http://127.0.0.1:18151/v1#***'"),
        ("http://127.0.0.1:18151/v1?", "'http://127.0.0.1:18151/v1?'"),
        ("http://127.0.0.1:18151/v1#", "'http://127.0.0.1:18151/v1#'"),
        ("HTTP://127.0.0.1:18151/v1?#", "'http://127.0.0.1:18151/v1?#'"),
    ],
    ids=["query", "credentials-and-query", "fragment", "empty-query", "empty-fragment", "both"],
)
def test_config_check_refuses_a_query_or_fragment_in_base_url_without_repeating_it(
    tmp_path: Path, url: str, shown: str
) -> None:
    answer = _check(_with_backend(tmp_path, base_url=url))
    assert answer.exit_code == 2, answer.output
    assert f"backends.0.base_url: base_url takes no query or fragment: {shown}" in answer.stderr
    assert not [s for s in SECRETS if s in answer.output], answer.output


@pytest.mark.parametrize("scheme", ["HTTP", "Http", "HTTPS"])
def test_a_base_urls_scheme_in_upper_case_is_taken_in_lower_case(
    tmp_path: Path, scheme: str
) -> None:
    """Schemes are case-insensitive; ``HTTP://`` was refused as "not an http(s) URL", its
    message showing the URL with ``http://`` (walk 18, 6)."""
    url = f"{scheme}://127.0.0.1:18151/v1"
    path = _with_backend(tmp_path, base_url=url)
    answer = _check(path)
    assert answer.exit_code == 0, answer.output
    (backend,) = load_config(path).backends
    assert backend.base_url == f"{scheme.lower()}://127.0.0.1:18151/v1"


def test_config_check_refuses_credentials_in_base_url_and_an_api_key_env_together(
    tmp_path: Path,
) -> None:
    url = "http://alice:s3cr3tP4ss@127.0.0.1:18151/v1"
    both = _check(_with_backend(tmp_path, base_url=url, api_key_env="MOCK_TOKEN"))
    assert both.exit_code == 2, both.output
    assert (
        "backend 'ollama': give the backend's credentials either in base_url"
        " (user:password@) or by api_key_env (a bearer token), not both"
    ) in both.stderr
    assert "s3cr3tP4ss" not in both.output
    alone = _check(_with_backend(tmp_path, base_url=url))  # one of them is a valid config
    assert alone.exit_code == 0, alone.output
    token = _check(_with_backend(tmp_path, api_key_env="MOCK_TOKEN"))
    assert token.exit_code == 0, token.output


def test_serve_names_the_backend_without_its_user_and_password(tmp_path: Path) -> None:
    """The real ``stellwerk serve``, stopped once it has printed its start-up summary."""
    url = "http://alice:s3cr3tP4ss@127.0.0.1:18151/v1"
    path = _with_backend(tmp_path, base_url=url)
    path.write_text(path.read_text() + f"server:\n  database_url: sqlite:///{tmp_path}/l.db\n")
    argv = ["serve", "--config", str(path), "--port", str(free_port())]
    env = {**os.environ, "IT_KEY": "k" * 16}
    with subprocess.Popen(
        [sys.executable, "-m", "stellwerk", *argv], env=env, stderr=subprocess.PIPE, text=True
    ) as server:
        assert server.stderr is not None
        said = []
        try:
            for line in server.stderr:
                said.append(line)
                if line.startswith(("OpenAI API:", "error:")):
                    break
        finally:
            server.terminate()
    text = "".join(said)
    assert "backends: ollama http://***@127.0.0.1:18151/v1 (openai)" in text, text
    assert "s3cr3tP4ss" not in text and "alice" not in text


@pytest.mark.parametrize(
    ("url", "said"),
    [
        (
            "http://127.0.0.1:18151/v1\nX-Injected: 1",
            "contains the control character U+000A; write it on one line of plain text",
        ),
        (
            "http://127.0.0.1:18151/v1\u202e",
            "contains the control character U+202E (RIGHT-TO-LEFT OVERRIDE)",
        ),
        (
            "http://alice:pw@127.0.0.1:18151/my models",
            "'http://***@127.0.0.1:18151/my models' holds a space; a URL has none (%20)",
        ),
        (
            "http://127.0.0.1:18151\\@evil.com/v1",
            "'http://***@evil.com/v1' holds a backslash; a URL has none (%5C)",
        ),
        (
            "http://127.0.0.1:18151/v1\\models",
            "'http://127.0.0.1:18151/v1\\\\models' holds a backslash; a URL has none (%5C)",
        ),
    ],
    ids=["line-break", "direction-override", "space", "backslash-in-host", "backslash-in-path"],
)
def test_config_check_refuses_a_base_url_that_is_not_one_plain_address(
    tmp_path: Path, url: str, said: str
) -> None:
    """Walk 19 (w19cfg's note): a line break, a hidden character or a space in ``base_url`` was
    taken, and the address shown in ``serve``'s lines and the audit was not the one used."""
    answer = _check(_with_backend(tmp_path, base_url=url))
    assert answer.exit_code == 2, answer.output
    assert f"backends.0.base_url: {said}" in answer.stderr
    assert "pw@" not in answer.stderr
