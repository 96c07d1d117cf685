"""A client's request that the model think (or not) before it answers, as each backend reads it.

Clients ask in their API's words: Ollama's ``think`` (``true``, ``false`` or a level, ``"low"``
to ``"max"``), which the Ollama API puts into the request's ``params`` as it came; OpenAI's
``reasoning_effort`` (``none``, ``minimal``, ``low``, ``medium``, ``high``, ``xhigh``).

* An Ollama backend is sent ``think``: Ollama's as it came, else ``reasoning_effort`` turned
  into it as Ollama's own OpenAI endpoint turns it (``none`` is ``false``, ``minimal`` is
  ``"low"``, ``xhigh`` is ``"max"``, the rest by name); an effort Ollama has no word for is
  refused (``reasoning_effort``), as Ollama refuses it. Without either, nothing is sent and a
  thinking model thinks (Ollama's default).
* An OpenAI-compatible backend reads no ``think``: ``false`` is dropped (what it does
  unasked), thinking asked for is refused before it is sent (``refuse_think``), and a routed
  request goes on to a candidate that takes it. ``reasoning_effort`` goes to it as it came.
* Thinking asked for (``asks_to_think``) needs a model with the ``thinking`` capability: the
  gateway sends such a request only to one (``stellwerk.gateway.selection.needs_of``), so the
  refusals below meet only a model whose config says it thinks and whose backend cannot carry
  the request or whose server says otherwise.
* Ollama answers ``think`` for a model that cannot think with HTTP 400, ``"<model>" does not
  support thinking``: that is the client's 400 too, naming the parameter it sent
  (``refused_thinking``), and a routed request goes on to the next candidate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stellwerk.errors import ContextExceeded, InvalidRequest, Untranslatable, shown

if TYPE_CHECKING:
    from stellwerk.backends.types import JSON, ChatRequest

#: the code of a refusal because the model (or its server) cannot think on request
CODE = "thinking_unsupported"
#: OpenAI's ``reasoning_effort`` -> Ollama's ``think`` (Ollama's own OpenAI endpoint's mapping)
EFFORT_THINK: dict[str, bool | str] = {
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


def asked_by(params: JSON) -> str:
    """The parameter the client asked with: ``think`` (Ollama's API) or ``reasoning_effort``."""
    return "think" if "think" in params else "reasoning_effort"


def asks_to_think(request: ChatRequest) -> bool:
    """Whether the client asks the model to think: ``think`` true or a level, or a
    ``reasoning_effort`` other than ``none``. ``false`` and ``none`` ask for nothing a model
    that cannot think would not do; a ``think`` an operator lets pass to an OpenAI-compatible
    backend (``backends[].pass_params``) is that server's own, not the gateway's, to read."""
    think = request.params.get("think")
    if think is not None and think is not False and "think" not in request.unknown:
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


def refuse_think(request: ChatRequest, model: str, backend: str) -> None:
    """Refuse thinking asked for (``think`` true or a level) of ``model`` on ``backend``, an
    OpenAI-compatible server: it reads no ``think``, and would answer without being asked."""
    think = request.params.get("think")
    if think is None or think is False or "think" in request.unknown:  # the latter: passed on
        return  # to a backend whose operator allows it (``backends[].pass_params``)
    raise Untranslatable(
        f"{shown(model)} does not support thinking on request: its backend {backend!r} is an"
        ' OpenAI-compatible server, which reads no think; send "think": false or leave think'
        " out (a model that thinks unasked still answers with its thinking)",
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
