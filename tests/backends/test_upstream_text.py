"""A backend's error text: short and clean for the client, whole for the log, never the prompt."""

from __future__ import annotations

import orjson

from stellwerk.backends import upstream_text

TRACEBACK = (
    "list index out of range\nTraceback (most recent call last):\n"
    '  File "/opt/venv/lib/python3.11/site-packages/llama_cpp/llama.py", line 1204, in _sample\n'
    "IndexError: list index out of range"
)


def test_the_reason_is_the_text_before_the_traceback_without_paths() -> None:
    assert upstream_text.reason(TRACEBACK) == "list index out of range"
    llama = "1 validation error:\n  {'msg': 'bad'}\n\n  File \"/opt/venv/app.py\", line 3"
    assert upstream_text.reason(llama) == "1 validation error: {'msg': 'bad'}"
    reason = upstream_text.reason(
        "cannot open /srv/models/secret-project/model.gguf: C:\\models\\x.gguf missing"
    )
    assert reason == "cannot open <path>: <path> missing"
    assert upstream_text.reason("x" * 1000).endswith("...")
    assert len(upstream_text.reason("x" * 1000)) == upstream_text.REASON_CHARS
    assert upstream_text.reason("   ") == "no details"


def test_the_message_is_found_in_each_servers_envelope() -> None:
    openai = orjson.dumps({"error": {"message": "bad", "code": "context_length_exceeded"}})
    assert upstream_text.message_of(openai) == "bad"
    assert upstream_text.code_of(openai) == "context_length_exceeded"
    assert upstream_text.message_of(b'{"error": "model not found"}') == "model not found"
    assert upstream_text.message_of(b'{"detail": [{"loc": ["body"]}]}') == '[{"loc":["body"]}]'
    assert upstream_text.message_of(b"<html>502</html>") == "<html>502</html>"


def test_the_log_gets_the_whole_text_without_the_requests_strings() -> None:
    prompt = "Mein geheimes Projekt\n heißt 'Amsel'"
    request = {"model": "m", "messages": [{"role": "user", "content": prompt}]}
    echoed = f"error in {prompt!r} and {orjson.dumps(prompt).decode()} and {prompt[:30]}..."
    logged = upstream_text.for_log(TRACEBACK + "\n" + echoed, request)
    assert "site-packages/llama_cpp/llama.py" in logged
    assert "geheimes" not in logged and "Amsel" not in logged
