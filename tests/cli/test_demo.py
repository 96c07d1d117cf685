"""``stellwerk demo``: one command, two lines on stdout, a working endpoint, a clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import openai
import pytest

pytestmark = pytest.mark.llama


def test_demo_prints_two_lines_serves_and_stops_cleanly(llama_server: object) -> None:
    # llama_server: the demo needs llama-cpp-python just as that fixture does (skip or fail alike)
    process = subprocess.Popen(
        [sys.executable, "-m", "stellwerk", "demo", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        second = process.stdout.readline().strip()
        assert first.startswith("OPENAI_BASE_URL=http://127.0.0.1:"), first
        assert first.endswith("/v1")
        assert second.startswith("OPENAI_API_KEY=sk-stw-demo-")
        base_url, key = first.split("=", 1)[1], second.split("=", 1)[1]
        with openai.OpenAI(base_url=base_url, api_key=key, max_retries=0) as client:
            answer = client.chat.completions.create(
                model="auto", messages=[{"role": "user", "content": "Hallo"}], max_tokens=4
            )
        assert answer.choices[0].message.content is not None
        assert answer.model in {"tiny-small", "tiny-medium", "tiny-large"}
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert out == ""  # nothing after the two lines
    assert "random" in err and "stellwerk serve --config" in err
