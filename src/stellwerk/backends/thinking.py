"""A client's request that the model think (or not) before it answers, as each backend reads it.

Clients ask in their API's words: Ollama's ``think`` (``true``, ``false`` or a level, ``"low"``
to ``"max"``), which the Ollama API puts into the request's ``params`` as it came; OpenAI's
``reasoning_effort`` (``none``, ``minimal``, ``low``, ``medium``, ``high``, ``xhigh``, ``max``:
``ReasoningEffort``). A value the API does not take is refused where the body is read, before
the model is looked at.

* An Ollama backend is sent ``think``: Ollama's as it came, else ``reasoning_effort`` turned
  into it as Ollama's own OpenAI endpoint turns it (``none`` is ``false``, ``minimal`` is
  ``"low"``, ``xhigh`` is ``"max"``, the rest by name). Without either, nothing is sent and a
  thinking model thinks (Ollama's default).
* An OpenAI-compatible backend reads no ``think``; ``reasoning_effort`` goes to it as it came
  (vLLM and llama.cpp's ``llama-server`` read it). Such a server turns a model's thinking on
  and off by a variable of the model's chat template (``enable_thinking`` of Qwen3's), which
  llama.cpp and vLLM take in a request's ``chat_template_kwargs``: for a model whose config
  names that variable (``models[].thinking_switch``), ``think`` (else ``reasoning_effort``)
  sets it (``template_switched``: ``false`` and ``none`` turn the thinking off, anything
  else on, a level too, as Ollama reads a level for a model without levels). For another
  model, and for a text completion, ``false`` is dropped (what it does unasked), thinking
  asked for is refused before it is sent (``_refuse_think``), and a routed request goes on to
  a candidate that takes it.
* Thinking asked for (``asks_to_think``) needs a model with the ``thinking`` capability: the
  gateway sends such a request only to one (``stellwerk.gateway.selection.needs_of``), so the
  refusals below meet only a model whose config says it thinks and whose backend cannot carry
  the request or whose server says otherwise.
* Ollama answers ``think`` for a model that cannot think with HTTP 400, ``"<model>" does not
  support thinking``: that is the client's 400 too, naming the parameter it sent
  (``refused_thinking``), and a routed request goes on to the next candidate.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from stellwerk.errors import ContextExceeded, InvalidRequest, Untranslatable, shown

if TYPE_CHECKING:
    from stellwerk.backends.types import JSON, ChatRequest

#: the code of a refusal because the model (or its server) cannot think on request
CODE = "thinking_unsupported"
#: OpenAI's ``reasoning_effort``: the values its API (and its ``openai`` library's type) takes;
#: another is refused where the body is read, whatever the model (``gateway.openai_schema``)
ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
#: OpenAI's ``reasoning_effort`` -> Ollama's ``think`` (Ollama's own OpenAI endpoint's mapping)
EFFORT_THINK: dict[ReasoningEffort, bool | str] = {
    "none": False,
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "max",
    "max": "max",
}
#: how Ollama words its refusal of ``think`` for a model without the thinking capability
_OLLAMA_REFUSAL = "does not support thinking"
#: why a model on an OpenAI-compatible server is refused thinking asked for by ``think``
_NO_SWITCH = (
    "its backend {!r} is an OpenAI-compatible server, which reads no think, and the gateway's"
    " config names no switch of its thinking (models[].thinking_switch)"
)
_RAW = (
    "a raw prompt goes to its backend {!r} without the chat template, whose switch turns the"
    " thinking on"
)


def asked_by(params: JSON) -> str:
    """The parameter the client asked with: ``think`` (Ollama's API) or ``reasoning_effort``."""
    return "think" if "think" in params else "reasoning_effort"


def _gateways_think(request: ChatRequest) -> Any:
    """The client's ``think`` as the gateway reads it; None when it sent none, or one an
    operator lets pass to an OpenAI-compatible backend (``backends[].pass_params``) as that
    server's own."""
    return None if "think" in request.unknown else request.params.get("think")


def asks_to_think(request: ChatRequest) -> bool:
    """Whether the client asks the model to think: ``think`` true or a level, or a
    ``reasoning_effort`` other than ``none``. ``false`` and ``none`` ask for nothing a model
    that cannot think would not do; a ``think`` an operator lets pass to an OpenAI-compatible
    backend (``backends[].pass_params``) is that server's own, not the gateway's, to read."""
    think = _gateways_think(request)
    if think is not None and think is not False:
        return True
    effort = request.params.get("reasoning_effort")
    return effort is not None and effort != "none"


def ollama_think(params: JSON) -> bool | str | None:
    """The ``think`` an Ollama server is sent for ``params``; None: send none."""
    think = params.get("think")
    if think is not None:
        return think  # type: ignore[no-any-return]
    effort = params.get("reasoning_effort")
    if effort is None:
        return None
    if isinstance(effort, str) and effort in EFFORT_THINK:
        return EFFORT_THINK[effort]
    raise Untranslatable(
        f"reasoning_effort {shown(str(effort))} has no counterpart in Ollama's think; send one of"
        f" {', '.join(EFFORT_THINK)}",
        param="reasoning_effort",
    )


def template_switched(
    request: ChatRequest, model: str, variable: str | None, backend: str
) -> ChatRequest:
    """``request`` as ``backend``, an OpenAI-compatible server, gets it for ``model``, whose
    chat template turns its thinking on and off by ``variable`` (None: the config names none):
    with ``chat_template_kwargs`` setting it when the client asked for thinking or declined it
    (``think``, else ``reasoning_effort``), as it came when it did neither (the model does
    what its template does unasked). A ``variable`` the client set itself in
    ``chat_template_kwargs`` (where an operator lets that pass) is kept. Without a
    ``variable``, and for a text completion (``/api/generate`` with ``raw``: no chat template
    to switch), thinking asked for by ``think`` is refused (``_refuse_think``)."""
    if variable is None:
        _refuse_think(request, model, _NO_SWITCH.format(backend))
        return request
    if request.prompt is not None:
        _refuse_think(request, model, _RAW.format(backend))
        return request
    think = _gateways_think(request)
    effort = request.params.get("reasoning_effort")
    if think is not None:
        wanted = think is not False
    elif effort is not None:
        wanted = effort != "none"
    else:
        return request
    given = request.params.get("chat_template_kwargs")
    kwargs = {variable: wanted, **(given if isinstance(given, dict) else {})}
    return replace(request, params={**request.params, "chat_template_kwargs": kwargs})


def _refuse_think(request: ChatRequest, model: str, why: str) -> None:
    """Refuse thinking asked for (``think`` true or a level) of ``model``, saying ``why`` its
    server cannot be asked (``template_switched``): it would answer without thinking."""
    think = _gateways_think(request)
    if think is None or think is False:
        return
    raise Untranslatable(
        f'{shown(model)} does not support thinking on request: {why}; send "think": false or'
        " leave think out (a model that thinks unasked still answers with its thinking)",
        param="think",
        code=CODE,
    )


def refused_thinking(
    backend: str, model: str, payload: JSON, params: JSON, exc: InvalidRequest
) -> Untranslatable | None:
    """The client's refusal for Ollama's 400 ``exc`` when it refused the ``think`` of
    ``payload`` (the model cannot think); None when ``exc`` is another refusal."""
    think: Any = payload.get("think")
    if think is None or think is False or isinstance(exc, ContextExceeded):
        return None
    if _OLLAMA_REFUSAL not in exc.message:
        return None
    param = asked_by(params)
    fix = '"think": false or leave think out'
    if param == "reasoning_effort":
        fix = 'reasoning_effort "none" or leave reasoning_effort out'
    return Untranslatable(
        f"{shown(model)} does not support thinking (backend {backend!r} refused {param}); send"
        f" {fix}",
        param=param,
        code=CODE,
    )
