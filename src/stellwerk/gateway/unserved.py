"""Parameters of OpenAI's APIs that ask for what only OpenAI's service does: a 400 naming each,
in the same words on ``/v1/chat/completions`` and ``/v1/responses``, as one silently ignored
would let the client believe it was done.

- a service no model server here runs: ``moderation`` (both endpoints), a hosted tool
  (``/v1/responses``' ``tools``: ``responses_schema.HostedTool``), web search (chat's
  ``web_search_options``); the last two say why in the same words, ``HOSTED``;
- audio output (chat's ``modalities: ["audio"]`` and ``audio``): the models here write text;
- ``store: true`` (both endpoints): the gateway keeps no prompt and no answer. No common client
  sends it by default (the ``openai`` library, LangChain's ``ChatOpenAI``, LiteLLM and Open WebUI
  send it only when their caller sets it; simonw's ``llm`` sends ``store: false`` to
  ``/v1/responses``), so ``false`` or leaving it out passes and ``true`` is refused on both.
"""

from __future__ import annotations

from collections.abc import Sequence

from stellwerk.gateway.body import ParamProblem

#: why a tool or an option OpenAI's service runs is not here, said alike wherever it is asked for
HOSTED = "OpenAI's service runs it, not this gateway's models"

#: parameters of OpenAI's API for a service this gateway does not run: a 400 naming each
UNSERVED = {"moderation": "no moderation model checks the input or the answer here"}

_SPEAK = "audio output is not available here: the models here write text, they do not speak"


def refuse_unserved(given: dict[str, object]) -> None:
    """Refuse the first parameter of ``UNSERVED`` that ``given`` sets."""
    for name, why in UNSERVED.items():
        if given.get(name) is not None:
            raise ParamProblem(name, f"{name} is not supported: {why}; leave it out")


def store_refused(why: str) -> str:
    """The refusal of ``store: true``; ``why``: what the client does instead, on its endpoint."""
    return f"store: true is not supported: this gateway stores no prompt and no answer{why}"


def refuse_chat_unserved(
    web_search: object, modalities: Sequence[str] | None, audio: object, store: bool | None
) -> None:
    """Refuse what a chat request asks of OpenAI's service: web search, audio output, a stored
    completion (``modalities: ["text"]`` and ``store: false`` ask for nothing more)."""
    if web_search is not None:
        raise ParamProblem(
            "web_search_options",
            f"web_search_options: web search is not available here ({HOSTED}); leave"
            " web_search_options out, or give the model a function tool that searches, which"
            " your code runs",
        )
    if "audio" in (modalities or ()):
        raise ParamProblem(
            "modalities", f'modalities: {_SPEAK}; send modalities ["text"] or leave it out'
        )
    if audio is not None:
        raise ParamProblem("audio", f"audio: {_SPEAK}; leave audio out")
    if store:
        raise ParamProblem(
            "store",
            store_refused(
                " (no stored completions, for OpenAI's evals or distillation); leave"
                " store out or false"
            ),
        )
