"""``/v1/embeddings`` through the official ``openai`` library, in front of the real llama.cpp
server: an input is embedded whole or refused, as OpenAI's API does, never cut silently."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from typing import Any

import openai
import pytest

from tests.fixtures.gateway import KEYS, Gateway, add_ollama_backend, in_process
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.loopback import (
    OLLAMA_TOO_LONG,
    failing_tokenizer,
    ollama_embed_server,
    recording_proxy,
    slow_embeddings,
)

pytestmark = pytest.mark.llama

# tiny-embed: context_length 1024 in the config, one token per byte (and one to begin with);
# its llama.cpp server embeds at most its batch, 512 tokens, of an input, whatever it is asked
SAME_START = "wort " * 120  # 600 bytes
CANCELLED, VALID = SAME_START + "Der Vertrag ist gekündigt.", SAME_START + "Der Vertrag gilt."
LONG = "Zeile " * 250  # 1500 bytes: over the context
TOKENIZE = "/extras/tokenize/count"


def told(error: openai.APIStatusError) -> str:
    """The error's message as the gateway sent it (the library's has the status before it)."""
    assert isinstance(error.body, dict)
    return str(error.body["message"])


@pytest.fixture
def client(gateway: Gateway) -> Iterator[openai.OpenAI]:
    with closing(gateway.openai(KEYS["research"], max_retries=0)) as made:
        yield made


def test_an_input_the_backend_would_cut_is_refused_as_openai_refuses_it(
    client: openai.OpenAI,
) -> None:
    """Two documents that differ after the backend's 512 tokens were answered with the same
    vector (status 200). Now each is refused in OpenAI's words, which client libraries know
    ("maximum context length"), code ``context_length_exceeded``, naming the input."""
    for sent, where in (
        (CANCELLED, "input"),
        ([CANCELLED, VALID], "input.0"),
        (["kurz", VALID], "input.1"),
    ):
        with pytest.raises(openai.BadRequestError) as caught:
            client.embeddings.create(model="tiny-embed", input=sent)
        assert caught.value.code == "context_length_exceeded"
        assert caught.value.param == where
        assert told(caught.value).startswith(
            f"{where}: This model's maximum context length is 512 tokens, however you requested "
        )
        assert "would cut it" in told(caught.value)
        assert '"truncate": true' in told(caught.value)
    served = client.embeddings.create(model="tiny-embed", input=[SAME_START[:500], "kurz"])
    assert len(served.data) == 2


def test_the_first_refusal_of_an_input_over_the_context_names_the_limit_that_applies(
    client: openai.OpenAI,
) -> None:
    """The backend embeds at most 512 tokens, below the model's context of 1024: the first
    refusal names 512 (it named 1024, and an input shortened to 1024 was refused again), and
    an input shortened to what it named is embedded."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="tiny-embed", input=["kurz", LONG])
    assert caught.value.code == "context_length_exceeded"
    assert caught.value.param == "input.1"
    assert told(caught.value) == (
        "input.1: This model's maximum context length is 512 tokens, however you requested"
        " 1501 tokens (the length of input.1); the backend of model 'tiny-embed' embeds at most"
        " 512 tokens of an input (less than the model's context length of 1024) and would cut"
        ' it. Please shorten the input, or send "truncate": true to have it cut.'
    )
    shortened = "Zeile " * 85  # 510 bytes: 511 tokens, within the named limit
    assert len(client.embeddings.create(model="tiny-embed", input=["kurz", shortened]).data) == 2


def test_a_context_below_the_backends_limit_is_the_limit_named(
    gateway_raw: dict[str, Any],
) -> None:
    """Where the configured context is the smaller limit, the refusal names the context."""
    embed = next(m for m in gateway_raw["models"] if m["id"] == "tiny-embed")
    embed["context_length"] = 256
    with (
        in_process(gateway_raw) as gw,
        closing(gw.openai(KEYS["research"], max_retries=0)) as c,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        c.embeddings.create(model="tiny-embed", input=LONG)
    assert told(caught.value) == (
        "input: This model's maximum context length is 256 tokens, however you requested 1501"
        ' tokens (the length of input). Please shorten the input, or send "truncate": true to'
        " have it cut."
    )


@pytest.mark.parametrize("truncate", [True, "END", "START"])
def test_truncate_lets_the_backend_cut_an_input(
    client: openai.OpenAI, truncate: bool | str
) -> None:
    """The opt-out (``truncate: true``, or NVIDIA NIM's ``"START"``/``"END"``): the backend
    cuts the input (llama.cpp at its batch, whatever the value), as before; no count is asked."""
    cut = client.embeddings.create(
        model="tiny-embed", input=[CANCELLED, VALID], extra_body={"truncate": truncate}
    )
    assert cut.data[0].embedding == cut.data[1].embedding  # what the backend's cut does
    assert cut.usage.prompt_tokens == 1024


@pytest.mark.parametrize("truncate", [False, "NONE"])
def test_truncate_false_is_what_the_endpoint_does_unasked(
    client: openai.OpenAI, truncate: bool | str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="tiny-embed", input=VALID, extra_body={"truncate": truncate})
    assert caught.value.code == "context_length_exceeded"


@pytest.mark.parametrize(
    ("sent", "asked"),
    [
        (["kurz", "zwei Wörter", "drei"], ["/v1/embeddings"] + [TOKENIZE] * 3),
        ([LONG], [TOKENIZE, "/v1/embeddings", TOKENIZE]),
    ],
    ids=["short", "long-twice"],
)
def test_the_tokenizer_is_asked_once_per_input(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend, sent: list[str], asked: list[str]
) -> None:
    """What the check costs the backend: one tokenize request per input, after the embedding
    (before it only for an input whose bytes may be over the context, refused unembedded: the
    first time, the input alone is embedded once, to learn the backend's own limit for the
    refusal's words; the second refusal knows it)."""
    with recording_proxy(llama_server.base_url) as upstream:
        gateway_raw["backends"][0]["base_url"] = upstream.url
        with in_process(gateway_raw) as gw, closing(gw.openai(KEYS["research"])) as c:
            if LONG in sent:
                for _ in range(2):
                    with pytest.raises(openai.BadRequestError, match="is 512 tokens"):
                        c.embeddings.create(model="tiny-embed", input=sent)
            else:
                assert len(c.embeddings.create(model="tiny-embed", input=sent).data) == 3
    assert [path for path in upstream.paths if path in (TOKENIZE, "/v1/embeddings")] == asked


@pytest.mark.parametrize(
    ("fault", "status"), [("stall", 504), ("fail", 502)], ids=["stalled", "failed"]
)
def test_a_tokenizer_that_fails_is_the_backend_failing(
    gateway_raw: dict[str, Any], fault: str, status: int
) -> None:
    """The check is part of the call: a tokenizer that stalls or fails is the backend's 504 or
    502, never an unchecked vector."""
    llama = gateway_raw["backends"][0]
    with failing_tokenizer(llama["base_url"], fault) as upstream:
        llama["base_url"] = upstream.url
        llama["timeouts"] = {"connect": 10, "first_token": 3, "total": 6}
        with (
            in_process(gateway_raw) as gw,
            closing(gw.openai(KEYS["research"], max_retries=0, timeout=60)) as c,
            pytest.raises(openai.APIStatusError) as caught,
        ):
            c.embeddings.create(model="tiny-embed", input="kurz")
    assert caught.value.status_code == status
    assert told(caught.value).startswith("backend 'llamacpp': ")
    assert any(path.startswith("/extras/tokenize") for path in upstream.paths)


def test_a_backend_too_slow_for_the_probe_leaves_the_context_named(
    gateway_raw: dict[str, Any],
) -> None:
    """An input over the context is refused whatever the backend says; the probe of the
    backend's own limit (the input embedded alone) gets half the call's total time (at most
    30 s). A backend that did not answer it within the total (its first byte's limit longer)
    turned a certain 400 into a 504; now the refusal names the context, and the next over-long
    input is refused without a probe."""
    llama = gateway_raw["backends"][0]
    with slow_embeddings(llama["base_url"], after_s=30) as upstream:
        llama["base_url"] = upstream.url
        llama["timeouts"] = {"connect": 10, "first_token": 20, "total": 6}
        with (
            in_process(gateway_raw) as gw,
            closing(gw.openai(KEYS["research"], max_retries=0, timeout=60)) as c,
        ):
            for _ in range(2):
                with pytest.raises(openai.BadRequestError) as caught:
                    c.embeddings.create(model="tiny-embed", input=["kurz", LONG])
                assert caught.value.code == "context_length_exceeded"
                assert told(caught.value).startswith(
                    "input.1: This model's maximum context length is 1024 tokens, however you"
                    " requested 1501 tokens"
                )
    assert upstream.paths.count("/v1/embeddings") == 1  # probed once, never answered


def test_an_ollama_backend_is_asked_not_to_cut(gateway_raw: dict[str, Any]) -> None:
    """An Ollama server cannot be asked for a count, and cuts an input unless told
    ``truncate: false``: the gateway tells it so, and its refusal is the client's 400. With
    ``truncate: true`` the client's word goes on."""
    with ollama_embed_server(context=1024) as upstream:
        add_ollama_backend(gateway_raw, upstream.url, "ollama-embed", like=3)
        with in_process(gateway_raw) as gw, closing(gw.openai(KEYS["research"])) as c:
            with pytest.raises(openai.BadRequestError) as caught:
                c.embeddings.create(model="ollama-embed", input=LONG)
            cut = c.embeddings.create(
                model="ollama-embed", input=LONG, extra_body={"truncate": True}
            )
    assert caught.value.code == "context_length_exceeded"
    assert OLLAMA_TOO_LONG in told(caught.value)
    assert len(cut.data) == 1
    assert [body.get("truncate") for body in upstream.bodies] == [False, True]


@pytest.mark.parametrize(
    ("sent", "param", "said"),
    [
        ("", "input", "input: the text to embed is empty; send a non-empty string"),
        ([], "input", "input: the list of texts to embed is empty; send at least one"),
        (["a", ""], "input.1", "input.1: the text to embed is empty; send a non-empty string"),
        ([[1, 2, 3]], "input", "input: token ids are not supported; send the input as text"),
        ([1, 2, 3], "input", "input: token ids are not supported; send the input as text"),
    ],
    ids=["empty", "empty-list", "empty-item", "token-id-lists", "token-ids"],
)
def test_what_cannot_be_embedded_is_told_plainly(
    client: openai.OpenAI, sent: Any, param: str, said: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="tiny-embed", input=sent)
    assert caught.value.param == param
    assert told(caught.value).startswith(said)


def test_more_inputs_than_the_limit_are_refused_before_the_backend_is_asked(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    """100,000 tiny inputs held the embedding backend for 139 s (an embedding and a tokenize
    call each). More than ``server.limits.max_embedding_inputs`` are a 400 naming ``input``, as
    OpenAI's API refuses more than 2048, before any backend is asked; the refusal is counted."""
    gateway_raw["server"]["limits"] = {"max_embedding_inputs": 3}
    with recording_proxy(llama_server.base_url) as upstream:
        gateway_raw["backends"][0]["base_url"] = upstream.url
        with in_process(gateway_raw) as gw, closing(gw.openai(KEYS["research"])) as c:
            assert len(c.embeddings.create(model="tiny-embed", input=["a", "b", "c"]).data) == 3
            asked = len(upstream.paths)
            with pytest.raises(openai.BadRequestError) as caught:
                c.embeddings.create(model="tiny-embed", input=["a", "b", "c", "d"])
            assert len(upstream.paths) == asked
    assert (caught.value.param, caught.value.code) == ("input", "too_many_inputs")
    assert told(caught.value) == (
        "input: too many texts to embed: 4 (limit 3); send them in several requests"
    )
    ledger = gw.ledger()  # written when the gateway stopped
    records = sorted((r.endpoint, r.status, r.error_kind) for r in ledger.recent_usage())
    ledger.close()
    assert records == [("embeddings", 200, None), ("embeddings", 400, "too_many_inputs")]


def test_the_default_limit_is_openais_2048_inputs(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="tiny-embed", input=["x"] * 2049)
    assert caught.value.code == "too_many_inputs"
    assert "2049 (limit 2048)" in told(caught.value)
