"""The official ``ollama`` library against a real gateway in front of the real llama.cpp server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, closing
from typing import Any, TypedDict

import ollama
import pytest

from tests.fixtures.gateway import KEYS, Gateway, add_ollama_backend, bearer, in_process
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.loopback import (
    OLLAMA_TOO_LONG,
    failing_tokenizer,
    ollama_embed_server,
    recording_proxy,
)

pytestmark = pytest.mark.llama


class Embeddings(TypedDict, total=False):
    """What the ``ollama`` library's ``embeddings`` is asked."""

    model: str
    prompt: str


@pytest.fixture
def clients(gateway: Gateway) -> Iterator[dict[str, ollama.Client]]:
    with ExitStack() as stack:
        yield {
            dept: stack.enter_context(
                closing(gateway.ollama(headers={"authorization": f"Bearer {key}"}))
            )
            for dept, key in KEYS.items()
        }


def test_chat_not_streamed(clients: dict[str, ollama.Client]) -> None:
    reply = clients["research"].chat(
        model="tiny-large",
        messages=[{"role": "user", "content": "Guten Morgen"}],
        stream=False,
        options={"num_predict": 5, "temperature": 0.2},
    )
    assert reply.model == "tiny-large"
    assert reply.done is True
    assert isinstance(reply.message.content, str)
    assert reply.prompt_eval_count and reply.prompt_eval_count > 0
    assert reply.eval_count is not None and 0 < reply.eval_count <= 5


def test_chat_streamed_ends_with_counts(clients: dict[str, ollama.Client]) -> None:
    parts = list(
        clients["research"].chat(
            model="tiny-small",
            messages=[{"role": "user", "content": "Erzähl mir etwas."}],
            stream=True,
            options={"num_predict": 6},
        )
    )
    assert parts[-1].done is True
    assert all(p.done is False for p in parts[:-1])
    pieces = [p for p in parts[:-1] if p.message.content]
    assert pieces
    assert parts[-1].eval_count == len(pieces)
    assert parts[-1].done_reason in {"stop", "length"}


def test_embed(clients: dict[str, ollama.Client]) -> None:
    result = clients["research"].embed(model="tiny-embed", input=["a", "b"])
    assert len(result.embeddings) == 2


# tiny-embed: context_length 1024 in the config, one token per byte (and one to begin with);
# its llama.cpp server cuts an input at its batch of 512 tokens, whatever the request says
LONG = "Zeile " * 250  # 1500 bytes


def test_embed_truncates_a_long_input_unless_told_not_to(
    clients: dict[str, ollama.Client],
) -> None:
    """Ollama's ``truncate``: by default an input over the model's context is cut and embedded;
    with ``truncate=False`` it is refused, as Ollama refuses it (400, its error format), and
    the error says which input, by how much, and what to do: the limit it names is the one
    that applies, the backend's 512 tokens (below the context), from the first refusal on."""
    c = clients["research"]
    assert len(c.embed(model="tiny-embed", input=LONG).embeddings) == 1
    assert len(c.embed(model="tiny-embed", input=LONG, truncate=True).embeddings) == 1
    assert len(c.embed(model="tiny-embed", input=["kurz"], truncate=False).embeddings) == 1
    for sent, where in ((LONG, "input"), (["kurz", LONG], "input.1")):
        with pytest.raises(ollama.ResponseError) as caught:
            c.embed(model="tiny-embed", input=sent, truncate=False)
        assert caught.value.status_code == 400
        assert caught.value.error == (
            f"{where}: the input length (1501 tokens) exceeds what the backend of model"
            " 'tiny-embed' embeds (512 tokens, less than the model's context length of 1024); it"
            " would be cut, and truncate is false: shorten the input, or leave out truncate to"
            " have it cut"
        )
    shortened = "Zeile " * 85  # 510 bytes: 511 tokens, within what the refusal named
    assert len(c.embed(model="tiny-embed", input=shortened, truncate=False).embeddings) == 1


@pytest.mark.parametrize(
    ("sent", "said"),
    [
        ("", "input: the text to embed is empty; send a non-empty string"),
        (["a", ""], "input.1: the text to embed is empty; send a non-empty string"),
        ([], "input: the list of texts to embed is empty; send at least one"),
    ],
    ids=["empty", "empty-item", "empty-list"],
)
def test_embed_an_empty_input_is_told_so(
    clients: dict[str, ollama.Client], sent: str | list[str], said: str
) -> None:
    """Ollama loads the model for an empty input; the gateway loads none, and says why it
    refuses (it said "Value should have at least 1 item after validation, not 0")."""
    with pytest.raises(ollama.ResponseError) as caught:
        clients["research"].embed(model="tiny-embed", input=sent)
    assert caught.value.status_code == 400
    assert caught.value.error == said


MIDDLE = "Zeile " * 100  # 600 bytes: within the context, over the server's batch


def test_embed_without_truncation_refuses_an_input_the_backend_would_cut(
    gateway: Gateway, clients: dict[str, ollama.Client]
) -> None:
    """An input within the configured context that the backend cuts at a smaller limit of its
    own (llama.cpp embeds at most its batch) is refused as well with ``truncate=False``: the
    answer's count of tokens evaluated is less than the input has. Ollama's older
    ``/api/embeddings`` reads ``truncate`` the same way; with it left out, both cut."""
    c = clients["research"]
    assert c.embed(model="tiny-embed", input=MIDDLE).prompt_eval_count == 512
    for sent, where in ((MIDDLE, "input"), (["kurz", MIDDLE], "input.1")):
        with pytest.raises(ollama.ResponseError) as caught:
            c.embed(model="tiny-embed", input=sent, truncate=False)
        assert caught.value.status_code == 400
        assert caught.value.error == (
            f"{where}: the input length (601 tokens) exceeds what the backend of model"
            " 'tiny-embed' embeds (512 tokens, less than the model's context length of 1024);"
            " it would be cut, and truncate is false: shorten the input, or leave out truncate"
            " to have it cut"
        )
    assert len(c.embed(model="tiny-embed", input=MIDDLE[:500], truncate=False).embeddings) == 1
    body: Embeddings = {"model": "tiny-embed", "prompt": MIDDLE}
    assert len(c.embeddings(**body).embedding) > 0
    older = gateway.post(
        "/api/embeddings", json={**body, "truncate": False}, headers=bearer(KEYS["research"])
    )
    assert older.status_code == 400
    assert older.json()["error"].startswith("prompt: the input length (601 tokens) exceeds")


SHORT = [f"ein kurzer Satz {n}" for n in range(8)]
TOKENIZE = "/extras/tokenize/count"


@pytest.mark.parametrize(
    ("sent", "asked"),
    [
        (SHORT, ["/v1/embeddings"] + [TOKENIZE] * len(SHORT)),
        ([LONG], [TOKENIZE, "/v1/embeddings"]),
        (["kurz", LONG], [TOKENIZE, "/v1/embeddings"]),
    ],
    ids=["short", "long", "short-and-long"],
)
def test_embed_without_truncation_asks_the_tokenizer_once_per_input_it_must_count(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend, sent: list[str], asked: list[str]
) -> None:
    """What ``truncate=False`` costs the backend: an input whose bytes fit the context is not
    counted before the call; an input longer is, and refused without the request's embedding
    call (that input alone is embedded once, to learn the backend's own limit, which the
    refusal names; a second such refusal asks no more: ``test_openai_embeddings``). After
    the call every input is counted once: the answer's total cannot tell a short input from
    one the backend cut at a limit of its own."""
    with recording_proxy(llama_server.base_url) as upstream:
        gateway_raw["backends"][0]["base_url"] = upstream.url
        with (
            in_process(gateway_raw) as gw,
            closing(gw.ollama(headers={"authorization": f"Bearer {KEYS['research']}"})) as c,
        ):
            if LONG in sent:
                with pytest.raises(ollama.ResponseError) as caught:
                    c.embed(model="tiny-embed", input=sent, truncate=False)
                assert caught.value.status_code == 400
            else:
                assert len(c.embed(model="tiny-embed", input=sent, truncate=False).embeddings) == 8
    assert [path for path in upstream.paths if path in (TOKENIZE, "/v1/embeddings")] == asked


@pytest.mark.parametrize(
    ("fault", "status"), [("stall", 504), ("fail", 502)], ids=["stalled", "failed"]
)
@pytest.mark.parametrize("sent", [["kurz"], LONG], ids=["after-the-call", "before-the-call"])
def test_embed_without_truncation_fails_as_its_backend_when_its_tokenizer_does(
    gateway_raw: dict[str, Any], fault: str, status: int, sent: str | list[str]
) -> None:
    """The backend's tokenizer, asked whether an input may be embedded whole (before the call
    for one longer than the context's bytes, after it for every other), is part of the call:
    one that stalls or fails is the backend's 504 or 502 in Ollama's format, counted against
    the backend, and a later request asks it again. (It used to be taken for a server without
    a tokenizer, for good: the input went unchecked, and the backend's cut vector was the
    200.)"""
    llama = gateway_raw["backends"][0]
    with failing_tokenizer(llama["base_url"], fault) as upstream:
        llama["base_url"] = upstream.url
        llama["timeouts"] = {"connect": 10, "first_token": 3, "total": 60}
        with (
            in_process(gateway_raw) as gw,
            closing(gw.ollama(headers={"authorization": f"Bearer {KEYS['research']}"})) as c,
        ):
            for _ in range(2):
                with pytest.raises(ollama.ResponseError) as caught:
                    c.embed(model="tiny-embed", input=sent, truncate=False)
                assert caught.value.status_code == status
                assert caught.value.error.startswith("backend 'llamacpp': ")
    ledger = gw.ledger()  # written when the gateway stopped
    records = [(r.status, r.error_kind) for r in ledger.recent_usage()]
    ledger.close()
    kind = {"stall": "backend_timeout", "fail": "backend_failed"}[fault]
    assert records == [(status, kind)] * 2
    assert sum(path.startswith("/extras/tokenize") for path in upstream.paths) == 2


def test_embed_without_truncation_is_refused_by_an_ollama_backend_as_ollama_refuses_it(
    gateway_raw: dict[str, Any],
) -> None:
    """An Ollama server behind the gateway cannot be asked for a token count: it is asked not
    to cut (``truncate: false`` passed on), and its refusal is the client's 400."""
    with ollama_embed_server(context=1024) as upstream:
        add_ollama_backend(gateway_raw, upstream.url, "ollama-embed", like=3)
        with (
            in_process(gateway_raw) as gw,
            closing(gw.ollama(headers={"authorization": f"Bearer {KEYS['research']}"})) as c,
        ):
            assert len(c.embed(model="ollama-embed", input=LONG).embeddings) == 1
            with pytest.raises(ollama.ResponseError) as caught:
                c.embed(model="ollama-embed", input=LONG, truncate=False)
    assert caught.value.status_code == 400
    assert "context" in caught.value.error and OLLAMA_TOO_LONG in caught.value.error
    assert [body.get("truncate") for body in upstream.bodies] == [None, False]


def test_embed_dimensions_are_asked_of_the_backend_and_held(
    gateway_raw: dict[str, Any], clients: dict[str, ollama.Client]
) -> None:
    """Ollama's ``dimensions``: passed on; an Ollama backend that shortens the vectors is
    served, llama.cpp (which answers them whole) is a 400 naming ``dimensions`` and its size."""
    size = len(clients["research"].embed(model="tiny-embed", input="a").embeddings[0])
    with pytest.raises(ollama.ResponseError) as caught:
        clients["research"].embed(model="tiny-embed", input="a", dimensions=8)
    assert caught.value.status_code == 400
    assert caught.value.error.startswith("dimensions: 8 asked for")
    assert f"answers vectors of {size} dimensions" in caught.value.error
    with ollama_embed_server(context=1024) as upstream:
        add_ollama_backend(gateway_raw, upstream.url, "ollama-embed", like=3)
        with (
            in_process(gateway_raw) as gw,
            closing(gw.ollama(headers={"authorization": f"Bearer {KEYS['research']}"})) as c,
        ):
            shortened = c.embed(model="ollama-embed", input=["a", "b"], dimensions=3)
    assert [len(v) for v in shortened.embeddings] == [3, 3]
    assert upstream.bodies[-1]["dimensions"] == 3


@pytest.mark.parametrize("length", [0, -3, -100])
@pytest.mark.parametrize("endpoint", ["chat", "generate"])
def test_num_predict_ollama_defines_no_meaning_for_is_refused(
    clients: dict[str, ollama.Client], length: int, endpoint: str
) -> None:
    """``num_predict``: a count, -1 (no limit) or -2 (fill the context); 0 and below -2 were
    read as no limit (an answer to the end of the context), now a 400 naming the option."""
    c = clients["research"]
    options = {"num_predict": length}
    with pytest.raises(ollama.ResponseError) as caught:
        if endpoint == "chat":
            c.chat(
                model="tiny-small", messages=[{"role": "user", "content": "Hi"}], options=options
            )
        else:
            c.generate(model="tiny-small", prompt="Hi", options=options)
    assert caught.value.status_code == 400
    assert caught.value.error.startswith(f"options.num_predict: {length} is not a length")


def test_embeddings_of_one_prompt_is_the_vector_embed_gives(
    clients: dict[str, ollama.Client],
) -> None:
    """The library's older ``embeddings()`` (``/api/embeddings``): one vector for one prompt,
    the one ``embed()`` gives for the same text."""
    c = clients["research"]
    older = c.embeddings(model="tiny-embed", prompt="Guten Morgen")
    newer = c.embed(model="tiny-embed", input="Guten Morgen").embeddings[0]
    assert len(older.embedding) == len(newer) > 0
    assert list(older.embedding) == pytest.approx(list(newer))
    assert len(c.embeddings(model="tiny-embed:latest", prompt="a").embedding) == len(newer)


@pytest.mark.parametrize(
    ("department", "asked", "status", "text"),
    [
        # Ollama answers an empty prompt with an empty vector (it loads the model); here it is
        # refused, as /api/embed refuses an empty input
        ("research", {"model": "tiny-embed"}, 400, "prompt: Field required"),
        ("research", {"model": "tiny-embed", "prompt": ""}, 400, "prompt: the text to embed is"),
        ("research", {"model": "auto", "prompt": "x"}, 400, "name an embedding model"),
        ("research", {"model": "tiny-small", "prompt": "x"}, 400, "does not support embeddings"),
        ("research", {"model": "nope", "prompt": "x"}, 404, "GET /api/tags"),
        # one legal may not use is as unknown to it as one that does not exist
        ("legal", {"model": "tiny-embed", "prompt": "x"}, 404, "GET /api/tags"),
    ],
)
def test_embeddings_refuses_as_embed_does_in_ollamas_format(
    clients: dict[str, ollama.Client],
    department: str,
    asked: Embeddings,
    status: int,
    text: str,
) -> None:
    with pytest.raises(ollama.ResponseError) as info:
        clients[department].embeddings(**asked)
    assert info.value.status_code == status
    assert isinstance(info.value.error, str) and text in info.value.error


def test_list_ps_show_version(gateway: Gateway, clients: dict[str, ollama.Client]) -> None:
    c = clients["legal"]
    listed = [m.model for m in c.list().models]
    # the routes first (Open WebUI preselects the first entry), then the model legal may use,
    # each named with its tag as Ollama lists models
    assert set(listed[:3]) == {"auto:latest", "auto-economy:latest", "auto-quality:latest"}
    assert listed[3:] == ["tiny-small:latest"]
    tags = gateway.get("/api/tags", headers=bearer(KEYS["legal"])).json()["models"]
    assert [m["name"] for m in tags] == listed  # the library reads model, other clients name
    running = c.ps().models
    assert [m.model for m in running] == ["tiny-small:latest"]  # routes are not loaded models
    assert running[0].name == "tiny-small:latest" and running[0].expires_at is not None
    assert running[0].context_length == 1024
    shown = c.show("tiny-small")
    assert shown.capabilities is not None and "completion" in shown.capabilities
    version = gateway.get("/api/version").json()["version"]
    assert tuple(int(p) for p in version.split(".")) >= (0, 5, 0)


def test_forbidden_model_is_an_ollama_error(clients: dict[str, ollama.Client]) -> None:
    """A model legal may not use is one it is not told of: Ollama's 404, as for no such model."""
    with pytest.raises(ollama.ResponseError) as info:
        clients["legal"].chat(
            model="tiny-large", messages=[{"role": "user", "content": "x"}], stream=False
        )
    assert info.value.status_code == 404
    assert info.value.error.startswith("model 'tiny-large' does not exist;")


def test_show_hides_a_model_the_key_may_not_use_as_ollama_answers_an_unknown_one(
    gateway: Gateway, clients: dict[str, ollama.Client]
) -> None:
    """``/api/show`` of a model the key may not use was a 403 naming it and the allow-list,
    where ``/api/tags`` leaves it out and ``/v1/models/{model}`` hides it with a 404: it is
    answered as Ollama answers an unknown model, word for word the same as one."""
    refused: dict[str, ollama.ResponseError] = {}
    for name in ("tiny-large", "tiny-nope"):
        with pytest.raises(ollama.ResponseError) as info:
            clients["legal"].show(name)
        refused[name] = info.value
        assert (info.value.status_code, info.value.error) == (404, f"model '{name}' not found")
    assert "legal" not in refused["tiny-large"].error
    hidden = gateway.get("/v1/models/tiny-large", headers=bearer(KEYS["legal"]))
    assert hidden.status_code == 404
    assert clients["research"].show("tiny-large").capabilities is not None  # research may


def test_generate_plain_and_streamed(clients: dict[str, ollama.Client]) -> None:
    c = clients["research"]
    reply = c.generate(
        model="tiny-medium",
        prompt="Schreibe ein Haiku.",
        system="Du bist ein Dichter.",
        stream=False,
        options={"num_predict": 4},
    )
    assert reply.done and reply.model == "tiny-medium"
    assert isinstance(reply.response, str)
    assert reply.eval_count == 4
    parts = list(c.generate(model="auto", prompt="Hallo", options={"num_predict": 3}, stream=True))
    assert parts[-1].done and parts[-1].eval_count == len([p for p in parts[:-1] if p.response])


def test_generate_raw_sends_the_prompt_without_the_template(
    gateway: Gateway, clients: dict[str, ollama.Client]
) -> None:
    """``raw: true`` is a plain completion: the model reads the prompt's own tokens only, as
    ``/v1/completions`` sends it; without ``raw`` the chat template is around it."""
    c = clients["research"]
    options = {"num_predict": 2}
    raw = c.generate(model="tiny-small", prompt="x", raw=True, stream=False, options=options)
    templated = c.generate(model="tiny-small", prompt="x", stream=False, options=options)
    with gateway.openai(KEYS["research"], max_retries=0) as client:
        completion = client.completions.create(model="tiny-small", prompt="x", max_tokens=2)
    assert completion.usage is not None
    assert raw.prompt_eval_count == completion.usage.prompt_tokens
    assert templated.prompt_eval_count is not None and raw.prompt_eval_count is not None
    assert templated.prompt_eval_count > raw.prompt_eval_count
    streamed = list(c.generate(model="auto", prompt="x", raw=True, stream=True, options=options))
    assert streamed[-1].prompt_eval_count == raw.prompt_eval_count
    assert streamed[-1].model == "tiny-small"  # the only model with the completion capability


def test_generate_raw_without_num_predict_runs_past_the_servers_default(
    clients: dict[str, ollama.Client],
) -> None:
    """No ``num_predict`` (or -1, -2) is Ollama's "no limit": a raw prompt is not stopped at
    the 16 tokens a text completion's server makes without ``max_tokens``."""
    c = clients["research"]
    for options in ({"seed": 3}, {"seed": 3, "num_predict": -1}, {"seed": 3, "num_predict": -2}):
        reply = c.generate(model="tiny-small", prompt="Once", raw=True, options=options)
        assert reply.eval_count is not None and reply.eval_count > 16, (options, reply)


@pytest.mark.parametrize(
    ("fields", "status", "text"),
    [
        ({"model": "tiny-medium", "raw": True}, 400, "completion"),
        ({"raw": True, "system": "Du bist ein Dichter."}, 400, "system"),
        ({"template": "{{ .Prompt }}"}, 400, "template: a prompt template"),
        ({"suffix": "    return gcd"}, 400, "suffix: fill-in-the-middle is not supported"),
        ({"suffix": "x", "raw": True}, 400, "suffix: fill-in-the-middle is not supported"),
        ({"context": [1, 2, 3]}, 400, "send the conversation as messages to /api/chat"),
        ({"context": [1], "raw": True}, 400, "context: the conversation state"),
    ],
)
def test_generate_refuses_what_it_cannot_do_as_asked(
    clients: dict[str, ollama.Client], fields: dict[str, object], status: int, text: str
) -> None:
    asked: dict[str, object] = {"model": "tiny-small", "prompt": "x", "stream": False, **fields}
    with pytest.raises(ollama.ResponseError) as info:
        clients["research"].generate(**asked)  # type: ignore[call-overload]
    assert info.value.status_code == status
    assert text in info.value.error


def test_generate_takes_an_empty_context_or_suffix_as_absent(
    clients: dict[str, ollama.Client],
) -> None:
    """A client's first turn may send ``"context": []`` (and an empty ``suffix``): nothing to
    honour, and Ollama reads them as absent too."""
    c = clients["research"]
    options = {"num_predict": 2}
    plain = c.generate(model="tiny-small", prompt="x", stream=False, options=options)
    empty = c.generate(
        model="tiny-small", prompt="x", context=[], suffix="", stream=False, options=options
    )
    assert empty.done and empty.prompt_eval_count == plain.prompt_eval_count


def test_a_route_from_the_list_is_shown_and_answers(clients: dict[str, ollama.Client]) -> None:
    c = clients["research"]
    listed = c.list().models
    routes = [m for m in listed if m.details and m.details.format == "stellwerk-route"]
    names = {m.model for m in routes}
    assert names == {"auto:latest", "auto-economy:latest", "auto-quality:latest"}
    # routes first, so that a client preselecting the first entry (Open WebUI) picks a route
    assert listed[: len(routes)] == routes
    shown = c.show("auto")
    assert shown.capabilities is not None
    assert "completion" in shown.capabilities and "tools" in shown.capabilities
    reply = c.chat(
        model="auto", messages=[{"role": "user", "content": "Hallo"}], options={"num_predict": 3}
    )
    assert reply.done is True and reply.model in {"tiny-small", "tiny-medium", "tiny-large"}


def test_a_name_with_the_default_tag_is_the_model_without_it(
    clients: dict[str, ollama.Client],
) -> None:
    """Ollama treats ``x`` and ``x:latest`` as one model, and its clients may add the tag: a
    model, a route and an embedding model answer to either name; another tag is still unknown."""
    c = clients["research"]
    named = c.chat(
        model="tiny-small:latest",
        messages=[{"role": "user", "content": "Hallo"}],
        stream=False,
        options={"num_predict": 2},
    )
    assert named.model == "tiny-small"
    routed = c.generate(
        model="auto:latest", prompt="Hallo", stream=False, options={"num_predict": 2}
    )
    assert routed.done
    assert len(c.embed(model="tiny-embed:latest", input=["a"]).embeddings) == 1
    assert c.show("tiny-small:latest").capabilities is not None
    with pytest.raises(ollama.ResponseError) as info:
        c.chat(model="tiny-small:7b", messages=[{"role": "user", "content": "x"}], stream=False)
    assert info.value.status_code == 404


def test_every_listed_name_is_shown_with_its_context_and_answers(
    clients: dict[str, ollama.Client],
) -> None:
    """A client shows, then uses, the names the list gave it (``auto:latest``, Open WebUI and
    litellm ask ``/api/show`` first); ``model_info`` holds the context length under the
    architecture's name, as Ollama's does (litellm sizes prompts from it). A route's is the
    largest context among the models it may choose."""
    c = clients["research"]
    for entry in c.list().models:
        assert entry.model is not None
        shown = c.show(entry.model)
        assert shown.modelinfo is not None and shown.capabilities is not None
        architecture = shown.modelinfo["general.architecture"]
        assert shown.modelinfo[f"{architecture}.context_length"] == 1024, entry.model
        if "completion" in shown.capabilities:
            reply = c.generate(model=entry.model, prompt="Hallo", options={"num_predict": 2})
            assert reply.done, entry.model
    assert c.show("auto-economy:latest").capabilities == ["completion", "tools"]
    assert c.show("tiny-small").modelinfo == {
        "general.architecture": "tiny",
        "general.parameter_count": 1_000_000_000,
        "tiny.context_length": 1024,
    }


@pytest.mark.parametrize("think", [True, "high"])
def test_thinking_asked_of_a_model_that_cannot_think_is_refused(
    clients: dict[str, ollama.Client], think: bool | str
) -> None:
    """As Ollama refuses ``think`` for a model without thinking: a model without the
    ``thinking`` capability, named, and a route none of whose models has it are refused
    thinking asked for rather than answered without it; ``false`` is served."""
    c = clients["research"]
    messages = [{"role": "user", "content": "Hallo"}]
    with pytest.raises(ollama.ResponseError) as chat:
        c.chat(model="tiny-small", messages=messages, think=think)
    with pytest.raises(ollama.ResponseError) as generate:
        c.generate(model="auto", prompt="Hallo", think=think)
    assert (chat.value.status_code, chat.value.error) == (
        400,
        "model 'tiny-small' does not support thinking",
    )
    assert (generate.value.status_code, generate.value.error) == (
        400,
        "none of the 3 chat models allowed for department 'research' can serve this request"
        " (needs: chat, thinking)",
    )
    reply = c.chat(model="tiny-small", messages=messages, think=False, options={"num_predict": 2})
    assert reply.done and not reply.message.thinking


def test_load_and_unload_are_answered_as_ollama_answers_them(
    gateway: Gateway, clients: dict[str, ollama.Client]
) -> None:
    """Ollama's load (no prompt, no messages) and unload (the same with ``keep_alive`` 0), as
    UIs send them: the gateway holds no models, so nothing is loaded or unloaded, but the model
    is checked as for an answer and the request answered as Ollama answers it."""
    c = clients["research"]
    loaded = c.generate(model="tiny-small")
    assert (loaded.done, loaded.done_reason, loaded.response) == (True, "load", "")
    unloaded = c.generate(model="tiny-embed:latest", keep_alive=0)
    assert (unloaded.done, unloaded.done_reason) == (True, "unload")
    chat = c.chat(model="auto:latest", messages=[], keep_alive="0s")
    assert (chat.done_reason, chat.message.content) == ("unload", "")
    assert c.chat(model="tiny-medium", messages=[], keep_alive="5m").done_reason == "load"
    streamed = list(c.generate(model="tiny-small", stream=True))  # one object, as Ollama's
    assert [p.done_reason for p in streamed] == ["load"]
    for dept, name, status in (
        ("research", "nope", 404),
        ("legal", "tiny-large", 404),  # not legal's to see: as "nope"
        ("research", "tiny-embed", 400),  # cannot chat: nothing it could be loaded for
    ):
        with pytest.raises(ollama.ResponseError) as info:
            clients[dept].generate(model=name)
        assert info.value.status_code == status, name


def test_a_load_is_recorded_without_a_model_or_tokens(gateway_raw: dict[str, Any]) -> None:
    """A load is one request of the key, recorded, but no answer of a model: the answer times
    a model is measured on (the dashboard's latency fit) hold none."""
    with in_process(gateway_raw) as gw, closing(gw.ollama(KEYS["research"])) as c:
        assert c.generate(model="tiny-small:latest").done_reason == "load"
    ledger = gw.ledger()
    records = ledger.recent_usage(limit=10)
    ledger.close()
    assert [(r.endpoint, r.requested_model, r.status, r.model) for r in records] == [
        ("generate", "tiny-small:latest", 200, None)
    ]
    assert records[0].prompt_tokens == records[0].completion_tokens == 0


def test_the_root_answers_as_ollama_does(gateway: Gateway) -> None:
    """Tools that probe a URL for an Ollama server (``GET /``, ``HEAD /``) find one."""
    got = gateway.get("/")
    assert (got.status_code, got.text) == (200, "Ollama is running")
    assert got.headers["content-type"].startswith("text/plain")
    assert gateway.request("HEAD", "/").status_code == 200


def test_embed_refuses_more_inputs_than_the_limit_in_ollamas_shape(
    gateway_raw: dict[str, Any], llama_server: LlamaBackend
) -> None:
    """``/api/embed`` takes at most ``server.limits.max_embedding_inputs`` inputs (default
    2048, as ``/v1/embeddings``): more are a 400 in Ollama's ``{"error": ...}``, before any
    backend is asked, and the refusal is counted."""
    gateway_raw["server"]["limits"] = {"max_embedding_inputs": 2}
    with recording_proxy(llama_server.base_url) as upstream:
        gateway_raw["backends"][0]["base_url"] = upstream.url
        with (
            in_process(gateway_raw) as gw,
            closing(gw.ollama(headers={"authorization": f"Bearer {KEYS['research']}"})) as c,
        ):
            assert len(c.embed(model="tiny-embed", input=["a", "b"]).embeddings) == 2
            asked = len(upstream.paths)
            with pytest.raises(ollama.ResponseError) as caught:
                c.embed(model="tiny-embed", input=["a", "b", "c"])
            assert len(upstream.paths) == asked
            raw = gw.post(
                "/api/embed",
                json={"model": "tiny-embed", "input": ["a", "b", "c"]},
                headers=bearer(KEYS["research"]),
            )
    told = "input: too many texts to embed: 3 (limit 2); send them in several requests"
    assert (caught.value.status_code, caught.value.error) == (400, told)
    assert (raw.status_code, raw.json()) == (400, {"error": told})
    ledger = gw.ledger()  # written when the gateway stopped
    records = sorted((r.endpoint, r.status, r.error_kind) for r in ledger.recent_usage())
    ledger.close()
    assert records == [("embeddings", 200, None)] + [("embeddings", 400, "too_many_inputs")] * 2
