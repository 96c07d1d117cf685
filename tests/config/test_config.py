"""The config file: unknown keys and bad values are refused with the file and the key path."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.config import load_config, parse_config
from stellwerk.config.loader import ledger_beside
from stellwerk.errors import ConfigError
from stellwerk.gateway import create_app
from tests.fixtures.gateway import raw_config

MINIMAL: dict[str, Any] = {
    "backends": [{"name": "ollama", "kind": "ollama", "base_url": "http://127.0.0.1:11434"}],
    "models": [
        {
            "id": "mistral-3-8b",
            "backend": "ollama",
            "upstream": "ministral-3:8b",
            "params_b": 8,
            "size_class": "medium",
        }
    ],
    "departments": [{"name": "it", "keys": [{"id": "it-1", "key_env": "IT_KEY"}]}],
}
#: the minimal config's backend as an OpenAI-compatible server (the models refer to its name)
OPENAI_BACKEND = {**MINIMAL["backends"][0], "kind": "openai"}
#: the minimal config's model, thinking
THINKER = {**MINIMAL["models"][0], "capabilities": ["chat", "thinking"]}


# the facts whose defaults ``config check`` warns about, stated
STATED = {**MINIMAL["models"][0], "hosting": "on_prem", "lifecycle": "approved"}


def write(tmp_path: Path, raw: Any) -> Path:
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.server.port == 8080
    assert set(config.routes) == {"auto", "auto-economy", "auto-quality"}
    assert config.models[0].lifecycle == "approved"
    assert config.models[0].hosting is None  # not stated: the least trusted location
    assert config.backends[0].timeouts.first_token >= 120  # long enough for a cold model load


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"servre": {}}, "servre: unknown key"),
        ({"models": [{**MINIMAL["models"][0], "colour": "red"}]}, "models.0.colour: unknown key"),
        ({"models": [{**MINIMAL["models"][0], "size_class": "huge"}]}, "models.0.size_class"),
        ({"models": [{**MINIMAL["models"][0], "backend": "vllm"}]}, "'vllm' is not a configured"),
        ({"models": [MINIMAL["models"][0]] * 2}, "'mistral-3-8b' is defined twice"),
        ({"models": [{**MINIMAL["models"][0], "id": "auto-x"}]}, "reserved for routes"),
        ({"backends": [{**MINIMAL["backends"][0], "base_url": "localhost"}]}, "not an http(s) URL"),
        ({"backends": [{**MINIMAL["backends"][0], "kind": "grpc"}]}, "backends.0.kind"),
        ({"backends": [{**MINIMAL["backends"][0], "dialect": "tgi"}]}, "backends.0.dialect"),
        (
            {"backends": [{**MINIMAL["backends"][0], "dialect": "llamacpp"}]},
            "dialect 'llamacpp' applies to kind 'openai' only",
        ),
        (
            {"backends": [{**MINIMAL["backends"][0], "pass_params": ["n_keep"]}]},
            "pass_params applies to kind 'openai' only",
        ),
        (
            {
                "backends": [
                    {**OPENAI_BACKEND, "pass_params": ["chat_template_kwargs", "n_predict"]}
                ]
            },
            "backends.0.pass_params: 'n_predict' cannot be passed on: the answer's length is"
            " max_tokens",
        ),
        (
            {"backends": [{**OPENAI_BACKEND, "pass_params": ["priority"]}]},
            "'priority' cannot be passed on: the model server's queue is shared by every"
            " department",
        ),
        (
            {"backends": [{**OPENAI_BACKEND, "pass_params": ["n_keep", "n_keep"]}]},
            "'n_keep' is listed twice",
        ),
        (
            {"backends": [{**OPENAI_BACKEND, "pass_params": ["chat template"]}]},
            "'chat template' is not a request parameter's name",
        ),
        (
            {"models": [{**THINKER, "thinking_switch": "enable_thinking"}]},
            "models.0.thinking_switch: backend 'ollama' is an Ollama server, which is sent think"
            " itself; leave thinking_switch out",
        ),
        (
            {
                "backends": [OPENAI_BACKEND],
                "models": [{**MINIMAL["models"][0], "thinking_switch": "enable_thinking"}],
            },
            "thinking_switch: the model has no 'thinking' capability",
        ),
        (
            {
                "backends": [OPENAI_BACKEND],
                "models": [{**THINKER, "thinking_switch": "enable thinking"}],
            },
            "models.0.thinking_switch: 'enable thinking' is not a chat template variable's name",
        ),
        ({"routes": {"fast": {"cost_weight": 1}}}, "route names start with 'auto'"),
        ({"departments": [{"name": "it", "allowed_models": ["gpt"]}]}, "'gpt' is not a configured"),
        ({"departments": [{"name": "it", "keys": [{"id": "k"}]}]}, "exactly one of key_env"),
        (
            {"router": {"embedding_model": "nomic-embed"}},
            "router.embedding_model: 'nomic-embed' is not a configured model",
        ),
        (
            {"router": {"embedding_model": "mistral-3-8b"}},
            "router.embedding_model: model 'mistral-3-8b' has no 'embeddings' capability",
        ),
        ({"router": {"embedding_timeout_s": 0}}, "router.embedding_timeout_s"),
    ],
)
def test_invalid_config_names_file_and_key_path(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    path = write(tmp_path, {**MINIMAL, **change})
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_not_yaml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("backends: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        parse_config([1, 2])


def test_a_key_given_twice_is_refused_naming_it_and_both_lines(tmp_path: Path) -> None:
    """PyYAML keeps the last of two equal keys: a second ``router:`` block at the end of a file
    dropped the first (shadow grading with it) and the config was called valid (walk 11)."""
    path = write(tmp_path, MINIMAL)
    text = path.read_text()
    path.write_text(text + "router:\n  feedback_window_s: 10\nrouter:\n  feedback_window_s: 20\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    said = str(info.value)
    assert "key 'router' is given twice (first on line" in said and "line" in said
    nested = tmp_path / "nested.yaml"
    nested.write_text(text + "router:\n  feedback_window_s: 10\n  feedback_window_s: 20\n")
    with pytest.raises(ConfigError, match="key 'feedback_window_s' is given twice"):
        load_config(nested)


def test_missing_secret_stops_start_up_naming_it() -> None:
    config = parse_config(MINIMAL)
    with pytest.raises(ConfigError, match="IT_KEY"):
        create_app(config, environ={})  # validated when the app is built, before serving
    with pytest.raises(ConfigError, match="OLLAMA_TOKEN"):
        raw = {**MINIMAL, "backends": [{**MINIMAL["backends"][0], "api_key_env": "OLLAMA_TOKEN"}]}
        create_app(parse_config(raw), environ={"IT_KEY": "sk-it-0123456789"})


def test_config_check_command(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(build_app(), ["config", "check", str(write(tmp_path, MINIMAL))])
    assert ok.exit_code == 0, ok.output
    assert "valid (1 backends, 1 models, 1 departments" in ok.output
    bad = runner.invoke(build_app(), ["config", "check", str(write(tmp_path, {"models": 3}))])
    assert bad.exit_code == 2
    assert "backends: Field required" in bad.output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (  # the override would reorder what the audit log and the dashboard show
            {"use_cases": [{"name": "bot", "department": "it", "purpose": "help \u202elanretni"}]},
            "use_cases.0.purpose: contains the control character U+202E"
            " (RIGHT-TO-LEFT OVERRIDE); write it on one line of plain text",
        ),
        (
            {"use_cases": [{"name": "bot", "department": "it", "oversight_contact": "a\u2028b"}]},
            "use_cases.0.oversight_contact: contains the separator U+2028 (LINE SEPARATOR)",
        ),
        (
            {"models": [{**MINIMAL["models"][0], "licence": "Apache\u00ad2.0"}]},
            "models.0.licence: contains the invisible character U+00AD (SOFT HYPHEN)",
        ),
        (
            {"models": [{**MINIMAL["models"][0], "owner": "it\u200b"}]},
            "models.0.owner: contains the zero-width character U+200B (ZERO WIDTH SPACE)",
        ),
    ],
)
def test_config_check_refuses_hidden_characters_in_free_text(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    path = write(tmp_path, {**MINIMAL, **change})
    answer = CliRunner().invoke(build_app(), ["config", "check", str(path)])
    assert answer.exit_code == 2
    assert message in answer.output
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path)


def test_free_text_in_any_script_is_taken(tmp_path: Path) -> None:
    """Only characters not shown as themselves are refused: umlauts, Hebrew, Arabic (right to
    left by their own letters, not by a mark) and inner spaces are plain text."""
    purpose = "Kundenservice für Ärzte - שירות לקוחות, خدمة العملاء"
    case = {"name": "bot", "department": "it", "purpose": purpose, "oversight_contact": "Zoë"}
    models = [{**MINIMAL["models"][0], "licence": "Apache-2.0", "owner": "Équipe IT"}]
    config = load_config(write(tmp_path, {**MINIMAL, "use_cases": [case], "models": models}))
    assert config.use_cases[0].purpose == purpose
    assert config.models[0].owner == "Équipe IT"


def test_config_check_names_the_variables_serve_would_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MINIMAL's key reads IT_KEY: unset, the check warns (the file is valid), and with
    ``--env`` (what the service unit runs before each start) it fails as ``serve`` would."""
    path = str(write(tmp_path, {**MINIMAL, "models": [STATED]}))
    runner = CliRunner()
    monkeypatch.delenv("IT_KEY", raising=False)
    warned = runner.invoke(build_app(), ["config", "check", path])
    assert warned.exit_code == 0
    assert "warning: the config references environment variables that are not set: IT_KEY" in (
        warned.output
    )
    strict = runner.invoke(build_app(), ["config", "check", "--env", path])
    assert strict.exit_code == 2
    assert "error: the config references environment variables that are not set: IT_KEY" in (
        strict.output
    )
    monkeypatch.setenv("IT_KEY", "sk-it-0123456789")
    fine = runner.invoke(build_app(), ["config", "check", "--env", path])
    assert fine.exit_code == 0 and "warning" not in fine.output


def test_config_check_warns_about_models_without_hosting_or_lifecycle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Walk 15 (MEDIUM-3): a model appended without hosting and lifecycle was called valid with
    no word, and served as on premises and approved. The file is still valid (exit 0), but the
    check names the models that leave either to its default."""
    monkeypatch.setenv("IT_KEY", "sk-it-0123456789")
    # each its own weights (upstream): ids of the same weights are warned of for themselves
    placed = {**MINIMAL["models"][0], "id": "placed", "upstream": "p", "hosting": "eu_cloud"}
    reviewed = {**MINIMAL["models"][0], "id": "reviewed", "upstream": "r", "lifecycle": "proposed"}
    models = [MINIMAL["models"][0], placed, reviewed, {**STATED, "id": "complete", "upstream": "c"}]
    answer = CliRunner().invoke(
        build_app(), ["config", "check", str(write(tmp_path, {**MINIMAL, "models": models}))]
    )
    assert answer.exit_code == 0
    assert ": valid (1 backends, 4 models" in answer.stdout
    assert "warning: models without hosting: mistral-3-8b, reviewed; they count as the least" in (
        answer.stderr
    )
    assert "warning: models without lifecycle: mistral-3-8b, placed; a model the catalog" in (
        answer.stderr
    )
    assert "complete" not in answer.stderr


def test_serve_says_at_start_which_models_have_no_hosting(tmp_path: Path) -> None:
    """After an upgrade, a config without hosting has its internal requests refused: the start
    names the models and what to do, beside the models line."""
    from stellwerk.cli.serve_summary import startup_summary

    # other weights (upstream): ids of one server's weights must state the same hosting
    placed = {**STATED, "id": "placed", "upstream": "p"}
    config = load_config(write(tmp_path, {**MINIMAL, "models": [MINIMAL["models"][0], placed]}))
    notes = [x for x in startup_summary(config, "http://h:1", "c.yaml") if "hosting" in x]
    assert notes == [
        "note: no hosting stated for mistral-3-8b: they get only data that may go to every"
        " location (by default public); state hosting: on_prem, eu_cloud or non_eu_cloud"
        " (docs/governance.md, Hosting)"
    ]
    stated = load_config(write(tmp_path, {**MINIMAL, "models": [placed]}))
    assert not [x for x in startup_summary(stated, "http://h:1", "c.yaml") if "hosting" in x]


def _many_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A config reading five variables (keys, a token two backends share, the Redis password,
    the session secret), none of them set; its path."""
    token = {"api_key_env": "ENGINE_KEY"}
    raw = {
        **MINIMAL,
        "server": {"redis_url": "redis://redis:6379/0", "redis_password_env": "REDIS_PW"},
        "backends": [
            {**MINIMAL["backends"][0], **token},
            {**MINIMAL["backends"][0], **token, "name": "second"},
        ],
        "departments": [
            {
                **MINIMAL["departments"][0],
                "keys": [
                    {"id": "it-1", "key_env": "IT_KEY"},
                    {"id": "admin", "role": "admin", "key_env": "ADMIN_KEY"},
                ],
            }
        ],
        "dashboard": {"session_secret_env": "SESSION"},
    }
    for name in ("IT_KEY", "ADMIN_KEY", "ENGINE_KEY", "REDIS_PW", "SESSION"):
        monkeypatch.delenv(name, raising=False)
    return str(write(tmp_path, raw))


def test_config_check_names_every_missing_variable_at_once_and_each_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Walk 14 (14-5): the check named the department keys, and only when they were set the
    backends' token, twice (two backends read it), then the next variable: one round each."""
    path = _many_variables(tmp_path, monkeypatch)
    result = CliRunner().invoke(build_app(), ["config", "check", "--env", path])
    assert result.exit_code == 2
    assert (
        "error: the config references environment variables that are not set: "
        "IT_KEY, ADMIN_KEY, ENGINE_KEY, REDIS_PW, SESSION\n"
    ) in result.output
    assert result.output.count("not set") == 1, result.output
    monkeypatch.setenv("SESSION", "short")
    short = CliRunner().invoke(build_app(), ["config", "check", "--env", path])
    assert short.exit_code == 2
    assert "not set: IT_KEY, ADMIN_KEY, ENGINE_KEY, REDIS_PW\n" in short.output
    assert "the secret in SESSION has 5 characters" in short.output


def test_serve_names_every_missing_variable_at_once_as_config_check_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve`` named the variables a group per start (the keys; set them, start again: the
    backends' token; ...); it names them all at once, with the same words as ``config check
    --env``, and refuses before it opens (or creates) the ledger."""
    path = _many_variables(tmp_path, monkeypatch)
    result = CliRunner().invoke(build_app(), ["serve", "--config", path])
    assert result.exit_code == 2
    assert result.output == (
        "error: the config references environment variables that are not set: "
        "IT_KEY, ADMIN_KEY, ENGINE_KEY, REDIS_PW, SESSION\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["stellwerk.yaml"]  # no ledger made
    monkeypatch.setenv("SESSION", "short")
    short = CliRunner().invoke(build_app(), ["serve", "--config", path])
    assert short.exit_code == 2
    assert "not set: IT_KEY, ADMIN_KEY, ENGINE_KEY, REDIS_PW\n" in short.output
    assert "the secret in SESSION has 5 characters" in short.output


def test_config_check_needs_the_dashboards_session_secret_as_serve_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``dashboard.session_secret_env`` is a variable ``serve`` reads (and refuses under 32
    characters): ``config check --env`` said such a config was ready when it was not."""
    path = str(write(tmp_path, {**MINIMAL, "dashboard": {"session_secret_env": "SESSION"}}))
    monkeypatch.setenv("IT_KEY", "sk-it-0123456789")
    monkeypatch.delenv("SESSION", raising=False)
    runner = CliRunner()
    unset = runner.invoke(build_app(), ["config", "check", "--env", path])
    assert unset.exit_code == 2
    assert "environment variables that are not set: SESSION" in unset.output
    monkeypatch.setenv("SESSION", "short")
    short = runner.invoke(build_app(), ["config", "check", "--env", path])
    assert short.exit_code == 2
    assert "the secret in SESSION has 5 characters; use at least 32" in short.output
    with pytest.raises(ConfigError, match="has 5 characters"):
        create_app(load_config(path), environ={"IT_KEY": "sk-it-0123456789", "SESSION": "short"})
    monkeypatch.setenv("SESSION", "s" * 32)
    fine = runner.invoke(build_app(), ["config", "check", "--env", path])
    assert fine.exit_code == 0, fine.output
    off = {**MINIMAL, "dashboard": {"enabled": False, "session_secret_env": "SESSION"}}
    monkeypatch.delenv("SESSION")
    assert (
        runner.invoke(
            build_app(), ["config", "check", "--env", str(write(tmp_path, off))]
        ).exit_code
        == 0
    )


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql+psycopg://u:secret@db:abc/ledger", "port is not a number from 0 to 65535"),
        ("postgresql+psycopg://u@db:70000/ledger", "port is not a number from 0 to 65535"),
        ("stellwerk.db", "not a database URL; give sqlite:///path/to/stellwerk.db"),
        ("mysql://u:secret@db/ledger", "the ledger keeps its records in SQLite or PostgreSQL"),
    ],
)
def test_config_check_names_a_ledger_url_the_ledger_cannot_read(
    tmp_path: Path, url: str, problem: str
) -> None:
    """The ledger's URL is checked with the file (``serve`` crashed on a port that is not a
    number after ``config check`` had said valid); the URL is not echoed (it may hold a
    password)."""
    path = str(write(tmp_path, {**MINIMAL, "server": {"database_url": url}}))
    result = CliRunner().invoke(build_app(), ["config", "check", path])
    assert result.exit_code == 2
    assert f"server.database_url: the database URL's {problem}" in result.output or (
        f"server.database_url: {problem}" in result.output
    )
    assert "secret" not in result.output


def test_a_sqlite_ledger_in_a_folder_that_does_not_exist_is_named_before_serve_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``config check --env`` names the missing folder (it said valid), and ``serve`` says why it
    cannot start in one line, exit 2 (it printed the server's start-up traceback): the same
    line, as serve refuses what the check names."""
    missing = tmp_path / "nowhere" / "ledger.db"
    raw = {**MINIMAL, "server": {"database_url": f"sqlite:///{missing}"}}
    path = str(write(tmp_path, raw))
    monkeypatch.setenv("IT_KEY", "sk-it-0123456789")
    runner = CliRunner()
    checked = runner.invoke(build_app(), ["config", "check", "--env", path])
    assert checked.exit_code == 2
    assert f"the SQLite ledger's folder {missing.parent} does not exist" in checked.output
    served = runner.invoke(build_app(), ["serve", "--config", path, "--port", "0"])
    assert served.exit_code == 2
    assert f"error: server.database_url: the SQLite ledger's folder {missing.parent} does not" in (
        served.output
    )
    assert "Traceback" not in served.output


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///stellwerk.db", "sqlite:////etc/stellwerk/stellwerk.db"),
        ("sqlite:///data/../ledger.db?timeout=5", "sqlite:////etc/stellwerk/ledger.db?timeout=5"),
        ("sqlite:////var/lib/stellwerk/ledger.db", "sqlite:////var/lib/stellwerk/ledger.db"),
        ("sqlite://", "sqlite://"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("sqlite:///file:l.db?mode=rwc&uri=true", "sqlite:///file:l.db?mode=rwc&uri=true"),
        ("postgresql+psycopg://u@db/stellwerk", "postgresql+psycopg://u@db/stellwerk"),
    ],
)
def test_a_relative_sqlite_ledger_lies_in_the_config_files_folder(url: str, expected: str) -> None:
    assert ledger_beside(url, Path("/etc/stellwerk")) == expected


def test_config_check_names_the_record_key_as_the_start_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``router.record_noise_key_env``: a variable not set, then one too short, each refused by
    ``config check --env`` in the start's words."""
    path = str(write(tmp_path, {**MINIMAL, "router": {"record_noise_key_env": "RECORD_KEY"}}))
    monkeypatch.delenv("RECORD_KEY", raising=False)
    monkeypatch.setenv("IT_KEY", "sk-stw-" + "i" * 40)  # MINIMAL's department key
    missing = CliRunner().invoke(build_app(), ["config", "check", "--env", path])
    assert missing.exit_code == 2
    assert "environment variables that are not set: RECORD_KEY\n" in missing.output
    monkeypatch.setenv("RECORD_KEY", "short")
    short = CliRunner().invoke(build_app(), ["config", "check", "--env", path])
    assert short.exit_code == 2
    assert "router.record_noise_key_env: the secret in RECORD_KEY has 5 characters" in short.output
    monkeypatch.setenv("RECORD_KEY", "k" * 32)
    assert CliRunner().invoke(build_app(), ["config", "check", "--env", path]).exit_code == 0


def test_a_route_name_not_starting_with_auto_is_refused_as_the_docs_say() -> None:
    """walk24: the rule was enforced at load, but docs/config.md's ``routes`` row did not state
    it; the row now quotes the refusal the loader gives."""
    raw = {
        **raw_config("http://127.0.0.1:9/v1", "sqlite://"),
        "routes": {"careful": {"cost_weight": 0.5}},
    }
    with pytest.raises(ConfigError) as refused:
        parse_config(raw)
    assert "routes: route 'careful': route names start with 'auto'" in str(refused.value)
    text = (Path(__file__).resolve().parents[2] / "docs" / "config.md").read_text()
    (row,) = [line for line in text.splitlines() if line.startswith("| `routes` |")]
    assert "every name starts with `auto`" in row
    assert "`routes: route 'careful': route names start with 'auto'`" in row
