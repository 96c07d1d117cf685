"""A little sample traffic for the demo: both APIs, plain and streamed, named models and routes."""

from __future__ import annotations

import httpx

from stellwerk.errors import StellwerkError


def send_sample_traffic(base_url: str, key: str) -> int:
    """Send a handful of requests; return how many were answered. Raises if any fails."""
    auth = {"authorization": f"Bearer {key}"}
    prompts = [
        ("auto", "Wie viele Tage hat ein Schaltjahr?"),
        ("auto-economy", "Translate 'good morning' into German."),
        ("auto-quality", "Prove that the square root of two is irrational."),
        ("tiny-small", "Hello!"),
    ]
    sent = 0
    with httpx.Client(base_url=base_url, headers=auth, timeout=120) as client:
        for model, text in prompts:
            body = {"model": model, "messages": [{"role": "user", "content": text}]}
            _check(client.post("/v1/chat/completions", json={**body, "max_tokens": 12}))
            sent += 1
        streamed = {"model": "auto", "messages": [{"role": "user", "content": "Tell a story."}]}
        with client.stream(
            "POST", "/v1/chat/completions", json={**streamed, "stream": True, "max_tokens": 12}
        ) as response:
            _check(response)
            for _ in response.iter_lines():
                pass
        sent += 1
        ollama = {**streamed, "stream": False, "options": {"num_predict": 12}}
        _check(client.post("/api/chat", json=ollama))
        _check(client.post("/v1/embeddings", json={"model": "tiny-embed", "input": "Stellwerk"}))
        sent += 2
    return sent


def _check(response: httpx.Response) -> None:
    if response.status_code != 200:
        response.read()
        raise StellwerkError(
            f"sample request to {response.url.path} failed: HTTP {response.status_code} "
            f"{response.text[:200]}"
        )
