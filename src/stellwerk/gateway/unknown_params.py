"""Parameters a client sends that the gateway does not know: refused, unless an operator lets them
pass to a backend (an allow-list, ``backends[].pass_params``), on the OpenAI-shaped endpoints
(``/v1/chat/completions``, ``/v1/completions``, ``/v1/responses``, ``/v1/embeddings``).

Passed on blindly, such a parameter reaches a model server that may act on it past what the
gateway governs (vLLM's ``truncate_prompt_tokens``, llama.cpp's ``n_keep`` or ``samplers``,
LocalAI's ``backend`` ...), and the list of the ones to refuse is always behind the servers. So:

1. a parameter the endpoint's schema knows is checked and passed on (``sampling``,
   ``openai_schema`` ...);
2. one it does not know, with the value ``null``, asks for nothing and is not passed on (a
   known one is read so too);
3. any other is refused when reading the request, before anything is reserved or routed, unless
   some backend the request may go to allows it: the named model's backend, for a route (or a
   name no model has) any backend; the 400 names it in OpenAI's own words, ``Unrecognized
   request argument supplied: x`` (clients match them, and retry without it), and says how an
   operator allows it;
4. a request carrying one goes only to a backend that allows it: a candidate of a route whose
   backend does not is skipped, as one whose dialect cannot carry the request
   (``Untranslatable``, ``stellwerk.gateway.calls``), and with none left that is the 400.

A parameter the gateway governs itself (``stellwerk.config.governed_params``) is refused by its
schema, whatever the config says; the config cannot list it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from stellwerk.backends.types import ChatRequest
from stellwerk.config.schema import StellwerkConfig
from stellwerk.errors import SHOWN_CHARS, InvalidRequest, Untranslatable, shown

#: the error code of a refused parameter, as the admin API names an unknown query parameter
CODE = "unknown_parameter"
NAMED = 10
"""The unknown parameters a refusal names at most (it says how many more there are)."""
_PLAIN = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,64}")
_HOW = (
    "this gateway passes on the parameters it knows (docs/api.md), and another only to a"
    " backend whose operator allows it (backends[].pass_params in its config)"
)

#: the parameters a request for a model or route (by its configured name) may carry that the
#: gateway does not know
Allowed = Callable[[str], frozenset[str]]


def unknown_of(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parameters of a body's ``extra`` (pydantic's ``model_extra``: what its schema does
    not know) that ask for something, in the body's order; a ``null`` one asks for nothing."""
    return {name: value for name, value in (extra or {}).items() if value is not None}


def refuse_unknown(
    unknown: Mapping[str, Any], allowed: frozenset[str], places: Mapping[str, str] | None = None
) -> frozenset[str]:
    """The names of ``unknown``, when each is in ``allowed``; else ``InvalidRequest`` naming
    the first one that is not (rule 3). ``places``: where a nested key was sent, by its name
    (``messages[].foo``: ``messages[2].foo``, ``stellwerk.gateway.nested_params``), which the
    refusal names."""
    refused = [name for name in unknown if name not in allowed]
    if refused:
        if places:
            refused = [places.get(name, name) for name in refused]
        said = ", ".join(_named(name) for name in refused[:NAMED])
        if len(refused) > NAMED:  # a body of 380,000 of them got a refusal of 2.6 MB
            said += f" and {len(refused) - NAMED} more"
        plural, them = ("s", "them") if len(refused) > 1 else ("", "it")
        raise InvalidRequest(
            f"Unrecognized request argument{plural} supplied: {said} ({_HOW}; leave {them} out,"
            f" or ask the gateway's operator to allow {them})",
            param=refused[0][:SHOWN_CHARS],
            code=CODE,
        )
    return frozenset(unknown)


def refuse_unpassable(request: ChatRequest, model: str, passable: tuple[str, ...]) -> None:
    """``Untranslatable`` naming the first parameter of ``request`` the gateway does not know
    that the backend of ``model`` is not allowed (``passable``), if any (rule 4)."""
    refused = sorted(request.unknown.difference(passable))
    if refused:
        raise Untranslatable(
            f"Unrecognized request argument supplied: {_named(refused[0])} (not passed on to"
            f" the backend of model {shown(model)}: {_HOW}; leave it out, or name a model whose"
            " backend allows it)",
            param=refused[0][:SHOWN_CHARS],
            code=CODE,
        )


def allowed_by(config: StellwerkConfig, resolve: Callable[[str], str]) -> Allowed:
    """What a request for a model or route may carry that the gateway does not know (rule 3):
    the ``pass_params`` of the named model's backend; for a route, or a name no model has, those
    of any backend. ``resolve``: the configured name a request's name stands for
    (``Selector.configured_name``: ``x:latest`` is ``x``)."""
    by_backend = {backend.name: frozenset(backend.pass_params) for backend in config.backends}
    by_model = {model.id: by_backend[model.backend] for model in config.models}
    anywhere = frozenset().union(*by_backend.values())

    def allowed(name: str) -> frozenset[str]:
        return by_model.get(resolve(name), anywhere)

    return allowed


def nothing(name: str) -> frozenset[str]:
    """``Allowed`` of a gateway that allows no parameter it does not know to pass."""
    return frozenset()


def _named(name: str) -> str:
    """A parameter's name as OpenAI writes it in the refusal (bare), or quoted and cut when it
    is no plain name."""
    return name if _PLAIN.fullmatch(name) else shown(name)
